"""Where the image checks keep each camera's reference picture.

``<data_dir>/checks/<camera_id>.npy``: written by the checks process
(``vigie.continuity.checks``), read back there at start, and its time shown
on the continuity settings page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def references_dir(data_dir: Path) -> Path:
    return data_dir / "checks"


def reference_path(data_dir: Path, camera_id: int) -> Path:
    return references_dir(data_dir) / f"{camera_id}.npy"


def reference_taken_at(data_dir: Path, camera_id: int) -> datetime | None:
    """When the camera's current reference picture was saved; None when it has none yet."""
    try:
        return datetime.fromtimestamp(reference_path(data_dir, camera_id).stat().st_mtime, UTC)
    except FileNotFoundError:
        return None
