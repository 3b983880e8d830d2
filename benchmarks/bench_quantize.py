"""Dynamic int8 quantization: speed, size and drift of quantized Linear layers, ember and
PyTorch side by side.

    python benchmarks/bench_quantize.py [--rounds 3] [--steps 10]

``--model encoder`` (default) is two BERT-base-sized encoder layers (d 768, 12 heads,
feed-forward 3072, every projection an nn.Linear) on sequences of 64 tokens; ``--model lstm``
is an LSTM language model (embedding 256, two LSTM layers of 256, 10,000 words) on 35 tokens.
Both run at batch 1 and batch 32, in float32 and after ``quantize_dynamic`` of their Linear
(and LSTM) layers to qint8. Each (library, precision, batch) runs in
a fresh process with the library's own defaults, rounds alternating; figures are the median
over rounds of each process's median forward time. Size counts the bytes of every weight as
stored (int8 for quantized Linear weights); drift is the largest difference between the
quantized and the float model's outputs on the same input.

``--step-profile BATCH`` times the parts of one step of ember's quantized LSTM instead.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def _encoder_layer(lib):
    """A BERT-base encoder layer written with nn.Linear (so that every projection is one)."""
    nn, F = lib.nn, lib.nn.functional

    class Layer(nn.Module):
        def __init__(self, d=768, heads=12, ff=3072):
            super().__init__()
            self.heads = heads
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, x):
            b, t, d = x.shape

            def split(z):
                return z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)

            q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
            attn = F.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1) @ v
            x = self.ln1(x + self.o(attn.transpose(1, 2).reshape(b, t, d)))
            return self.ln2(x + self.fc2(F.gelu(self.fc1(x))))

    return Layer()


def _lstm_language_model(lib):
    """word_language_model's LSTM at a similar size: embedding 256, 2 layers of 256, 10k words."""
    nn = lib.nn

    class Model(nn.Module):
        def __init__(self, vocab=10000, width=256):
            super().__init__()
            self.embed = nn.Embedding(vocab, width)
            self.rnn = nn.LSTM(width, width, 2)
            self.decoder = nn.Linear(width, vocab)

        def forward(self, tokens):
            out, _ = self.rnn(self.embed(tokens))
            return self.decoder(out)

    return Model()


def _lstm_bytes(m):
    """An int8-quantized LSTM's weights: int8 matrices and float32 biases."""
    h, dirs = m.hidden_size, 2 if m.bidirectional else 1
    total = 0
    for layer in range(m.num_layers):
        inputs = m.input_size if layer == 0 else h * dirs
        total += dirs * (4 * h * (inputs + h) + 4 * 8 * h)
    return total


def _size(model):
    """Bytes of the weights as stored: int8 for quantized layers' weight matrices."""
    size = 0
    for m in model.modules():
        weight = getattr(m, "weight", None)
        if callable(weight):  # a quantized Linear: int8 weight, float bias
            size += weight().int_repr().numel() + 4 * m.out_features
        elif (
            type(m).__name__ == "DynamicQuantizedLSTM"
            or type(m).__name__ == "LSTM"
            and not any(True for _ in m.parameters(recurse=False))
        ):
            size += _lstm_bytes(m)
        else:
            size += 4 * sum(p.numel() for p in m.parameters(recurse=False))
    return size


def child(lib_name, model_name, precision, batch, steps):
    lib = __import__(lib_name)
    lib.manual_seed(0)
    rng = np.random.default_rng(0)
    if model_name == "encoder":
        model = lib.nn.Sequential(*[_encoder_layer(lib) for _ in range(2)]).eval()
        x = lib.tensor(rng.standard_normal((batch, 64, 768)).astype(np.float32))
        kinds = {lib.nn.Linear}
    else:
        model = _lstm_language_model(lib).eval()
        x = lib.tensor(rng.integers(0, 10000, (35, batch)))
        kinds = {lib.nn.Linear, lib.nn.LSTM}
    with lib.no_grad():
        reference = model(x).numpy()
    if precision == "int8":
        quantize = lib.ao.quantization.quantize_dynamic
        model = quantize(model, kinds, dtype=lib.qint8)
    size = _size(model)
    times = []
    with lib.no_grad():
        for i in range(steps + 3):
            t0 = time.perf_counter()
            out = model(x)
            if i >= 3:
                times.append(time.perf_counter() - t0)
    drift = float(np.abs(out.numpy() - reference).max())
    print(json.dumps({"ms": statistics.median(times) * 1e3, "mb": size / 2**20, "drift": drift}))


