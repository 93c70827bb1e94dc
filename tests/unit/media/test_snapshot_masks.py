"""Snapshots are painted with the camera's privacy masks in the media process."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from tests.unit.media.test_fragmenter import access_units
from vigie.domain.masks import parse_masks
from vigie.media.fragmenter import H264Fragmenter
from vigie.media.server import StreamDef, keyframe_to_jpeg

RIGHT_HALF = {"label": "Façade", "points": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}


def keyframe_fmp4() -> bytes:
    frag = H264Fragmenter()
    data, pts, dts = access_units()[0]
    init, fragment = frag.push(data, pts=pts, dts=dts, read_mono=0.0)
    assert init is not None and fragment is not None
    return init.data + fragment.data


def grey(jpeg: bytes) -> np.ndarray:  # type: ignore[type-arg]
    with av.open(io.BytesIO(jpeg)) as c:
        return next(c.decode(video=0)).to_ndarray(format="gray")


def test_snapshot_masked_area_is_black_the_rest_untouched() -> None:
    data = keyframe_fmp4()
    plain = grey(keyframe_to_jpeg(data))
    masked = grey(keyframe_to_jpeg(data, 5, parse_masks([RIGHT_HALF])))
    w = plain.shape[1]
    assert plain[:, w // 2 + 8 :].mean() > 40  # the test picture is not black there
    assert masked[:, w // 2 + 8 :].max() <= 8  # JPEG ringing aside, black
    diff = np.abs(masked[:, : w // 2 - 8].astype(int) - plain[:, : w // 2 - 8].astype(int))
    assert diff.mean() < 2


def test_stream_definitions_carry_checked_masks() -> None:
    base = {"camera_id": 3, "stream": "main", "url": "rtsp://127.0.0.1/a"}
    d = StreamDef.parse(base | {"privacy_masks": [RIGHT_HALF]})
    assert d.masks == tuple(parse_masks([RIGHT_HALF]))
    assert StreamDef.parse(base).masks == ()
    with pytest.raises(Exception, match="Masque 1"):
        StreamDef.parse(base | {"privacy_masks": [{"points": [[0, 0]]}]})
