"""``ember export CHECKPOINT MODEL.onnx``: the classifier of an ``ember train`` checkpoint as an
ONNX file.

The file takes a float32 batch of normalised images named ``image`` (N, C, H, W; the batch
size is free) and returns ``logits`` (N, classes). The normalisation to apply, the class names
and the image size are printed, since they live in the checkpoint and not in the file.
"""

import sys

from ember.cli.train_data import TrainError


def add_parser(sub):
    p = sub.add_parser(
        "export",
        help="write a checkpoint's classifier as an ONNX file",
        description="Export the model of a checkpoint written by `ember train` to ONNX "
        "(run it with onnxruntime). Needs the onnx package: pip install onnx.",
    )
    p.add_argument("checkpoint", help="a .ckpt file written by ember train")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: 18)")
    p.set_defaults(run=run)


def run(args):
    import ember
    from ember.cli.evaluate import load_model
    from ember.cli.train import load_checkpoint

    try:
        ckpt = load_checkpoint(args.checkpoint)
        model = load_model(ckpt)
        meta = ckpt["data"]
        example = ember.zeros(1, *meta["image_shape"])
        try:
            ember.onnx.export(
                model, (example,), args.output, input_names=["image"], output_names=["logits"],
                dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=args.opset,
            )  # fmt: skip
        except ImportError as e:
            raise TrainError(str(e)) from None
        except (ValueError, ember.onnx.UnsupportedOperatorError) as e:
            raise TrainError(str(e)) from None
        except OSError as e:
            raise TrainError(f"cannot write {args.output}: {e.strerror or e}") from None
    except TrainError as e:
        print(f"ember export: error: {e}", file=sys.stderr)
        return 2
    shape = "x".join(map(str, meta["image_shape"]))
    print(f"wrote {args.output}: input 'image' (N, {', '.join(map(str, meta['image_shape']))}) "
          f"float32, output 'logits' (N, {len(meta['classes'])})")  # fmt: skip
    print(f"images: {shape}, scaled to [0, 1], then (x - mean) / std with mean {meta['mean']} "
          f"and std {meta['std']}")  # fmt: skip
    print(f"classes: {', '.join(map(str, meta['classes']))}")
    return 0
