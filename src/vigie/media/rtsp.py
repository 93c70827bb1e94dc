"""RTSP client for cameras (RFC 2326), RTP interleaved over the TCP connection.

The control exchange is here, in Python, because it happens once per
connection: DESCRIBE (with Basic or Digest authentication, redirects), the
SDP's video track (codec, payload type, parameter sets, control URL), SETUP
with ``RTP/AVP/TCP;interleaved=0-1``, PLAY, then a keep-alive every half
session timeout. The data path — every byte after PLAY — is read by
``_fastpath.RtpReader`` in C, with large reads and without the GIL: one
system call brings many RTP packets, where FFmpeg's RTSP demuxer makes two
per packet (most of the CPU a camera costs).

Only ``rtsp://`` URLs with H.264 or H.265 video come here; anything else
(rtsps, files, other codecs) goes through libavformat (``source.FfmpegSource``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from vigie.base.clock import Clock, RealClock
from vigie.media._fastpath import Packer, RtpReader
from vigie.media.fragmenter import Fragment, H264Fragmenter, InitInfo

# (access unit bytes, read instant, is key, new init or None, fragment or None)
Frame = tuple[int, float, bool, InitInfo | None, Fragment | None]

USER_AGENT = "Vigie"
CONNECT_TIMEOUT_S = 4.0
MAX_REDIRECTS = 3
MAX_RESPONSE_BYTES = 64 * 1024
DEFAULT_SESSION_TIMEOUT_S = 60
RTP_CODECS = {"H264": "h264", "H265": "hevc"}


class RtspError(OSError):
    """A camera answered with an RTSP error status; the text names it."""

    def __init__(self, status: int, reason: str, method: str) -> None:
        super().__init__(f"Server returned {status} {reason} ({method})")
        self.status = status


class UnsupportedTrack(ValueError):
    """The SDP has video this client does not depacketize (libavformat takes it)."""


@dataclass(slots=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    challenges: list[str] = field(default_factory=list)  # every WWW-Authenticate

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class VideoTrack:
    codec: str  # FFmpeg's names: "h264", "hevc"
    payload_type: int
    control: str
    parameter_sets: list[bytes] = field(default_factory=list)

    @property
    def extradata(self) -> bytes | None:
        if not self.parameter_sets:
            return None
        return b"".join(b"\x00\x00\x00\x01" + p for p in self.parameter_sets)


def parse_sdp(sdp: str, base_url: str) -> VideoTrack:
    """The first H.264/H.265 video track of a session description."""
    media: list[list[str]] = []
    session: list[str] = []
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        else:
            session.append(line)
    seen: list[str] = []
    for block in media:
        fields = block[0][2:].split()
        if len(fields) < 4 or fields[0] != "video":
            continue
        pts = [int(p) for p in fields[3:] if p.isdigit()]
        rtpmap: dict[int, str] = {}
        fmtp: dict[int, str] = {}
        control = None
        for line in block[1:]:
            if m := re.match(r"a=rtpmap:(\d+)\s+([^/\s]+)", line):
                rtpmap[int(m.group(1))] = m.group(2).upper()
            elif m := re.match(r"a=fmtp:(\d+)\s+(.*)", line):
                fmtp[int(m.group(1))] = m.group(2)
            elif line.startswith("a=control:"):
                control = line[len("a=control:") :].strip()
        for pt in pts:
            name = rtpmap.get(pt)
            seen.append(name or str(pt))
            if name in RTP_CODECS:
                codec = RTP_CODECS[name]
                return VideoTrack(
                    codec=codec,
                    payload_type=pt,
                    control=_control_url(base_url, control),
                    parameter_sets=_parameter_sets(codec, fmtp.get(pt, "")),
                )
    if seen:
        raise UnsupportedTrack(f"no H.264/H.265 video in the SDP (video: {', '.join(seen)})")
    raise ValueError("Invalid data found when processing input: no video track in the SDP")


def _control_url(base_url: str, control: str | None) -> str:
    if control is None or control == "*":
        return base_url
    if re.match(r"^[a-z][a-z0-9+.-]*://", control, re.I):
        return control
    base = base_url if base_url.endswith("/") else base_url + "/"
    return urljoin(base, control)


def _parameter_sets(codec: str, fmtp: str) -> list[bytes]:
    params: dict[str, str] = {}
    for part in fmtp.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            params[key.strip().lower()] = value.strip()
    names = ["sprop-parameter-sets"] if codec == "h264" else ["sprop-vps", "sprop-sps", "sprop-pps"]
    out: list[bytes] = []
    for name in names:
        for item in params.get(name, "").split(","):
            if item:
                try:
                    out.append(base64.b64decode(item + "=" * (-len(item) % 4)))
                except ValueError:
                    continue  # a broken hint: the in-band parameter sets will do
    return out


class _Auth:
    """Basic or Digest (MD5, RFC 2617 with or without qop=auth) from a challenge."""

    def __init__(self, user: str, password: str, challenge: str) -> None:
        self.user, self.password = user, password
        scheme, _, rest = challenge.partition(" ")
        self.scheme = scheme.lower()
        self.params = {
            k.lower(): v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', rest)
        }
        self.nc = 0

    def header(self, method: str, uri: str) -> str:
        if self.scheme == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return f"Basic {token}"
        realm, nonce = self.params.get("realm", ""), self.params.get("nonce", "")

        def md5(text: str) -> str:
            return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

        ha1 = md5(f"{self.user}:{realm}:{self.password}")
        ha2 = md5(f"{method}:{uri}")
        fields = [
            f'username="{self.user}"',
            f'realm="{realm}"',
            f'nonce="{nonce}"',
            f'uri="{uri}"',
        ]
        if "auth" in self.params.get("qop", "").split(","):
            self.nc += 1
            nc, cnonce = f"{self.nc:08x}", secrets.token_hex(8)
            digest = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            digest = md5(f"{ha1}:{nonce}:{ha2}")
        fields.append(f'response="{digest}"')
        if "opaque" in self.params:
            fields.append(f'opaque="{self.params["opaque"]}"')
        return "Digest " + ", ".join(fields)


def _split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(URL without user:password, user, password)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, unquote(parts.username), unquote(parts.password or "")


class RtspSession:
    """One connection to one camera stream, from DESCRIBE to TEARDOWN."""

    def __init__(
        self, url: str, *, timeout_s: float = CONNECT_TIMEOUT_S, clock: Clock | None = None
    ) -> None:
        self._clock = clock or RealClock()
        self.url, self._user, self._password = _split_credentials(url)
        self._timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buf = b""
        self._cseq = 0
        self._auth: _Auth | None = None
        self._session: str | None = None
        self._keepalive_s = DEFAULT_SESSION_TIMEOUT_S / 2
        self._reader: RtpReader | None = None
        self.track: VideoTrack | None = None

    # --- control exchange --------------------------------------------------------

    def start(self) -> VideoTrack:
        """Connect, DESCRIBE, SETUP, PLAY; return the video track being played."""
        response = self._describe()
        base = response.header("content-base") or response.header("content-location") or self.url
        track = parse_sdp(response.body.decode("utf-8", "replace"), base)
        setup = self._request(
            "SETUP", track.control, {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}
        )
        session = setup.header("session")
        if not session:
            raise ValueError("Invalid data found when processing input: SETUP without a session")
        sid, *options = [p.strip() for p in session.split(";")]
        self._session = sid
        for option in options:
            key, _, value = option.partition("=")
            if key.lower() == "timeout" and value.isdigit() and int(value) > 0:
                self._keepalive_s = max(int(value) / 2, 1.0)
        transport = setup.header("transport") or ""
        channel = re.search(r"interleaved=(\d+)", transport)
        self._channel = int(channel.group(1)) if channel else 0
        self._request("PLAY", self.url, {"Range": "npt=0.000-"})
        self.track = track
        return track

    def _describe(self) -> Response:
        for _ in range(MAX_REDIRECTS + 1):
            self._connect()
            response = self._request("DESCRIBE", self.url, {"Accept": "application/sdp"})
            if response.status in (301, 302, 303, 305, 307) and response.header("location"):
                self.close()
                self.url, user, password = _split_credentials(response.header("location") or "")
                if user is not None:
                    self._user, self._password = user, password
                continue
            return response
        raise RtspError(310, "Too many redirects", "DESCRIBE")

    def _connect(self) -> None:
        parts = urlsplit(self.url)
        if parts.hostname is None:
            raise ValueError(f"Invalid data found when processing input: no host in {self.url}")
        self._sock = socket.create_connection(
            (parts.hostname, parts.port or 554), timeout=self._timeout_s
        )
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""

    def _request(self, method: str, uri: str, headers: dict[str, str]) -> Response:
        for attempt in range(2):
            self._send(method, uri, headers)
            response = self._read_response(method)
            if response.status == 401 and attempt == 0 and self._user is not None:
                challenges = response.challenges or [""]
                self._auth = _Auth(self._user, self._password or "", _best(challenges))
                continue
            if response.status >= 300 and not (
                method == "DESCRIBE" and 300 <= response.status < 400
            ):
                raise RtspError(response.status, response.reason, method)
            return response
        raise RtspError(401, "Unauthorized", method)

    def _send(self, method: str, uri: str, headers: dict[str, str]) -> None:
        assert self._sock is not None
        self._cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self._cseq}", f"User-Agent: {USER_AGENT}"]
        if self._session is not None:
            lines.append(f"Session: {self._session}")
        if self._auth is not None:
            lines.append(f"Authorization: {self._auth.header(method, uri)}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _read_response(self, method: str) -> Response:
        assert self._sock is not None
        deadline = self._clock.monotonic() + self._timeout_s
        while True:
            # Interleaved data may precede the answer (a PLAY already running).
            while self._buf.startswith(b"$") and len(self._buf) >= 4:
                size = int.from_bytes(self._buf[2:4], "big")
                if len(self._buf) < 4 + size:
                    break
                self._buf = self._buf[4 + size :]
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0 and not self._buf.startswith(b"$"):
                head = self._buf[:end].decode("utf-8", "replace")
                lines = head.split("\r\n")
                m = re.match(r"RTSP/\d\.\d\s+(\d{3})\s*(.*)", lines[0])
                if m is None:
                    raise ValueError(
                        f"Invalid data found when processing input: {lines[0][:60]!r} "
                        f"in answer to {method}"
                    )
                headers: dict[str, str] = {}
                challenges: list[str] = []
                for line in lines[1:]:
                    key, _, value = line.partition(":")
                    key = key.strip().lower()
                    headers.setdefault(key, value.strip())
                    if key == "www-authenticate":
                        challenges.append(value.strip())
                length = int(headers.get("content-length", "0") or 0)
                if end + 4 + length <= len(self._buf):
                    body = self._buf[end + 4 : end + 4 + length]
                    self._buf = self._buf[end + 4 + length :]
                    return Response(int(m.group(1)), m.group(2), headers, body, challenges)
            elif len(self._buf) >= 5 and not self._buf.startswith((b"RTSP/", b"$")):
                raise ValueError(
                    f"Invalid data found when processing input: {self._buf[:40]!r} "
                    f"in answer to {method}"
                )
            if len(self._buf) > MAX_RESPONSE_BYTES:
                raise ValueError("Invalid data found when processing input: answer too long")
            if self._clock.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for the answer to {method}")
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EOFError(f"the camera closed the connection during {method}")
            self._buf += chunk

    # --- data path -------------------------------------------------------------

    def frames(self, fragmenter: H264Fragmenter | None) -> Iterator[Frame]:
        """Packed frames until the connection ends; keep-alives sent between frames.

        Without a fragmenter (a codec not yet recorded) the frames are packed by
        a throw-away packer, only to be counted.
        """
        assert self._sock is not None and self.track is not None
        reader = self._reader = RtpReader(
            self._sock.fileno(),
            self.track.codec,
            self.track.payload_type,
            self._channel,
            int(self._timeout_s * 1000),
            self._buf,
        )
        self._buf = b""
        packer = fragmenter.packer if fragmenter is not None else Packer(self.track.codec)
        read = reader.read
        keepalive_at = self._clock.monotonic() + self._keepalive_s
        while True:
            size, now, (params, frag) = read(packer)
            if fragmenter is None:
                yield size, now, frag is not None and frag[1], None, None
            else:
                init, fragment = fragmenter.finish(params, frag, now)
                yield size, now, fragment is not None and fragment.is_key, init, fragment
            if now >= keepalive_at:
                keepalive_at = now + self._keepalive_s
                self._send("GET_PARAMETER", self.url, {})  # answered between RTP packets

    def counters(self) -> dict[str, int | float | None]:
        """RTP packets and losses, and the camera's clock offset from RTCP (any thread)."""
        return self._reader.counters() if self._reader is not None else {}

    def interrupt(self) -> None:
        """Make a blocked read return (from another thread)."""
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._session is not None:
            try:
                sock.settimeout(0.2)
                self._send_on(sock, "TEARDOWN")
            except OSError:
                pass
        sock.close()

    def _send_on(self, sock: socket.socket, method: str) -> None:
        self._sock = sock
        try:
            self._send(method, self.url, {})
        finally:
            self._sock = None


def _best(challenges: list[str]) -> str:
    """Digest before Basic when a camera offers both."""
    for c in challenges:
        if c.lower().startswith("digest"):
            return c
    return challenges[0]
