from __future__ import annotations

import asyncio

from vigie.media.fragmenter import Fragment, InitInfo
from vigie.media.live import MAX_VIEWER_LAG_S, InitMessage, LiveStream, QueueItem, Viewer


def frag(i: int, key: bool, t: float) -> Fragment:
    return Fragment(
        data=b"x" * 1000,
        is_key=key,
        dts_90k=i * 3600,
        duration_90k=3600,
        read_mono=t,
        payload_bytes=1000,
    )


INIT = InitInfo(data=b"init", codec_string="avc1.64001f", width=320, height=240)


async def test_new_viewer_starts_from_cached_gop() -> None:
    sent: list[QueueItem] = []

    async def send(item: QueueItem) -> None:
        sent.append(item)

    s = LiveStream("1/main")
    s.set_init(INIT)
    for i in range(30):
        s.publish(frag(i, i % 25 == 0, i * 0.04))
    v = Viewer(jti="j", account_id=1, send=send)
    s.attach(v)
    task = asyncio.create_task(v.run())
    await asyncio.sleep(0.01)
    v.close()
    await task
    assert isinstance(sent[0], InitMessage)
    frags = [x for x in sent if isinstance(x, Fragment)]
    assert frags[0].is_key and frags[0].dts_90k == 25 * 3600 and len(frags) == 5


def test_lagging_viewer_jumps_to_the_next_keyframe() -> None:
    async def never(_: QueueItem) -> None:
        raise AssertionError("not sending in this test")

    v = Viewer(jti="j", account_id=1, send=never)
    for i in range(100):  # nobody drains the queue: 4 s of video offered
        v.offer(frag(i, i % 25 == 0, i * 0.04))
        assert v.lag_s(i * 0.04) <= MAX_VIEWER_LAG_S + 0.05
    assert v.skips >= 3 and v.dropped_frames > 50


def test_backlog_in_the_socket_counts_as_lag() -> None:
    async def never(_: QueueItem) -> None:
        raise AssertionError

    backlog = {"bytes": 0}
    v = Viewer(jti="j", account_id=1, send=never, backlog_bytes=lambda: backlog["bytes"])
    v.byte_rate = lambda: 25_000.0  # 25 kB/s
    v.offer(frag(0, True, 0.0))
    backlog["bytes"] = 20_000  # 0.8 s stuck in the kernel
    v.offer(frag(1, False, 0.04))
    assert v.skips == 1 and v.dropped_frames == 2
    backlog["bytes"] = 0
    v.offer(frag(2, False, 0.08))  # still waiting for a keyframe
    v.offer(frag(25, True, 1.0))
    assert v.dropped_frames == 3


def test_joining_late_in_a_long_gop_replays_it_without_a_cut() -> None:
    """Regression: the cached GOP (up to 2 s old) must not count as lag on join."""

    async def never(_: QueueItem) -> None:
        raise AssertionError

    s = LiveStream("1/main")
    s.set_init(INIT)
    for i in range(48):  # keyframe at 0, 1.9 s of GOP cached
        s.publish(frag(i, i == 0, 100.0 + i * 0.04))
    v = Viewer(jti="j", account_id=1, send=never)
    s.attach(v)
    s.publish(frag(48, False, 100.0 + 48 * 0.04))
    assert v.skips == 0 and v.dropped_frames == 0
    assert v.replay_pending == 48


def test_h265_fragments_are_never_offered_to_a_browser() -> None:
    """Recorded H.265 goes through the hub (the recorder's tee) but reaches no viewer."""

    async def never(_: QueueItem) -> None:
        raise AssertionError("nothing may be sent")

    s = LiveStream("1/main")
    v = Viewer(jti="j", account_id=1, send=never)
    s.attach(v)  # connected while the codec was still unknown
    s.set_codec("hevc")
    s.set_init(InitInfo(data=b"init", codec_string="hvc1.1.6.L93.B0", width=640, height=360))
    for i in range(30):
        s.publish(frag(i, i % 25 == 0, i * 0.04))
    # kept for the server-side uses (snapshot, image checks) …
    assert s.init is not None and s.init.codec_string.startswith("hvc1")
    assert len(s.gop) == 5 and s.gop[0].is_key
    # … but the viewer was only told why, and one joining now is told the same
    late = Viewer(jti="k", account_id=1, send=never)
    s.attach(late)
    for viewer in (v, late):
        queued = list(viewer._queue)
        assert len(queued) == 1 and not isinstance(queued[0], (Fragment, InitMessage))
        assert queued[0].payload["code"] == "codec_unsupported"  # type: ignore[union-attr]
    # the same stream back on H.264 is live again, without the H.265 init
    s.set_codec("h264")
    assert s.init is None and s.gop == []
    s.set_init(INIT)
    s.publish(frag(30, True, 1.2))
    assert s.init is INIT and len(s.gop) == 1
    assert isinstance(v._queue[-1], Fragment)
