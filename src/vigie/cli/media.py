"""``vigie media --index N``: one media process (ingest + live server)."""

from __future__ import annotations

import argparse
from typing import Any

from vigie.base.log import setup_logging
from vigie.base.settings import Settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "media", help="run one media process (started by `vigie serve`)"
    )
    p.add_argument(
        "--index",
        type=int,
        default=0,
        help="shard index; listens on media_base_port + index "
        "(internal API: 127.0.0.1, media_internal_port(index))",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from vigie.media.server import run_media_process

    settings = Settings()
    setup_logging(settings.log_level, f"media{args.index}")
    run_media_process(
        secret=settings.secret_key,
        host=settings.media_host,
        port=settings.media_base_port + args.index,
        internal_port=settings.media_internal_port(args.index),
        index=args.index,
        max_streams=settings.streams_per_process,
        recordings_dir=settings.data_dir / "recordings",
    )
    return 0
