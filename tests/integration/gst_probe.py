#!/usr/bin/python3
"""Read an MP4 with GStreamer's own demuxer (qtdemux), decode its video and
print what a player would get, as JSON. Run with the SYSTEM interpreter (it
needs ``gi``): ``/usr/bin/python3 gst_probe.py FILE``.

qtdemux shares no code with FFmpeg's mov demuxer (which PyAV, ffprobe and
Chromium's progressive playback use): it stands in for the players that
parse MP4 themselves (VLC, Windows' player).
"""

import itertools
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
out = {"frames": 0, "video_pts_s": [], "subtitles": [], "tags": {}, "errors": []}


def sink_for(kind):
    sink = Gst.ElementFactory.make("appsink")
    sink.set_property("emit-signals", True)
    sink.set_property("sync", False)
    sink.set_property("async", False)  # one streaming thread feeds both sinks: no preroll wait

    def on_sample(s):
        buf = s.emit("pull-sample").get_buffer()
        if kind == "video":
            out["frames"] += 1
            out["video_pts_s"].append(buf.pts / Gst.SECOND)
        else:
            _, info = buf.map(Gst.MapFlags.READ)
            text = bytes(info.data).decode("utf-8", "replace")
            out["subtitles"].append([buf.pts / Gst.SECOND, text])
            buf.unmap(info)
        return Gst.FlowReturn.OK

    sink.connect("new-sample", on_sample)
    return sink


pipe = Gst.Pipeline()
src = Gst.ElementFactory.make("filesrc")
src.set_property("location", sys.argv[1])
demux = Gst.ElementFactory.make("qtdemux")
pipe.add(src)
pipe.add(demux)
src.link(demux)


def on_pad(_demux, pad):
    name = pad.get_name()
    if name.startswith("video"):
        decode = [Gst.ElementFactory.make(n) for n in ("h264parse", "avdec_h264")]
        chain = [*decode, sink_for("video")]
    elif name.startswith("subtitle") or name.startswith("text"):
        chain = [sink_for("text")]
    else:
        return
    for e in chain:
        pipe.add(e)
        e.sync_state_with_parent()
    for a, b in itertools.pairwise(chain):
        a.link(b)
    pad.link(chain[0].get_static_pad("sink"))


demux.connect("pad-added", on_pad)
loop = GLib.MainLoop()


def on_message(_bus, msg):
    if msg.type == Gst.MessageType.TAG:
        tags = msg.parse_tag()
        for i in range(tags.n_tags()):
            key = tags.nth_tag_name(i)
            value = tags.get_value_index(key, 0)
            if hasattr(value, "to_iso8601_string"):
                value = value.to_iso8601_string()
            out["tags"][key] = value if isinstance(value, (str, int, float)) else str(value)
    elif msg.type == Gst.MessageType.ERROR:
        out["errors"].append(str(msg.parse_error()[0]))
        loop.quit()
    elif msg.type == Gst.MessageType.EOS:
        ok, dur = pipe.query_duration(Gst.Format.TIME)
        out["duration_s"] = dur / Gst.SECOND if ok else None
        loop.quit()


bus = pipe.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
pipe.set_state(Gst.State.PLAYING)
GLib.timeout_add_seconds(60, loop.quit)
loop.run()
pipe.set_state(Gst.State.NULL)
print(json.dumps(out))
