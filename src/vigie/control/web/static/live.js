// Vigie live page: a grid of live cameras over fMP4 / WebSocket / MSE.
// Strings come from the French message catalogue (/api/i18n).
"use strict";

const LIVE_EDGE_MAX_LAG_S = 0.8;   // jump to the live edge beyond this
const LIVE_EDGE_TARGET_S = 0.15;
const KEEP_BEHIND_S = 10;          // trim the buffer behind the playhead

class LivePlayer {
  constructor(tile, camera, stream) {
    this.tile = tile; this.camera = camera; this.stream = stream;
    this.video = tile.querySelector("video");
    this.message = tile.querySelector(".message");
    this.queue = []; this.sb = null; this.ms = null; this.ws = null; this.mime = null;
    this.closed = false; this.started = false; this.retry = null; this.connection = null;
    this.timer = setInterval(() => this.keepLive(), 250);
    // A stall (the playhead reached a hole left by a server-side skip, or the
    // end of what arrived) is handled at once, not on the next tick.
    this.video.addEventListener("waiting", () => this.keepLive());
    this.video.addEventListener("error", () => this.fail());
  }

  say(text, isError = false) {
    this.message.textContent = text || "";
    this.message.classList.toggle("error", !!isError);
  }

  async start() {
    if (this.closed) return;
    if (!window.MediaSource) { this.say(t("live.mse_unsupported"), true); return; }
    this.say(t("live.connecting"));
    let ticket;
    try {
      ticket = await api(`/api/cameras/${this.camera.id}/tickets`, {method: "POST", body: JSON.stringify({stream: this.stream, purpose: "live"})});
    } catch (e) { this.say(e.message, true); this.scheduleRetry(); return; }
    if (this.closed) return;  // the tile went away while the ticket was on its way
    if (!ticket.live_playable) { this.say(ticket.message, true); this.tile.dataset.unsupported = "1"; return; }
    this.openSocket(ticket.url);
  }

  openSocket(url) {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      if (typeof ev.data === "string") this.onControl(JSON.parse(ev.data));
      else this.enqueue(ev.data);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws || this.closed || ev.code === 4415 || ev.code === 4403) return;
      this.say(t("live.reconnecting"));
      this.scheduleRetry();
    };
  }

  scheduleRetry() {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => { this.retry = null; this.start(); }, 1500);
  }

  // The decoder or the source buffer gave up (corrupt data, decode error):
  // start again from a fresh connection, hence a fresh keyframe and MediaSource.
  fail() {
    if (this.closed) return;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.resetSource();
    this.say(t("live.reconnecting"));
    this.scheduleRetry();
  }

  onControl(msg) {
    if (msg.type === "init") {
      this.tile.dataset.width = msg.width; this.tile.dataset.height = msg.height;
      this.setupSource(msg.mime);
    } else if (msg.type === "error") {
      this.say(msg.message, true);
      if (msg.code === "codec_unsupported") this.tile.dataset.unsupported = "1";
    } else if (msg.type === "status") {
      this.say(msg.message);
    }
  }

  setupSource(mime) {
    if (!MediaSource.isTypeSupported(mime)) { this.say(t("live.mse_unsupported"), true); return; }
    // Same connection, new codec configuration (resolution change): the init
    // segment that follows is appended to the same SourceBuffer.
    if (this.ms && this.connection === this.ws) {
      if (this.sb && this.mime !== mime && this.sb.changeType) this.sb.changeType(mime);
      this.mime = mime;
      return;
    }
    // A new connection gets a new MediaSource: after a media process restart
    // the timestamps start again from zero, and appended to the old buffer they
    // would land behind the playhead while the picture stays frozen.
    this.resetSource();
    this.connection = this.ws;
    this.mime = mime;
    const ms = this.ms = new MediaSource();
    this.video.src = URL.createObjectURL(ms);
    ms.addEventListener("sourceopen", () => {
      if (ms !== this.ms) return;
      URL.revokeObjectURL(this.video.src);
      this.sb = ms.addSourceBuffer(this.mime);
      this.sb.mode = "segments";
      this.sb.addEventListener("updateend", () => { this.catchUp(); this.pump(); });
      this.sb.addEventListener("error", () => this.fail());
      this.pump();
    }, {once: true});
  }

  resetSource() {
    this.ms = null; this.sb = null; this.connection = null; this.started = false;
    this.queue = [];
    if (this.video.getAttribute("src")) {
      this.video.removeAttribute("src"); this.video.load();
    }
  }

  enqueue(buf) { this.queue.push(buf); this.pump(); }

  pump() {
    if (!this.sb || this.sb.updating || !this.queue.length) return;
    try {
      this.sb.appendBuffer(this.queue[0]);
      this.queue.shift();  // only once taken: a refused fragment is retried, not lost
    } catch (e) {
      if (e.name === "QuotaExceededError") this.trim(1);
      else this.fail();
    }
  }

  // The live edge, but never before the newest buffered range: after the
  // server skips a slow viewer to the newest keyframe, that range may be
  // shorter than the target and a jump before it would land in the hole.
  liveEdge() {
    const b = this.video.buffered, last = b.length - 1;
    return {start: b.start(last), end: b.end(last),
            edge: Math.max(b.start(last), b.end(last) - LIVE_EDGE_TARGET_S)};
  }

  // Jump to the live edge when the playhead fell behind. Checked on every
  // append as well as on the timer: on a loaded machine timers run late,
  // appends do not wait for them.
  catchUp() {
    const v = this.video;
    if (!this.started || !this.sb || !v.buffered.length) return;
    const {start, end, edge} = this.liveEdge();
    if (end - v.currentTime > LIVE_EDGE_MAX_LAG_S || v.currentTime < start) v.currentTime = edge;
  }

  keepLive() {
    const v = this.video;
    if (!this.sb || !v.buffered.length) return;
    if (!this.started) {
      this.started = true; this.say("");
      v.currentTime = this.liveEdge().edge;
      v.play().catch(() => {});
      return;
    }
    this.catchUp();
    if (v.paused) v.play().catch(() => {});
    this.trim(KEEP_BEHIND_S);
  }

  trim(keep) {
    const v = this.video;
    if (!this.sb || this.sb.updating || !v.buffered.length) return;
    const start = v.buffered.start(0);
    if (v.currentTime - start > keep + 5 || (keep < KEEP_BEHIND_S && v.currentTime - start > keep)) {
      try { this.sb.remove(start, v.currentTime - keep); } catch (e) { /* retried next tick */ }
    }
  }

  close() {
    this.closed = true;
    clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.resetSource();
  }
}

