"""``vigie sim``: serve simulated RTSP cameras until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from vigie.sim.runner import SimServer, default_cache_dir, demo_cameras

DEMO_COMMUNES = [
    "Lille",
    "Roubaix",
    "Tourcoing",
    "Villeneuve-d'Ascq",
    "Marcq-en-Barœul",
    "Wattrelos",
    "Lambersart",
    "Armentières",
]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "sim", help="serve simulated RTSP cameras (pre-encoded clips) until Ctrl-C"
    )
    parser.add_argument("--cameras", type=int, default=12, help="number of cameras (default 12)")
    parser.add_argument("--port", type=int, default=8554, help="RTSP port, 0 for any free one")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help=f"clip cache (default {default_cache_dir()})"
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    if args.cameras < 1:
        print("vigie sim: --cameras must be at least 1")
        return 2
    cameras = demo_cameras(DEMO_COMMUNES, args.cameras)
    print(f"Encoding or loading {len(cameras)} cameras' clips…", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SimServer(cameras, port=args.port, bind=args.bind, cache_dir=args.cache_dir) as sim:
        for cam in cameras:
            urls = sim.urls()[cam.id]
            print(f"{cam.id:3d}  {cam.name}")
            for stream, url in urls.items():
                print(f"       {stream:4s} {url}")
        print("Serving; Ctrl-C to stop.", flush=True)
        try:
            while not stop.wait(1.0):
                if not sim.running:
                    print("vigie sim: the RTSP server exited unexpectedly")
                    return 1
        except KeyboardInterrupt:
            pass
    return 0
