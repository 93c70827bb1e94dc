// Vigie playback page: recorded fMP4 over WebSocket from the media process into MSE.
// Strings come from the French message catalogue (/api/i18n).
"use strict";

let ws = null, ms = null, sb = null, queue = [], origin = 0, speed = 1, paused = false;
let cameras = [], overlay = null;  // the camera list (with privacy masks) and the masks drawn
let note = "";  // said once the next stream starts (a seek from the timeline explains itself)
const video = () => document.getElementById("pb-video");

function say(text, isError = false) {
  const m = document.getElementById("pb-message");
  m.textContent = text || "";
  m.classList.toggle("error", !!isError);
}


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
    say(note);
    note = "";
  } else if (msg.type === "gap") {
    say(t("playback.gap_now", {at: new Date(msg.to_ms).toLocaleString("fr-FR")}));
  } else if (msg.type === "end") {
    say(t("playback.end"));
  }
}

function send(obj) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj)); }

// ---- Timeline: a graphical bar over a window (1 h, 6 h or 24 h) plus the accessible list.
// Instants are UTC milliseconds; labels are Europe/Paris wall time in French.
const HOUR = 3600e3;
const tl = {cameraId: null, start: 0, end: 0, spans: [], gaps: [], pick: null, seq: 0, listKey: "", wasIn: false};
const PARIS = {timeZone: "Europe/Paris"};
const hhmm = new Intl.DateTimeFormat("fr-FR", {...PARIS, hour: "2-digit", minute: "2-digit"});
const ddmm = new Intl.DateTimeFormat("fr-FR", {...PARIS, day: "2-digit", month: "2-digit"});
const paris = (ms) => new Date(ms).toLocaleString("fr-FR", PARIS);

function duration(ms) {
  const total = Math.round(ms / 1000), h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  if (h) return t("timeline.duration_h", {h, m});
  if (m) return t("timeline.duration_m", {m, s});
  return t("timeline.duration_s", {s});
}

// The instant being played (UTC ms), from the stream's origin and the video's clock; null before.
function playingMs() {
  const v = video();
  if (!origin || isNaN(v.currentTime)) return null;
  return origin + v.currentTime * 1000 * speed;
}

const frac = (ms) => (ms - tl.start) / (tl.end - tl.start);
const pct = (ms) => `${(Math.min(1, Math.max(0, frac(ms))) * 100).toFixed(4)}%`;

function block(cls, from, to, title) {
  const d = document.createElement("div");
  d.className = cls;
  d.style.left = pct(from);
  d.style.width = `${(Math.max(0, Math.min(to, tl.end) - Math.max(from, tl.start)) / (tl.end - tl.start) * 100).toFixed(4)}%`;
  d.dataset.startMs = String(from);
  d.dataset.endMs = String(to);
  if (title) d.title = title;
  return d;
}

// Tick step and label spacing for the window's length: hour ticks (10 min within 1 h).
function tickPlan(len) {
  if (len <= 2 * HOUR) return {step: 10 * 60e3, labelEvery: 10 * 60e3};
  if (len <= 8 * HOUR) return {step: HOUR, labelEvery: HOUR};
  return {step: HOUR, labelEvery: 3 * HOUR};
}

function renderTicks() {
  const box = document.getElementById("tl-ticks");
  box.innerHTML = "";
  const {step, labelEvery} = tickPlan(tl.end - tl.start);
  // Paris is a whole number of hours from UTC: UTC multiples of the step are Paris ones too.
  for (let ms = Math.ceil(tl.start / step) * step; ms <= tl.end; ms += step) {
    const label = hhmm.format(new Date(ms));
    const [hh, mm] = label.split(":").map(Number);
    const minutes = hh * 60 + mm;
    const tick = document.createElement("div");
    tick.className = "tl-tick";
    tick.style.left = pct(ms);
    if (minutes % (labelEvery / 60e3) === 0) {
      tick.classList.add("major");
      const span = document.createElement("span");
      span.textContent = minutes === 0 ? `${ddmm.format(new Date(ms))} ${label}` : label;
      tick.appendChild(span);
    }
    box.appendChild(tick);
  }
}

