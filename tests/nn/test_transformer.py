"""Transformer encoder/decoder layers and stacks against torch with identical weights."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import compare_modules

rng = np.random.default_rng(0)


@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_stack(norm_first, activation):
    def build(lib):
        layer = lib.nn.TransformerEncoderLayer(
            16, 4, 32, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
        )
        return lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    tmod, emod = build(torch), build(ember)
    pad = np.zeros((2, 5), bool)
    pad[1, -1] = True
    compare_modules(
        tmod,
        emod,
        [rng.standard_normal((2, 5, 16)), pad],
        rtol=1e-5,
        atol=1e-6,
        call=lambda m, x, p: m(x, src_key_padding_mask=p),
    )
    assert repr(emod) == repr(tmod)


def test_full_transformer_with_causal_mask():
    def build(lib):
        return lib.nn.Transformer(16, 2, 1, 1, 32, dropout=0.0, batch_first=True)

    tmod, emod = build(torch), build(ember)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(
        ember.nn.Transformer.generate_square_subsequent_mask(4).numpy(), mask
    )
    arrays = [rng.standard_normal((2, 6, 16)), rng.standard_normal((2, 4, 16)), mask]
    compare_modules(
        tmod, emod, arrays, rtol=1e-5, atol=1e-6, call=lambda m, s, t, k: m(s, t, tgt_mask=k)
    )
    assert repr(emod) == repr(tmod)
