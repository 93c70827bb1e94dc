from __future__ import annotations

from vigie.base.settings import Settings
from vigie.control.media_directory import MediaDirectory
from vigie.domain.cameras import CameraSecrets
from vigie.domain.secretbox import SecretBox
from vigie.storage.models import Camera

SECRET = "d" * 40
SEALED = CameraSecrets("p@ss").seal(SecretBox.for_camera_secrets(SECRET))


def cams(n: int) -> list[Camera]:
    return [
        Camera(id=i, name=f"c{i}", commune_insee="59350", main_url=f"rtsp://h/{i}/m",
               sub_url=f"rtsp://h/{i}/s", username="u" if i == 1 else None,
               secrets_sealed=SEALED if i == 1 else None, enabled=i != 3)
        for i in range(1, n + 1)
    ]  # fmt: skip


def test_streams_are_sharded_over_processes_with_credentials_only_to_media() -> None:
    d = MediaDirectory(Settings(secret_key=SECRET, media_processes=3, media_base_port=9000))
    per_node = d.stream_defs(cams(9))
    assert sorted(per_node) == [0, 1, 2]
    keys = [(s["camera_id"], s["stream"]) for node in per_node.values() for s in node]
    assert len(keys) == len(set(keys)) == 16  # 8 enabled cameras × (main, sub), each once
    for index, streams in per_node.items():
        assert all(s["camera_id"] % 3 == index for s in streams)
    first = next(s for s in per_node[1] if s["camera_id"] == 1 and s["stream"] == "main")
    assert first["url"] == "rtsp://u:p%40ss@h/1/m"
    assert d.node_for(5).port == 9002


def test_public_url_uses_the_page_host() -> None:
    d = MediaDirectory(Settings(secret_key=SECRET, media_base_port=9000))
    assert (
        d.public_ws_url(d.nodes[0], "cmsu.example:8443", "/live/1/sub", "wss")
        == "wss://cmsu.example:9000/live/1/sub"
    )


def test_recording_is_switched_off_for_communes_over_quota() -> None:
    d = MediaDirectory(Settings(secret_key=SECRET, media_base_port=9000))
    assert all(s["record"] for s in d.stream_defs(cams(2))[0])
    d.recording_stopped_communes = {"59350"}
    assert not any(s["record"] for s in d.stream_defs(cams(2))[0])