function renderBar() {
  const track = document.getElementById("tl-track");
  track.innerHTML = "";
  const now = Date.now();
  for (const sp of tl.spans) {
    track.appendChild(block("tl-span", sp.s, sp.e,
      t("timeline.recorded_title", {start: paris(sp.s), end: paris(sp.e), duration: duration(sp.e - sp.s)})));
  }
  for (const g of tl.gaps) {
    const past = Math.min(g.e, now);  // after now nothing is missing yet: it is to come
    if (past > g.s) {
      track.appendChild(block("tl-gap", g.s, past,
        t("timeline.gap_title", {start: paris(g.s), end: paris(past), duration: duration(past - g.s)})));
    }
    if (g.e > now) track.appendChild(block("tl-future", Math.max(g.s, now), g.e, t("timeline.legend_future")));
  }
  const {step} = tickPlan(tl.end - tl.start);
  for (let ms = Math.ceil(tl.start / step) * step; ms < tl.end; ms += step) {
    track.appendChild(block("tl-hour", ms, ms));
  }
  renderTicks();
  const bar = document.getElementById("tl-bar");
  bar.dataset.startMs = String(tl.start);
  bar.dataset.endMs = String(tl.end);
  bar.setAttribute("aria-valuemin", String(tl.start));
  bar.setAttribute("aria-valuemax", String(tl.end));
  document.getElementById("tl-range").textContent = t("timeline.window", {start: paris(tl.start), end: paris(tl.end)});
  for (const b of document.querySelectorAll("[data-window-h]")) {
    b.setAttribute("aria-pressed", String(Number(b.dataset.windowH) * HOUR === tl.end - tl.start));
  }
  placeMarkers();
}

// The compact list (same window): each recorded span seeks to its start.
function renderList() {
  const key = JSON.stringify([tl.spans, tl.gaps]);
  if (key === tl.listKey) return;  // unchanged: keep the keyboard focus where it is
  tl.listKey = key;
  const list = document.getElementById("pb-timeline");
  list.innerHTML = "";
  const items = tl.spans.map((s) => ({k: "recorded", ...s})).concat(tl.gaps.map((g) => ({k: "gap", ...g})));
  items.sort((a, b) => a.s - b.s);
  if (!tl.spans.length) {
    const li = document.createElement("li");
    li.textContent = t("timeline.empty");
    list.appendChild(li);
  }
  for (const it of items) {
    const li = document.createElement("li");
    li.className = it.k;
    li.textContent = t(it.k === "gap" ? "playback.gap" : "playback.recorded", {start: paris(it.s), end: paris(it.e)});
    if (it.k === "recorded") {
      li.tabIndex = 0;
      const go = () => send({type: "seek", at_ms: it.s});
      li.addEventListener("click", go);
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    }
    list.appendChild(li);
  }
}

async function loadTimeline() {
  if (tl.cameraId === null) return;
  const seq = ++tl.seq;
  const q = `start=${encodeURIComponent(new Date(tl.start).toISOString())}&end=${encodeURIComponent(new Date(tl.end).toISOString())}`;
  try {
    const data = await api(`/api/cameras/${tl.cameraId}/recordings/timeline?${q}`);
    if (seq !== tl.seq) return;  // a newer window was asked meanwhile
    const ms = (x) => ({s: new Date(x.start_utc).getTime(), e: new Date(x.end_utc).getTime()});
    tl.spans = data.spans.map(ms);
    tl.gaps = data.gaps.map(ms);
    renderBar();
    renderList();
  } catch (e) { say(e.message, true); }
}

function setWindow(start, len) {
  tl.start = Math.round(start);
  tl.end = tl.start + len;
  renderBar();  // the cursor and ticks move at once; spans follow when fetched
  loadTimeline();
}

function placeMarkers() {
  const cursor = document.getElementById("tl-cursor");
  const at = playingMs();
  const inside = at !== null && at >= tl.start && at <= tl.end;
  cursor.hidden = !inside;
  if (inside) {
    cursor.style.left = pct(at);
    cursor.title = t("timeline.cursor_title", {at: paris(at)});
  }
  const pick = document.getElementById("tl-pick");
  pick.hidden = tl.pick === null;
  if (tl.pick !== null) pick.style.left = pct(tl.pick);
}

// Keep the play cursor in view: when playback runs past the window's end, the window follows.
function followCursor() {
  if (tl.cameraId === null) return;
  const at = playingMs();
  const inside = at !== null && at >= tl.start && at <= tl.end;
  if (!inside && tl.wasIn && at !== null && at > tl.end) {
    const len = tl.end - tl.start;
    setWindow(at - len / 4, len);
    tl.wasIn = true;
    return;
  }
  tl.wasIn = inside;
  placeMarkers();
}

