// Vigie playback page: recorded fMP4 over WebSocket from the media process into MSE.
// Strings come from the French message catalogue (/api/i18n).
"use strict";

let ws = null, ms = null, sb = null, queue = [], origin = 0, speed = 1, paused = false;
let cameras = [], overlay = null;  // the camera list (with privacy masks) and the masks drawn
const video = () => document.getElementById("pb-video");

function say(text, isError = false) {
  const m = document.getElementById("pb-message");
  m.textContent = text || "";
  m.classList.toggle("error", !!isError);
}

function fmt(iso) { return new Date(iso).toLocaleString("fr-FR"); }

function pump() {
  if (!sb || sb.updating || !queue.length) return;
  try { sb.appendBuffer(queue.shift()); } catch (e) { say(e.message, true); }
}

function resetMedia(mime) {
  queue = [];
  ms = new MediaSource();
  sb = null;
  const v = video();
  v.src = URL.createObjectURL(ms);
  ms.addEventListener("sourceopen", () => {
    sb = ms.addSourceBuffer(mime);
    sb.mode = "segments";
    sb.addEventListener("updateend", pump);
    pump();
  }, {once: true});
  v.play().catch(() => {});
}

function onControl(msg) {
  if (msg.type === "init") {
    if (!(window.MediaSource && MediaSource.isTypeSupported(msg.mime))) {
      // H.265 footage is recorded and exported, but most browsers cannot decode it.
      const codec = msg.codec === "hevc" ? "H.265 (HEVC)" : msg.mime;
      say(t("playback.codec_unsupported", {codec}), true);
      document.getElementById("pb-video").dataset.unsupported = msg.codec || "";
      if (ws) ws.close();
      return;
    }
    delete document.getElementById("pb-video").dataset.unsupported;
    origin = msg.origin_ms; speed = msg.speed || 1;
    resetMedia(msg.mime);
    say("");
  } else if (msg.type === "gap") {
    say(t("playback.gap_now", {at: new Date(msg.to_ms).toLocaleString("fr-FR")}));
  } else if (msg.type === "end") {
    say(t("playback.end"));
  }
}

function send(obj) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj)); }

async function showTimeline(cameraId, at) {
  const start = new Date(at.getTime() - 12 * 3600e3).toISOString();
  const end = new Date(at.getTime() + 12 * 3600e3).toISOString();
  const list = document.getElementById("pb-timeline");
  list.innerHTML = "";
  try {
    const tl = await api(`/api/cameras/${cameraId}/recordings/timeline?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`);
    const items = tl.spans.map((s) => ({k: "recorded", ...s})).concat(tl.gaps.map((g) => ({k: "gap", ...g})));
    items.sort((a, b) => a.start_utc.localeCompare(b.start_utc));
    for (const it of items) {
      const li = document.createElement("li");
      li.className = it.k;
      li.textContent = t(it.k === "gap" ? "playback.gap" : "playback.recorded", {start: fmt(it.start_utc), end: fmt(it.end_utc)});
      if (it.k === "recorded") {
        li.tabIndex = 0;
        li.addEventListener("click", () => send({type: "seek", at_ms: new Date(it.start_utc).getTime()}));
      }
      list.appendChild(li);
    }
  } catch (e) { say(e.message, true); }
}

async function open(ev) {
  ev.preventDefault();
  const cameraId = Number(document.getElementById("pb-camera").value);
  const at = new Date(document.getElementById("pb-start").value);  // browser local time
  if (isNaN(at)) return;
  const reason = document.getElementById("pb-reason").value;
  if (ws) ws.close();
  let ticket;
  try {
    ticket = await api(`/api/cameras/${cameraId}/playback`, {method: "POST", body: JSON.stringify({start: at.toISOString(), reason})});
  } catch (e) { say(e.message, true); return; }
  showTimeline(cameraId, at);
  const cam = cameras.find((c) => c.id === cameraId);
  overlay.set(cam ? cam.privacy_masks : []);
  ws = new WebSocket(ticket.url);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (m) => {
    if (typeof m.data === "string") onControl(JSON.parse(m.data));
    else { queue.push(new Uint8Array(m.data)); pump(); }
  };
  ws.onclose = (e) => { if (e.code === 4403) say(t("playback.revoked"), true); };
}

function tick() {
  const v = video();
  if (origin && !isNaN(v.currentTime)) {
    const at = new Date(origin + v.currentTime * 1000 * speed);
    document.getElementById("pb-clock").textContent = `${at.toLocaleString("fr-FR")} (×${speed})`;
  }
}

async function main() {
  T = await (await fetch("/api/i18n")).json();
  const me = await api("/api/auth/me");
  csrf = me.csrf;
  const who = document.getElementById("whoami");
  if (who) who.textContent = me.display_name || me.username;
  const cams = cameras = await api("/api/cameras");
  overlay = new MaskOverlay(video());
  const sel = document.getElementById("pb-camera");
  for (const c of cams) {
    const o = document.createElement("option");
    o.value = c.id; o.textContent = c.name;
    sel.appendChild(o);
  }
  const q = new URLSearchParams(location.search);
  if (q.get("camera")) sel.value = q.get("camera");
  const linked = q.get("at") ? new Date(q.get("at")) : null;  // an alarm's link
  if (linked && !isNaN(linked)) {
    const pad = (n) => String(n).padStart(2, "0");
    document.getElementById("pb-start").value =
      `${linked.getFullYear()}-${pad(linked.getMonth() + 1)}-${pad(linked.getDate())}` +
      `T${pad(linked.getHours())}:${pad(linked.getMinutes())}:${pad(linked.getSeconds())}`;
  }
  document.getElementById("pb-form").addEventListener("submit", open);
  document.getElementById("pb-pause").addEventListener("click", (e) => {
    paused = !paused;
    send({type: paused ? "pause" : "resume"});
    e.target.textContent = t(paused ? "playback.resume" : "playback.pause");
    if (paused) video().pause(); else video().play().catch(() => {});
  });
  document.getElementById("pb-step").addEventListener("click", () => {
    if (!paused) return;
    send({type: "step"});
    setTimeout(() => { const v = video(); if (sb && sb.buffered.length) v.currentTime = sb.buffered.end(sb.buffered.length - 1) - 0.001; }, 150);
  });
  for (const b of document.querySelectorAll("[data-speed]")) {
    b.addEventListener("click", () => send({type: "speed", value: Number(b.dataset.speed)}));
  }
  setInterval(tick, 250);
}

main();
