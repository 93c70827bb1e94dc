"""Our RTSP client: control exchange against a loopback server written here,
RTP depacketization in C checked against the packer fed whole access units."""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from vigie.media import h264
from vigie.media._fastpath import Packer, RtpReader
from vigie.media.fragmenter import H264Fragmenter
from vigie.media.ingest import describe_error
from vigie.media.rtsp import RtspError, RtspSession, UnsupportedTrack, parse_sdp

FIXTURE = Path(__file__).parents[2] / "fixtures" / "testsrc_320x240_25fps_gop25_bf2.h264"
MTU = 1200


def h264_units() -> list[bytes]:
    with av.open(str(FIXTURE)) as c:
        return [bytes(p) for p in c.demux(video=0) if p.size]


def hevc_units(tmp: Path) -> list[bytes]:
    out = tmp / "clip.hevc"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25",
         "-t", "2", "-c:v", "libx265", "-x265-params", "log-level=error:keyint=25:bframes=0",
         str(out)],
        check=True,
    )  # fmt: skip
    with av.open(str(out)) as c:
        return [bytes(p) for p in c.demux(video=0) if p.size]


def nal_header_len(codec: str) -> int:
    return 1 if codec == "h264" else 2


def rtp(seq: int, ts: int, payload: bytes, marker: bool, pt: int = 96, extra: bytes = b"") -> bytes:
    """One RTP packet (extra: a header extension, to check it is skipped)."""
    first = 0x80 | (0x10 if extra else 0)
    header = bytes([first, (0x80 if marker else 0) | pt]) + seq.to_bytes(2, "big")
    header += ts.to_bytes(4, "big") + (0x1234).to_bytes(4, "big")
    if extra:
        header += b"\xbe\xde" + (len(extra) // 4).to_bytes(2, "big") + extra
    return header + payload


def packetize(codec: str, au: bytes, mtu: int = MTU) -> Iterator[bytes]:
    """RTP payloads of one access unit: FU for large NAL units, an aggregation
    packet for runs of small ones, single NAL packets otherwise."""
    nals = h264.split_annexb(au)
    small: list[bytes] = []

    def flush() -> Iterator[bytes]:
        if len(small) == 1:
            yield small[0]
        elif small:
            head = bytes([small[0][0] & 96 | 24]) if codec == "h264" else bytes([48 << 1, 1])
            yield head + b"".join(len(n).to_bytes(2, "big") + n for n in small)
        small.clear()

    for nal in nals:
        if len(nal) <= 300:
            small.append(nal)
            continue
        yield from flush()
        if len(nal) <= mtu:
            yield nal
            continue
        hl = nal_header_len(codec)
        body = nal[hl:]
        chunks = [body[i : i + mtu] for i in range(0, len(body), mtu)]
        for i, chunk in enumerate(chunks):
            s_e = (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0)
            if codec == "h264":
                fu = bytes([(nal[0] & 0xE0) | 28, s_e | (nal[0] & 0x1F)])
            else:
                kind = (nal[0] >> 1) & 0x3F
                fu = bytes([(nal[0] & 0x81) | (49 << 1), nal[1], s_e | kind])
            yield fu + chunk
    yield from flush()


def interleave(packets: list[bytes], channel: int = 0) -> bytes:
    return b"".join(b"$" + bytes([channel]) + len(p).to_bytes(2, "big") + p for p in packets)


def stream_bytes(codec: str, units: list[bytes], *, marker: bool = True) -> bytes:
    packets = []
    seq = 1000
    for i, au in enumerate(units):
        payloads = list(packetize(codec, au))
        for j, payload in enumerate(payloads):
            last = j == len(payloads) - 1
            packets.append(rtp(seq & 0xFFFF, (4_294_960_000 + i * 3600) & 0xFFFFFFFF, payload,
                               marker and last, extra=b"\x00" * 4 if j == 0 else b""))  # fmt: skip
            seq += 1
    return interleave(packets)


def read_all(codec: str, data: bytes, n: int, packer: Packer) -> list[tuple[object, ...]]:
    a, b = socket.socketpair()
    try:
        a.sendall(data)
        a.shutdown(socket.SHUT_WR)
        reader = RtpReader(b.fileno(), codec, 96, 0, 2000)
        out = []
        for _ in range(n):
            _, _, (params, frag) = reader.read(packer)
            out.append((params, frag))
        return out
    finally:
        a.close()
        b.close()


def expected(codec: str, units: list[bytes]) -> list[tuple[object, ...]]:
    packer = Packer(codec)
    return [packer.push(au, 4_294_960_000 + i * 3600, None) for i, au in enumerate(units)]


def test_h264_depacketization_gives_the_packer_s_fragments() -> None:
    units = h264_units()[:30]
    got = read_all("h264", stream_bytes("h264", units), len(units), Packer("h264"))
    want = expected("h264", units)
    assert got == want
    assert sum(1 for _, f in got if f is not None) == 30


def test_hevc_depacketization_gives_the_packer_s_fragments(tmp_path: Path) -> None:
    units = hevc_units(tmp_path)[:30]
    got = read_all("hevc", stream_bytes("hevc", units), len(units), Packer("hevc"))
    assert got == expected("hevc", units)
    params = got[0][0]
    assert params is not None and len(params) == 3  # VPS, SPS, PPS


def test_access_units_end_on_timestamp_change_without_marker() -> None:
    units = h264_units()[:10]
    packer = Packer("h264")
    got = read_all("h264", stream_bytes("h264", units, marker=False), 9, packer)
    assert got == expected("h264", units)[:9]


def test_a_hole_in_an_access_unit_drops_it_and_nothing_else() -> None:
    units = h264_units()[:8]
    hit = next(
        i for i, au in enumerate(units) if i > 0 and len(list(packetize("h264", au, 200))) > 2
    )
    packets = []
    seq = 0
    for i, au in enumerate(units):
        payloads = list(packetize("h264", au, 200))
        for j, payload in enumerate(payloads):
            if i == hit and j == 1:
                seq += 1
                continue  # lost
            packets.append(rtp(seq, i * 3600, payload, j == len(payloads) - 1))
            seq += 1
    packer = Packer("h264")
    got = read_all("h264", interleave(packets), 7, packer)
    reference = Packer("h264")
    want = [reference.push(au, i * 3600, None) for i, au in enumerate(units) if i != hit]
    assert [f for _, f in got] == [f for _, f in want]


def test_rtcp_other_channels_and_rtsp_answers_between_packets_are_skipped() -> None:
    units = h264_units()[:4]
    data = stream_bytes("h264", units)
    cut = data.index(b"$", 100)
    answer = b"RTSP/1.0 200 OK\r\nCSeq: 9\r\nContent-Length: 5\r\n\r\nhello"
    rtcp = interleave([b"\x80\xc8\x00\x06" + b"\x00" * 24], channel=1)
    got = read_all("h264", data[:cut] + answer + rtcp + data[cut:], 4, Packer("h264"))
    assert got == expected("h264", units)


def test_garbage_after_play_is_invalid_data() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        reader = RtpReader(b.fileno(), "h264", 96, 0, 2000)
        with pytest.raises(ValueError, match="Invalid data") as exc:
            reader.read(Packer("h264"))
    assert describe_error(exc.value)[0] == "invalid_data"


def test_silence_is_a_timeout() -> None:
    a, b = socket.socketpair()
    with a, b:
        reader = RtpReader(b.fileno(), "h264", 96, 0, 200)
        with pytest.raises(TimeoutError) as exc:
            reader.read(Packer("h264"))
    assert describe_error(exc.value)[0] == "timeout"


# --- control exchange ---------------------------------------------------------------

SDP = """v=0
o=- 1 1 IN IP4 127.0.0.1
s=cam
t=0 0
a=control:*
m=audio 0 RTP/AVP 0
a=control:trackID=2
m=video 0 RTP/AVP 96
a=rtpmap:96 H264/90000
a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sps},{pps}
a=control:trackID=1
"""


class FakeCamera:
    """A loopback RTSP server written for these tests: it checks what the client
    sends and plays ``payload`` after PLAY."""

    def __init__(
        self,
        *,
        payload: bytes = b"",
        sdp: str | None = None,
        auth: str | None = None,  # "basic" or "digest"
        describe_status: str = "200 OK",
        first_answer: bytes | None = None,
    ) -> None:
        self.payload = payload
        self.sdp = sdp
        self.auth = auth
        self.describe_status = describe_status
        self.first_answer = first_answer
        self.requests: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    def _authorized(self, request: str) -> bool:
        if self.auth is None:
            return True
        m = re.search(r"^Authorization: (.*)$", request, re.M)
        if m is None:
            return False
        value = m.group(1).strip()
        if self.auth == "basic":
            return value == "Basic dmlnaWU6c2VjcmV0IQ=="  # vigie:secret!
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', value))
        method = request.split(" ", 1)[0]

        def md5(s: str) -> str:
            return hashlib.md5(s.encode()).hexdigest()

        ha1 = md5("vigie:cam:secret!")
        ha2 = md5(f"{method}:{fields['uri']}")
        want = md5(f"{ha1}:n0nce:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        return fields.get("response") == want

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # the client may hang up first (keep-alive test)
            self._session()

    def _session(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            buf = b""
            if self.first_answer is not None:
                conn.recv(65536)
                conn.sendall(self.first_answer)
                return
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                raw, _, buf = buf.partition(b"\r\n\r\n")
                request = raw.decode()
                self.requests.append(request)
                method = request.split(" ", 1)[0]
                cseq = re.search(r"CSeq: (\d+)", request)
                assert cseq is not None
                head = f"CSeq: {cseq.group(1)}\r\n"
                if not self._authorized(request):
                    challenge = (
                        'Basic realm="cam"'
                        if self.auth == "basic"
                        else 'Digest realm="cam", nonce="n0nce", qop="auth"'
                    )
                    conn.sendall(
                        f"RTSP/1.0 401 Unauthorized\r\n{head}"
                        f"WWW-Authenticate: {challenge}\r\n\r\n".encode()
                    )
                    continue
                if method == "DESCRIBE":
                    body = (self.sdp or "").encode()
                    conn.sendall(
                        f"RTSP/1.0 {self.describe_status}\r\n{head}"
                        f"Content-Base: {self.url}/\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                elif method == "SETUP":
                    assert "interleaved=0-1" in request
                    assert f"{self.url}/trackID=1" in request.split("\r\n")[0]
                    conn.sendall(
                        f"RTSP/1.0 200 OK\r\n{head}Session: 12345678;timeout=2\r\n"
                        f"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n".encode()
                    )
                elif method == "PLAY":
                    assert "Session: 12345678" in request
                    conn.sendall(f"RTSP/1.0 200 OK\r\n{head}\r\n".encode() + self.payload)
                elif method in ("GET_PARAMETER", "TEARDOWN"):
                    conn.sendall(f"RTSP/1.0 200 OK\r\n{head}\r\n".encode())
                    if method == "TEARDOWN":
                        return


def sdp_for(units: list[bytes]) -> str:
    import base64

    nals = h264.split_annexb(units[0])
    sps = next(n for n in nals if h264.nal_type(n) == h264.NAL_SPS)
    pps = next(n for n in nals if h264.nal_type(n) == h264.NAL_PPS)
    return SDP.format(sps=base64.b64encode(sps).decode(), pps=base64.b64encode(pps).decode())


def play(cam: FakeCamera, url: str, n: int) -> tuple[RtspSession, list[bytes]]:
    session = RtspSession(url, timeout_s=2)
    track = session.start()
    assert track.codec == "h264" and track.payload_type == 96
    frag = H264Fragmenter()
    frag.set_extradata(track.extradata)
    out = []
    for _, _, _, _, f in session.frames(frag):
        if f is not None:
            out.append(f.data)
        if len(out) == n:
            break
    return session, out


@pytest.mark.parametrize("auth", [None, "basic", "digest"])
def test_plays_a_camera_with_or_without_authentication(auth: str | None) -> None:
    units = h264_units()[:12]
    cam = FakeCamera(payload=stream_bytes("h264", units), sdp=sdp_for(units), auth=auth)
    url = cam.url.replace("rtsp://", "rtsp://vigie:secret%21@") if auth else cam.url
    session, got = play(cam, url, 12)
    session.close()
    want = H264Fragmenter()
    ref = [want.push(au, pts=4_294_960_000 + i * 3600, dts=None, read_mono=0)[1] for i, au in
           enumerate(units)]  # fmt: skip
    assert got == [f.data for f in ref if f is not None]
    cam.thread.join(2)
    assert [r.split(" ", 1)[0] for r in cam.requests][-1] == "TEARDOWN"


def test_wrong_password_is_unauthorized() -> None:
    cam = FakeCamera(sdp="v=0\r\n", auth="digest")
    url = cam.url.replace("rtsp://", "rtsp://vigie:wrong@")
    with pytest.raises(RtspError) as exc:
        RtspSession(url, timeout_s=2).start()
    assert describe_error(exc.value)[0] == "unauthorized"


def test_unknown_path_is_not_found() -> None:
    cam = FakeCamera(describe_status="404 Not Found")
    with pytest.raises(RtspError) as exc:
        RtspSession(cam.url, timeout_s=2).start()
    assert describe_error(exc.value)[0] == "not_found"


def test_a_junk_speaking_server_is_invalid_data() -> None:
    cam = FakeCamera(first_answer=b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    with pytest.raises(ValueError) as exc:
        RtspSession(cam.url, timeout_s=2).start()
    assert describe_error(exc.value)[0] == "invalid_data"


def test_refused_connection() -> None:
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(OSError) as exc:
        RtspSession(f"rtsp://127.0.0.1:{port}/x", timeout_s=2).start()
    assert describe_error(exc.value)[0] == "refused"


def test_sdp_without_h264_or_h265_goes_to_libavformat() -> None:
    sdp = "v=0\r\nm=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\na=control:v\r\n"
    with pytest.raises(UnsupportedTrack, match="JPEG"):
        parse_sdp(sdp, "rtsp://h/x")


@pytest.mark.parametrize(
    ("base", "control", "want"),
    [
        ("rtsp://h:554/live/", "trackID=1", "rtsp://h:554/live/trackID=1"),
        ("rtsp://h:554/live", "trackID=1", "rtsp://h:554/live/trackID=1"),
        ("rtsp://h/live/", "rtsp://other/abs/track", "rtsp://other/abs/track"),
        ("rtsp://h/live/", "*", "rtsp://h/live/"),
    ],
)
def test_control_urls(base: str, control: str, want: str) -> None:
    sdp = f"v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:{control}\r\n"
    assert parse_sdp(sdp, base).control == want


def test_hevc_parameter_sets_from_the_sdp() -> None:
    sdp = (
        "v=0\r\nm=video 0 RTP/AVP 97\r\na=rtpmap:97 H265/90000\r\n"
        "a=fmtp:97 sprop-vps=QAEMAf//;sprop-sps=QgEBAWA=;sprop-pps=RAHA\r\n"
    )
    track = parse_sdp(sdp, "rtsp://h/x")
    assert track.codec == "hevc" and track.payload_type == 97
    assert [p[0] >> 1 & 0x3F for p in track.parameter_sets] == [32, 33, 34]


def test_keepalive_is_sent_and_its_answer_skipped() -> None:
    units = h264_units()[:50]
    cam = FakeCamera(payload=stream_bytes("h264", units), sdp=sdp_for(units))
    session = RtspSession(cam.url, timeout_s=2)
    session.start()
    session._keepalive_s = 0.0  # every frame: the answers land among RTP packets
    frag = H264Fragmenter()
    frag.set_extradata(session.track.extradata if session.track else None)
    n = sum(1 for _, _, _, _, f in _take(session.frames(frag), 50) if f is not None)
    assert n == 50

    def keepalives() -> int:
        return sum(r.startswith("GET_PARAMETER") for r in list(cam.requests))

    deadline = time.monotonic() + 10
    while keepalives() < 49 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert keepalives() >= 49  # one after each frame but the last
    session.close()
    cam.thread.join(2)


def _take(it: Iterator[tuple[object, ...]], n: int) -> Iterator[tuple[object, ...]]:
    for i, item in enumerate(it):
        yield item
        if i + 1 == n:
            return


def test_interrupt_unblocks_a_read() -> None:
    units = h264_units()[:1]
    cam = FakeCamera(payload=b"", sdp=sdp_for(units))
    session = RtspSession(cam.url, timeout_s=30)
    session.start()
    done: list[BaseException] = []

    def run() -> None:
        try:
            for _ in session.frames(H264Fragmenter()):
                pass
        except BaseException as exc:
            done.append(exc)

    t = threading.Thread(target=run)
    t.start()
    threading.Event().wait(0.2)
    session.interrupt()
    t.join(2)
    assert not t.is_alive() and isinstance(done[0], EOFError)
    session.close()


def test_rtcp_sender_reports_give_the_camera_clock_offset() -> None:
    import struct

    units = h264_units()[:3]
    ntp = time.time() + 120.0 + 2208988800.0  # a camera 2 minutes ahead
    sr = struct.pack(">BBHIIIIII", 0x80, 200, 6, 0x1234, int(ntp), int((ntp % 1) * 2**32),
                     0, 0, 0)  # fmt: skip
    a, b = socket.socketpair()
    with a, b:
        a.sendall(interleave([sr], channel=1) + stream_bytes("h264", units))
        reader = RtpReader(b.fileno(), "h264", 96, 0, 2000)
        assert reader.counters()["clock_offset_s"] is None
        reader.read(Packer("h264"))
        offset = reader.counters()["clock_offset_s"]
    assert isinstance(offset, float) and abs(offset - 120.0) < 1.0