def step_profile(batch, repeats=2000, steps=35):
    """Microseconds per step of an LSTM layer (256 inputs, hidden 256) at ``batch``: ember's
    quantized layer's whole step and its two int8 parts, against ember's float32 layer."""
    import ember
    from ember.ao.quantization import _qparams

    ember.manual_seed(0)
    layer = ember.nn.Sequential(ember.nn.LSTM(256, 256)).eval()
    quantized = ember.ao.quantization.quantize_dynamic(layer, {ember.nn.LSTM})
    _, recurrent, _ = quantized[0]._all_weight_values[0].kernels()
    product = recurrent.bind(batch)
    h = np.random.default_rng(0).standard_normal((batch, 256)).astype(np.float32)
    _, x_scale, x_zero_point = _qparams.quantize_activations(h, True, product.input)
    x = ember.randn(steps, batch, 256)

    parts = {
        "quantize h to uint8": (lambda: _qparams.quantize_activations(h, True, product.input), 1),
        "int8 recurrent product (oneDNN)": (lambda: product(x_scale, x_zero_point), 1),
        "whole int8 step (layer forward / steps)": (lambda: quantized(x), steps),
        "whole float32 step (layer forward / steps)": (lambda: layer(x), steps),
    }
    print(f"| one LSTM step (256 -> 256), batch {batch} | µs |")
    print("|---|---|")
    with ember.no_grad():
        for name, (fn, per_call) in parts.items():
            calls = max(repeats // per_call, 20)
            for _ in range(5):
                fn()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            print(f"| {name} | {(time.perf_counter() - t0) / calls / per_call * 1e6:.1f} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--model", choices=("encoder", "lstm"), default="encoder")
    p.add_argument("--step-profile", type=int, metavar="BATCH", help="time the parts of one "
                   "quantized LSTM step at this batch size and exit")  # fmt: skip
    p.add_argument("--child", nargs=5, help="internal")
    args = p.parse_args()
    if args.step_profile:
        return step_profile(args.step_profile)
    if args.child:
        lib, model, precision, batch, steps = args.child
        return child(lib, model, precision, int(batch), int(steps))
    cases = [
        (lib, prec, b)
        for b in (1, 32)
        for prec in ("float32", "int8")
        for lib in ("ember", "torch")
    ]
    results = {c: [] for c in cases}
    for r in range(args.rounds):
        for case in cases if r % 2 == 0 else cases[::-1]:
            lib, precision, batch = case
            script = os.path.abspath(__file__)
            cmd = [sys.executable, script, "--child", lib, args.model, precision, str(batch)]
            cmd.append(str(args.steps))
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                raise RuntimeError(out.stderr[-2000:])
            results[case].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| batch | library | float32 ms | int8 ms | speed-up | float32 MB | int8 MB | drift |")
    print("|---|---|---|---|---|---|---|---|")
    for b in (1, 32):
        for lib in ("ember", "torch"):
            f, q = results[(lib, "float32", b)], results[(lib, "int8", b)]
            fm = statistics.median(x["ms"] for x in f)
            qm = statistics.median(x["ms"] for x in q)
            print(f"| {b} | {lib} | {fm:.1f} | {qm:.1f} | {fm / qm:.2f}x | {f[0]['mb']:.1f} | "
                  f"{q[0]['mb']:.1f} | {q[0]['drift']:.3g} |")  # fmt: skip


if __name__ == "__main__":
    main()
