"""Imported by ``tests/conftest.py`` before any test runs: under libfaketime, patch
``time.sleep`` here and in every Python process the tests start
(``tests/faketime_site/sitecustomize.py`` says why)."""

from __future__ import annotations

import os
from pathlib import Path

SITE = Path(__file__).resolve().parent / "faketime_site"

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    paths = [str(SITE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    import importlib.util

    spec = importlib.util.spec_from_file_location("sitecustomize", SITE / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
