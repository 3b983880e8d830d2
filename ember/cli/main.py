"""``ember``: the command-line entry point (``ember info``, ``ember train``, ...)."""

import argparse
import sys

from ember.cli import bench, compat, evaluate, export, info, run, train


class OneLineErrorParser(argparse.ArgumentParser):
    """Reports a bad command line in one line on stderr (exit code 2), without the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv=None):
    parser = OneLineErrorParser(prog="ember", description="ember: PyTorch's API on NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (info, train, evaluate, export, run, compat, bench):
        command.add_parser(sub)
    args = parser.parse_args(argv)
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
