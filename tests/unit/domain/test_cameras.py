from __future__ import annotations

import pytest

from vigie.base.errors import InvalidArgument
from vigie.domain.cameras import validate_coordinates, validate_stream_url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://cam/x",
        "rtsp:///nohost",
        "rtsp://h:99999/x",
        "rtsp://h/with space",
        "cam.local/x",
    ],
)
def test_bad_urls_are_refused_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_stream_url(url, "main_url")
    assert exc.value.field == "main_url"
    assert exc.value.message.startswith("main_url")


def test_good_url() -> None:
    assert validate_stream_url(" rtsp://192.0.2.1:554/s1 ", "main_url") == "rtsp://192.0.2.1:554/s1"


def test_coordinates() -> None:
    validate_coordinates(3.06, 50.63)
    validate_coordinates(None, None)
    with pytest.raises(InvalidArgument):
        validate_coordinates(3.06, None)
    with pytest.raises(InvalidArgument):
        validate_coordinates(200, 50)
