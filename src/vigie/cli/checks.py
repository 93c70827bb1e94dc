"""``vigie checks``: the image-checks process (covered, blurred, moved,
frozen), one keyframe per second per camera at most."""

from __future__ import annotations

import argparse
from typing import Any

from vigie.base.log import setup_logging
from vigie.base.settings import Settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "checks", help="run the technical image checks of the cameras (own process)"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from vigie.base.clock import RealClock
    from vigie.continuity.checks import ChecksRunner
    from vigie.storage.db import make_engine, make_sessionmaker

    settings = Settings()
    setup_logging(settings.log_level, "checks")
    clock = RealClock()  # the process's one clock, handed down
    sessions = make_sessionmaker(make_engine(settings.resolved_database_url), clock)
    ChecksRunner(settings, sessions, clock=clock).run_forever()
    return 0
