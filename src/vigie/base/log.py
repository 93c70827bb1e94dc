"""Logging set-up shared by every Vigie process, with credential redaction."""

from __future__ import annotations

import logging
import sys

from vigie.base.redact import redact_text


class RedactingFilter(logging.Filter):
    """Strips user:password from any URL in a log record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def setup_logging(level: str = "INFO", process: str = "vigie") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {process}[%(process)d] %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per internal HTTP call would drown the useful messages.
    logging.getLogger("httpx").setLevel(logging.WARNING)
