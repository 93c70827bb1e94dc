"""Where each camera's streams are ingested, and the client of the media
processes' internal API. The control plane is the only writer of the stream
configuration; media processes only ever receive it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from vigie.base.settings import Settings
from vigie.control.cameras import media_url, secret_box
from vigie.domain.tickets import internal_api_token, stream_key
from vigie.storage.models import Camera

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MediaNode:
    index: int
    host: str
    port: int  # public: browsers' live, snapshot and playback
    internal_url: str  # the internal API, on 127.0.0.1 only


class MediaDirectory:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.nodes = [
            MediaNode(
                i, settings.media_host, settings.media_base_port + i, settings.media_internal_url(i)
            )
            for i in range(settings.media_processes)
        ]
        self._headers = {"Authorization": f"Bearer {internal_api_token(settings.secret_key)}"}
        self._box = secret_box(settings)
        self.last_stats: dict[str, dict[str, Any]] = {}
        self.last_process: dict[int, dict[str, Any]] = {}
        self.node_errors: dict[int, str] = {}
        # The version of the stream list each node answered our last push with,
        # and the one it reported since: they differ when the node restarted or
        # someone else replaced its list.
        self._pushed_versions: dict[int, str] = {}
        self._seen_versions: dict[int, str] = {}
        self.recording_stopped_communes: set[str] = set()

    def stream_list_changed(self) -> bool:
        """A node holds a stream list other than the one pushed to it (restarted,
        or replaced behind the control plane's back)."""
        return any(self._seen_versions.get(i) != v for i, v in self._pushed_versions.items())

    def needs_push(self) -> bool:
        """A node unreachable at the last push, or one whose stream list changed."""
        return bool(self.node_errors) or self.stream_list_changed()

    async def poll(self, load_cameras: Callable[[], Awaitable[list[Camera]]]) -> bool:
        """One round of the control plane's watch: fresh stats, and the stream
        lists pushed again at once if any node holds another; True if pushed."""
        await self.refresh_stats()
        if not self.stream_list_changed():
            return False
        log.warning(
            "media processes %s hold a stream list the control plane did not push; pushing again",
            sorted(i for i, v in self._pushed_versions.items() if self._seen_versions.get(i) != v),
        )
        await self.push(await load_cameras())
        await self.refresh_stats()
        return True

    def node_for(self, camera_id: int) -> MediaNode:
        return self.nodes[camera_id % len(self.nodes)]

    def public_host(self, page_host: str) -> str:
        """The host browsers reach media processes at: the setting, else the page's host."""
        if self.settings.media_public_host:
            return self.settings.media_public_host
        if page_host.startswith("["):  # IPv6: "[::1]:8000"
            return page_host.split("]")[0] + "]"
        return page_host.split(":")[0]

    def public_ws_url(self, node: MediaNode, page_host: str, path: str, scheme: str) -> str:
        return f"{scheme}://{self.public_host(page_host)}:{node.port}{path}"

    def public_origins(self, page_host: str, secure: bool) -> list[str]:
        """Every origin a page may reach media processes at (live and playback
        WebSockets, snapshots), for the pages' Content-Security-Policy."""
        host = self.public_host(page_host)
        schemes = ("https", "wss") if secure else ("http", "ws")
        return [f"{s}://{host}:{n.port}" for n in self.nodes for s in schemes]

    def stream_defs(self, cameras: list[Camera]) -> dict[int, list[dict[str, Any]]]:
        per_node: dict[int, list[dict[str, Any]]] = {n.index: [] for n in self.nodes}
        for cam in cameras:
            if not cam.enabled:
                continue
            node = self.node_for(cam.id)
            for kind in ("main", "sub"):
                url = media_url(cam, kind, self._box)
                if url:
                    per_node[node.index].append(
                        {
                            "camera_id": cam.id,
                            "stream": kind,
                            "url": url,  # with its credentials: over the loopback API only
                            # recording stops for a commune whose quota cannot be freed
                            "record": cam.commune_insee not in self.recording_stopped_communes,
                            # painted on snapshots (CSI L251-3)
                            "privacy_masks": list(cam.privacy_masks or []),
                        }
                    )
        return per_node

    async def push(self, cameras: list[Camera]) -> None:
        """Send each media process the full list of its streams (idempotent)."""
        per_node = self.stream_defs(cameras)
        async with httpx.AsyncClient(timeout=3.0, headers=self._headers) as client:
            await asyncio.gather(
                *(self._push_one(client, n, per_node[n.index]) for n in self.nodes)
            )

    async def _push_one(
        self, client: httpx.AsyncClient, node: MediaNode, streams: list[dict[str, Any]]
    ) -> None:
        try:
            r = await client.put(f"{node.internal_url}/internal/streams", json={"streams": streams})
            r.raise_for_status()
            version = str(r.json()["version"])
            self.node_errors.pop(node.index, None)
            self._pushed_versions[node.index] = version
            self._seen_versions[node.index] = version
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self.node_errors[node.index] = str(exc) or type(exc).__name__
            log.warning("media process %d: cannot push configuration: %s", node.index, exc)

    async def refresh_stats(self) -> dict[str, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=2.0, headers=self._headers) as client:
            results = await asyncio.gather(
                *(client.get(f"{n.internal_url}/internal/stats") for n in self.nodes),
                return_exceptions=True,
            )
        merged: dict[str, dict[str, Any]] = {}
        for node, res in zip(self.nodes, results, strict=True):
            if isinstance(res, BaseException) or res.status_code != 200:
                self.node_errors[node.index] = (
                    str(res) if isinstance(res, BaseException) else res.text
                )
                continue
            self.node_errors.pop(node.index, None)
            body = res.json()
            self._seen_versions[node.index] = str(body["process"].get("stream_list_version", ""))
            self.last_process[node.index] = body["process"]
            merged.update(body["streams"])
        self.last_stats = merged
        return merged

    def status_of(self, camera_id: int, kind: str) -> dict[str, Any] | None:
        return self.last_stats.get(stream_key(camera_id, kind))

    async def open_sessions(self) -> tuple[list[dict[str, Any]], bool]:
        """Open image sessions on every media process, and whether every process
        answered (if not, sessions missing from the list may still be open)."""
        async with httpx.AsyncClient(timeout=2.0, headers=self._headers) as client:
            results = await asyncio.gather(
                *(client.get(f"{n.internal_url}/internal/sessions") for n in self.nodes),
                return_exceptions=True,
            )
        out: list[dict[str, Any]] = []
        complete = True
        for res in results:
            if isinstance(res, BaseException) or res.status_code != 200:
                complete = False
                continue
            out.extend(res.json()["sessions"])
        return out, complete

    async def revoke(
        self,
        *,
        jtis: list[str] | None = None,
        account_ids: list[int] | None = None,
        camera_ids: list[int] | None = None,
    ) -> int:
        body = {
            "jtis": jtis or [],
            "account_ids": account_ids or [],
            "camera_ids": camera_ids or [],
        }
        closed = 0
        async with httpx.AsyncClient(timeout=2.0, headers=self._headers) as client:
            for node in self.nodes:
                try:
                    r = await client.post(f"{node.internal_url}/internal/revoke", json=body)
                    closed += int(r.json().get("closed", 0))
                except httpx.HTTPError as exc:
                    log.warning("media process %d: revoke failed: %s", node.index, exc)
        return closed