function kindAt(ms) {
  if (tl.spans.some((sp) => ms >= sp.s && ms < sp.e)) return "recorded";
  return ms > Date.now() ? "future" : "gap";
}

// Seek to `ms`; in a gap, to the start of the next recorded span (and say so).
function seekTo(ms) {
  if (!ws || ws.readyState !== WebSocket.OPEN) { say(t("timeline.not_open"), true); return; }
  if (kindAt(ms) === "recorded") {
    note = t("timeline.seek", {at: paris(ms)});
    send({type: "seek", at_ms: Math.round(ms)});
    say(note);
    return;
  }
  const next = tl.spans.filter((sp) => sp.s > ms).sort((a, b) => a.s - b.s)[0];
  if (!next) { say(t("timeline.gap_nothing_after", {at: paris(ms)})); return; }
  note = t("timeline.gap_jump", {at: paris(ms), next: paris(next.s)});
  send({type: "seek", at_ms: next.s});
  say(note);
}

function barInstant(clientX) {
  const r = document.getElementById("tl-track").getBoundingClientRect();
  const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
  return tl.start + f * (tl.end - tl.start);
}

function showPick() {
  const bar = document.getElementById("tl-bar");
  if (tl.pick === null) return;
  bar.setAttribute("aria-valuenow", String(Math.round(tl.pick)));
  bar.setAttribute("aria-valuetext", t(`timeline.pick_${kindAt(tl.pick)}`, {at: paris(tl.pick)}));
  placeMarkers();
}

function onBarKey(e) {
  if (tl.cameraId === null) return;
  const len = tl.end - tl.start;
  const step = len / 96;  // 37.5 s in 1 h, 15 min in 24 h
  let pick = tl.pick ?? playingMs() ?? (tl.start + len / 2);
  if (e.key === "ArrowLeft" || e.key === "ArrowDown") pick -= step;
  else if (e.key === "ArrowRight" || e.key === "ArrowUp") pick += step;
  else if (e.key === "PageUp") pick -= len / 8;
  else if (e.key === "PageDown") pick += len / 8;
  else if (e.key === "Home") pick = tl.start;
  else if (e.key === "End") pick = tl.end;
  else if (e.key === "Enter" || e.key === " ") { e.preventDefault(); seekTo(pick); return; }
  else return;
  e.preventDefault();
  tl.pick = pick;
  if (pick < tl.start) setWindow(tl.start - len, len);
  else if (pick > tl.end) setWindow(tl.start + len, len);
  showPick();
}

function setupTimeline() {
  const bar = document.getElementById("tl-bar");
  bar.addEventListener("click", (e) => {
    if (tl.cameraId === null) { say(t("timeline.not_open"), true); return; }
    tl.pick = barInstant(e.clientX);
    showPick();
    seekTo(tl.pick);
  });
  bar.addEventListener("keydown", onBarKey);
  for (const b of document.querySelectorAll("[data-window-h]")) {
    b.addEventListener("click", () => {
      const len = Number(b.dataset.windowH) * HOUR;
      const centre = tl.pick ?? playingMs() ?? (tl.start + tl.end) / 2;
      setWindow(centre - len / 2, len);
    });
  }
  document.getElementById("tl-prev").addEventListener("click", () => setWindow(tl.start - (tl.end - tl.start), tl.end - tl.start));
  document.getElementById("tl-next").addEventListener("click", () => setWindow(tl.end, tl.end - tl.start));
  setInterval(loadTimeline, 30e3);  // new footage at the live edge
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
  tl.cameraId = cameraId;
  tl.pick = null;
  tl.listKey = "";
  setWindow(at.getTime() - 12 * HOUR, 24 * HOUR);
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
  const ms = playingMs();
  if (ms !== null) {
    document.getElementById("pb-clock").textContent = `${new Date(ms).toLocaleString("fr-FR")} (×${speed})`;
  }
  followCursor();
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
  setupTimeline();
  const list = document.getElementById("pb-list");  // folded or not, as the operator left it
  if (localStorage.getItem("vigie.pb-list") === "closed") list.open = false;
  list.addEventListener("toggle", () => localStorage.setItem("vigie.pb-list", list.open ? "open" : "closed"));
  setInterval(tick, 250);
}

main();
