from __future__ import annotations

import logging

import pytest

from vigie.base.log import RedactingFilter
from vigie.base.redact import join_credentials, redact_text, redact_url, strip_credentials


def test_strip_and_join_credentials() -> None:
    clean, creds = strip_credentials("rtsp://admin:p%40ss@192.0.2.1:554/s1")
    assert clean == "rtsp://192.0.2.1:554/s1"
    assert (creds.username, creds.password, creds.query) == ("admin", "p@ss", ())
    assert join_credentials(clean, "admin", "p@ss") == "rtsp://admin:p%40ss@192.0.2.1:554/s1"


def test_password_with_an_unencoded_at_sign_is_split_at_the_last_one() -> None:
    # The probe's PATCH: the redaction stopped at the first '@'.
    url = "rtsp://camuser:Pa@ssw0rd-Leak@127.0.0.1:9711/dead"
    clean, creds = strip_credentials(url)
    assert clean == "rtsp://127.0.0.1:9711/dead"
    assert (creds.username, creds.password) == ("camuser", "Pa@ssw0rd-Leak")
    assert redact_url(url) == "rtsp://***@127.0.0.1:9711/dead"
    assert "ssw0rd" not in redact_text(f"opening {url} failed")


def test_credentials_in_the_query_string_are_lifted_and_masked() -> None:
    url = "rtsp://192.0.2.1/cam?channel=1&user=admin&Password=Hunter%402&subtype=0&TOKEN=t0k"
    clean, creds = strip_credentials(url)
    assert clean == "rtsp://192.0.2.1/cam?channel=1&subtype=0"
    assert creds.query == ("user=admin", "Password=Hunter%402", "TOKEN=t0k")
    assert creds.username is None and creds.password is None
    # Put back for the media plane: the camera's own parameters first, then these.
    assert join_credentials(clean, None, None, creds.query) == (
        "rtsp://192.0.2.1/cam?channel=1&subtype=0&user=admin&Password=Hunter%402&TOKEN=t0k"
    )
    masked = redact_url(url)
    assert masked == ("rtsp://192.0.2.1/cam?channel=1&user=***&Password=***&subtype=0&TOKEN=***")
    for secret in ("admin", "Hunter", "t0k"):
        assert secret not in masked


@pytest.mark.parametrize("name", ["user", "username", "pwd", "passwd", "pass", "key", "auth"])
def test_every_credential_parameter_name_is_recognised(name: str) -> None:
    assert "s3cr3t" not in redact_url(f"rtsp://h/x?{name.upper()}=s3cr3t")
    assert strip_credentials(f"rtsp://h/x?{name}=s3cr3t")[0] == "rtsp://h/x"


def test_redact_url() -> None:
    assert redact_url("rtsp://u:secret@h/x") == "rtsp://***@h/x"
    assert redact_url("rtsp://h/x") == "rtsp://h/x"
    assert redact_url("rtsp://h/x?channel=1") == "rtsp://h/x?channel=1"
    assert redact_url("not a url") == "not a url"
    # An unencoded '/' in the password: still masked (the host may be masked too).
    assert "pa" not in redact_url("rtsp://u:pa/ss@h/x").replace("rtsp", "")


def test_redact_text_finds_every_url() -> None:
    text = "a rtsp://u:p1@h/x b rtsps://h2/y?pwd=p2 c http://h3/z"
    out = redact_text(text)
    assert "p1" not in out and "p2" not in out
    assert out == "a rtsp://***@h/x b rtsps://h2/y?pwd=*** c http://h3/z"


def test_log_filter_removes_passwords(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("opening %s", "rtsp://admin:hunter2@10.0.0.1/stream")
        logger.info("opening %s", "rtsp://10.0.0.1/stream?user=admin&password=hunter3")
        logger.info("opening %s", "rtsp://admin:hun@ter4@10.0.0.1/stream")
    for secret in ("hunter2", "hunter3", "ter4"):
        assert secret not in caplog.text
    assert "rtsp://***@10.0.0.1/stream" in caplog.text