const players = new Map();  // camera id -> LivePlayer
let cameras = [];

function stateOf(cam) {
  const s = cam.status[cam.sub_url ? "sub" : "main"] || cam.status.main;
  return s ? s.state : "starting";
}

function renderList() {
  const q = document.getElementById("filter").value.toLowerCase();
  const ul = document.getElementById("cameras");
  ul.innerHTML = "";
  let commune = null;
  for (const cam of cameras) {
    if (q && !(cam.name.toLowerCase().includes(q) || cam.commune_name.toLowerCase().includes(q))) continue;
    if (cam.commune_name !== commune) {
      commune = cam.commune_name;
      const li = document.createElement("li"); li.className = "commune"; li.textContent = commune; ul.appendChild(li);
    }
    const li = document.createElement("li"); li.className = "cam";
    const st = cam.status.main || {};
    const label = document.createElement("label");
    const box = document.createElement("input"); box.type = "checkbox"; box.checked = players.has(cam.id);
    box.dataset.cameraId = cam.id;
    box.addEventListener("change", () => box.checked ? openTile(cam, "sub") : closeTile(cam.id));
    const dot = document.createElement("span"); dot.className = "dot " + stateOf(cam);
    dot.title = t("live.state." + stateOf(cam)) + (st.message ? " — " + st.message : "");
    const name = document.createElement("span"); name.textContent = cam.name;
    label.append(box, dot, name);
    if (st.codec && st.live_playable === false) {
      const b = document.createElement("span"); b.className = "badge"; b.textContent = st.codec.toUpperCase(); label.append(b);
    }
    li.appendChild(label); ul.appendChild(li);
  }
}

function openTile(cam, stream) {
  if (players.has(cam.id)) return;
  const tile = document.createElement("div");
  tile.className = "tile"; tile.dataset.cameraId = cam.id;
  tile.innerHTML = `<video muted playsinline></video><div class="caption"><span class="name"></span><span><button class="single" title="${t("live.single")}">⤢</button><button class="close" title="${t("live.close")}">×</button></span></div><div class="message"></div>`;
  tile.querySelector(".name").textContent = `${cam.name} — ${cam.commune_name}`;
  tile.querySelector(".close").addEventListener("click", () => { closeTile(cam.id); renderList(); });
  tile.querySelector(".single").addEventListener("click", () => openSingle(cam));
  document.getElementById("grid").appendChild(tile);
  const p = new LivePlayer(tile, cam, stream);
  // The camera's privacy masks, black over the picture (kept current by refresh()).
  p.masks = new MaskOverlay(p.video, cam.privacy_masks);
  players.set(cam.id, p);
  p.start();
}

function closeTile(id) {
  const p = players.get(id);
  if (!p) return;
  p.close(); p.masks.remove(); p.tile.remove(); players.delete(id);
}

function openSingle(cam) {
  // Single view uses the main stream.
  const ids = [...players.keys()];
  for (const id of ids) closeTile(id);
  document.getElementById("grid-size").value = "1";
  setGrid(1);
  openTile(cam, "main");
  renderList();
}

function setGrid(n) { document.getElementById("grid").className = "grid grid-" + n; }

async function refresh() {
  try { cameras = await api("/api/cameras"); } catch (e) { return; /* shown on next refresh */ }
  renderList();
  for (const cam of cameras) {
    const p = players.get(cam.id);
    if (p) p.masks.set(cam.privacy_masks);  // an edit reaches open tiles within 3 s
  }
}

async function main() {
  T = await (await fetch("/api/i18n")).json();
  const me = await api("/api/auth/me");
  csrf = me.csrf;
  document.getElementById("whoami").textContent = me.display_name || me.username;
  document.getElementById("filter").addEventListener("input", renderList);
  document.getElementById("grid-size").addEventListener("change", (e) => setGrid(e.target.value));
  await refresh();
  const wanted = new URLSearchParams(location.search).get("cameras");
  if (wanted) {
    for (const id of wanted.split(",").map(Number)) {
      const cam = cameras.find((c) => c.id === id);
      if (cam) openTile(cam, new URLSearchParams(location.search).get("stream") || "sub");
    }
    renderList();
  }
  setInterval(refresh, 3000);
}

main();
