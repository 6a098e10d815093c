"""The ``grader`` command: argument parsing only; each subcommand calls one entry function."""
import argparse
import sys

from grader import __version__


def build_parser():
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade submissions of the convolutional networks assignment.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
