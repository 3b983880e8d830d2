"""``ember``: the command-line entry point (``ember info``, ``ember train``, ...)."""

import argparse
import sys

from ember.cli import bench, compat, evaluate, info, run, train


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ember", description="ember: PyTorch's API on NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (info, train, evaluate, run, compat, bench):
        command.add_parser(sub)
    args = parser.parse_args(argv)
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
