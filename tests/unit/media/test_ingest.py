from __future__ import annotations

import errno
import itertools
import logging
import threading
import time
from collections.abc import Iterator

import av
import pytest

from vigie.media.fragmenter import Fragment, InitInfo
from vigie.media.ingest import StreamWorker, describe_error
from vigie.media.source import RawPacket


class Sink:
    def __init__(self) -> None:
        self.frags: list[Fragment] = []
        self.inits: list[InitInfo] = []
        self.codecs: list[str] = []

    def on_init(self, key: str, init: InitInfo) -> None:
        self.inits.append(init)

    def on_fragment(self, key: str, fragment: Fragment) -> None:
        self.frags.append(fragment)

    def on_codec(self, key: str, codec: str) -> None:
        self.codecs.append(codec)


class FlakyOpener:
    """Refuses ``failures`` times, then serves a few packets and ends."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[float] = []

    def open(self, url: str) -> object:
        self.calls.append(time.monotonic())
        if len(self.calls) <= self.failures:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        raise av.error.InvalidDataError(errno.EINVAL, "Invalid data found when processing input")


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    w = StreamWorker("1/main", "rtsp://h/x", opener=FlakyOpener(0), sink=Sink())
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0)]:
        delays = [w.backoff_delay(attempt) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert max(delays) - min(delays) > cap / 10  # jitter spreads reconnections


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "refused"),
        (TimeoutError("timed out"), "timeout"),
        (OSError(errno.EHOSTUNREACH, "No route to host / unreachable"), "unreachable"),
        (av.error.InvalidDataError(errno.EINVAL, "Invalid data found"), "invalid_data"),
        (av.error.HTTPUnauthorizedError(1, "401 Unauthorized"), "unauthorized"),
        (EOFError("the camera ended the stream"), "ended"),
        (RuntimeError("rtsp://admin:secret@h/x went away"), "other"),
    ],
)
def test_errors_in_plain_words(exc: BaseException, code: str) -> None:
    got, detail = describe_error(exc)
    assert got == code
    assert "secret" not in detail


def test_worker_reports_and_retries_then_stops() -> None:
    opener = FlakyOpener(failures=2)
    w = StreamWorker(
        "1/main", "rtsp://u:pw@h/x", opener=opener, sink=Sink(),  # type: ignore[arg-type]
        backoff_base_s=0.05, backoff_cap_s=0.1,
    )  # fmt: skip
    w.start()
    deadline = time.monotonic() + 3
    while len(opener.calls) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    snap = w.stats.snapshot(time.monotonic())
    assert snap["state"] in ("offline", "connecting")
    assert w.stats.error_code in ("refused", "invalid_data")
    assert w.stats.reconnects >= 3
    w.stop()
    w.join(2)
    assert not w.alive


class EchoingOpener:
    """Fails with the URL in the error, as libavformat does."""

    def __init__(self) -> None:
        self.calls = 0

    def open(self, url: str) -> object:
        self.calls += 1
        raise RuntimeError(f"{url}: Server returned 401 Unauthorized")


def test_ingest_log_lines_and_stats_carry_no_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "rtsp://cam:Pa@ss-Leak-1@192.0.2.9/x?channel=1&user=admin&password=Qs-Leak-2"
    opener = EchoingOpener()
    w = StreamWorker(
        "1/main", url, opener=opener, sink=Sink(),  # type: ignore[arg-type]
        backoff_base_s=0.05, backoff_cap_s=0.1,
    )  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="vigie.media"):
        w.start()
        deadline = time.monotonic() + 3
        while opener.calls < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        w.stop()
        w.join(2)
    snap = w.stats.snapshot(time.monotonic())
    assert snap["error_code"] == "unauthorized"
    assert "192.0.2.9/x?channel=1" in caplog.text
    for text in (caplog.text, repr(snap)):
        for secret in ("ss-Leak-1", "Qs-Leak-2", "user=admin"):
            assert secret not in text


class TwoSessions:
    """First session: 10 frames at 25 fps; second: the same, timestamps reset."""

    def __init__(self, aus: list[bytes]) -> None:
        self.aus = aus
        self.sessions = 0
        self.done = threading.Event()

    def open(self, url: str) -> object:
        self.sessions += 1
        if self.sessions > 2:
            self.done.set()
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        aus = self.aus

        class Src:
            codec, extradata, width, height = "h264", None, 320, 240

            def packets(self) -> Iterator[RawPacket]:
                for i, au in enumerate(aus[:10]):
                    yield RawPacket(au, i * 3600, i * 3600, i == 0)

            def close(self) -> None:
                pass

        return Src()


def test_timeline_stays_continuous_across_reconnects() -> None:
    from tests.integration.media.fakes import fixture_access_units

    opener = TwoSessions(fixture_access_units())
    sink = Sink()
    w = StreamWorker("1/main", "rtsp://h/x", opener=opener, sink=sink, backoff_base_s=0.01)  # type: ignore[arg-type]
    w.start()
    assert opener.done.wait(3)
    w.stop()
    dts = [f.dts_90k for f in sink.frags]
    assert len(dts) == 20
    assert all(b - a == 3600 for a, b in itertools.pairwise(dts))
    assert w.stats.gop_frames == 10
