"""``vigie`` command line. One module per command group, each exposing
``register(subparsers)``; a command's handler returns the process exit code."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from vigie.base.clock import Clock, RealClock
from vigie.base.errors import VigieError
from vigie.base.lifeline import Terminated, die_by, hold

# Command modules, in help order. A new command group adds its module here.
COMMANDS = [
    "vigie.cli.db",
    "vigie.cli.accounts",
    "vigie.cli.audit",
    "vigie.cli.serve",
    "vigie.cli.media",
    "vigie.cli.sim",
    "vigie.cli.demo",
    "vigie.cli.finance",
    "vigie.cli.recording",
    "vigie.cli.backup",
    "vigie.cli.checks",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigie", description="Vigie — supervision urbaine")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one command. ``clock`` is the command's one clock, handed down to it as
    ``args.clock`` (the system's unless a caller, e.g. a test, gives another)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock = clock or RealClock()
    hold(args.clock)  # started by a supervisor: die with it (vigie.base.lifeline)
    try:
        code: int = args.func(args)
    except VigieError as exc:
        print(f"vigie: {exc.message}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # settings from the environment
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "configuration"
            print(f"vigie: {where}: {err['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Terminated as exc:  # SIGTERM, once every ``finally`` has run
        die_by(exc.signum)
        return 128 + exc.signum
    return code


if __name__ == "__main__":
    raise SystemExit(main())
