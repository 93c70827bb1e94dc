from __future__ import annotations

import logging

import pytest

from vigie.base.log import RedactingFilter
from vigie.base.redact import join_credentials, redact_url, split_credentials


def test_split_and_join_credentials() -> None:
    clean, user, pw = split_credentials("rtsp://admin:p%40ss@192.0.2.1:554/s1")
    assert (clean, user, pw) == ("rtsp://192.0.2.1:554/s1", "admin", "p@ss")
    assert join_credentials(clean, user, pw) == "rtsp://admin:p%40ss@192.0.2.1:554/s1"


def test_redact_url() -> None:
    assert redact_url("rtsp://u:secret@h/x") == "rtsp://***@h/x"
    assert redact_url("rtsp://h/x") == "rtsp://h/x"


def test_log_filter_removes_passwords(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("opening %s", "rtsp://admin:hunter2@10.0.0.1/stream")
    assert "hunter2" not in caplog.text
    assert "rtsp://***@10.0.0.1/stream" in caplog.text
