"""Settings: where the media processes' two listeners go."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vigie.base.settings import Settings

SECRET = "s" * 40


def test_internal_ports_follow_the_public_ones_by_default() -> None:
    s = Settings(secret_key=SECRET, media_base_port=8100, media_processes=3)
    assert [s.media_internal_port(i) for i in range(3)] == [8103, 8104, 8105]
    assert s.media_internal_url(1) == "http://127.0.0.1:8104"


def test_internal_ports_may_be_set_apart() -> None:
    s = Settings(secret_key=SECRET, media_internal_base_port=9100, media_processes=2)
    assert s.media_internal_url(1) == "http://127.0.0.1:9101"


def test_internal_ports_overlapping_the_public_ones_are_refused() -> None:
    with pytest.raises(ValidationError, match="VIGIE_MEDIA_INTERNAL_BASE_PORT=8101"):
        Settings(
            secret_key=SECRET, media_base_port=8100, media_processes=4,
            media_internal_base_port=8101,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="past 65535"):
        Settings(secret_key=SECRET, media_base_port=65535)
