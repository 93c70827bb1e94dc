"""Is a TCP port free to listen on, and if not, which process holds it.

Linux only for the "which process" part: the sockets of ``/proc/net/tcp`` and
``/proc/net/tcp6`` on that port, matched by inode against the descriptors in
``/proc/<pid>/fd``. Processes of other users are not readable (nor under
systemd's ``ProtectProc=invisible``): the holder is then unknown, not guessed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TCP_LISTEN = "0A"  # socket state in /proc/net/tcp


@dataclass(frozen=True)
class PortHolder:
    pid: int
    cmdline: str


def can_listen(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (bound with
    ``SO_REUSEADDR``, as uvicorn and aiohttp do; the socket is closed again)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return True  # not ours to judge: the server reports the bad address itself
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return False
                raise
    return True


def port_holders(port: int, proc: Path = PROC) -> list[PortHolder]:
    """The processes holding a TCP socket bound to local ``port`` (listening
    sockets first), as far as this process may see them."""
    listening, other = _socket_inodes(port, proc)
    wanted = {inode: rank for rank, inodes in enumerate((listening, other)) for inode in inodes}
    found: dict[int, tuple[int, PortHolder]] = {}
    if not wanted:
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue  # gone, or another user's
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and (inode := target[8:-1]) in wanted:
                rank = wanted[inode]
                if pid not in found or rank < found[pid][0]:
                    found[pid] = (rank, PortHolder(pid, _cmdline(entry)))
    return [holder for _rank, holder in sorted(found.values(), key=lambda f: (f[0], f[1].pid))]


def _socket_inodes(port: int, proc: Path) -> tuple[set[str], set[str]]:
    listening: set[str] = set()
    other: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            local, state, inode = fields[1], fields[3], fields[9]
            if int(local.rsplit(":", 1)[1], 16) != port or inode == "0":
                continue
            (listening if state == TCP_LISTEN else other).add(inode)
    return listening, other


def _cmdline(entry: Path) -> str:
    with contextlib.suppress(OSError):
        raw = (entry / "cmdline").read_bytes()
        if raw:
            return " ".join(
                part.decode(errors="replace") for part in raw.rstrip(b"\0").split(b"\0")
            )
    with contextlib.suppress(OSError):
        return f"[{(entry / 'comm').read_text().strip()}]"
    return "?"
