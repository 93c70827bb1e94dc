// Privacy-mask editor (/masques, CSI L251-3): the camera's picture (a snapshot
// taken with a ticket, when the account may see images) under an SVG where
// the zones are drawn point by point. Coordinates are fractions of the
// picture ([0, 1], x from the left, y from the top), as the API stores them.
// "Enregistrer" sends every zone with a reason; the API checks the right, the
// zones and the reason again and answers in French.
"use strict";

const NS = "http://www.w3.org/2000/svg";
const MAX_POINTS = 64, MAX_MASKS = 32;
const CLOSE_RADIUS_PX = 10;  // a click this close to the first point closes the zone

let cameras = [];
let current = null;   // the camera's masks as the API gave them last
let masks = [];       // the zones being edited ({label, points})
let pending = [];     // the points of the zone being drawn
let loadSeq = 0;      // the camera shown (a late answer for another is dropped)
let mayPicture = false;  // the account may see snapshots (else the neutral frame)

function say(el, text, ok = false) {
  el.textContent = text;
  el.className = ok ? "ok" : "error";
}

function svgEl(name, attrs) {
  const el = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function round(v) { return Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000; }

function editable() { return !!(current && current.can_edit); }

function markDirty() {
  $("#mk-message").textContent = t("masks.page.unsaved");
  $("#mk-message").className = "help";
}

// ---- drawing --------------------------------------------------------------

function draw() {
  const g = $("#mk-masks");
  g.textContent = "";
  masks.forEach((m, i) => {
    const p = svgEl("polygon", {class: "mask", points: m.points.map(([x, y]) => `${x},${y}`).join(" ")});
    p.dataset.index = i;
    const title = svgEl("title", {});
    title.textContent = m.label;
    p.appendChild(title);
    g.appendChild(p);
  });
  const pg = $("#mk-pending");
  pg.textContent = "";
  if (pending.length) {
    pg.appendChild(svgEl("polyline", {class: "pending", points: pending.map(([x, y]) => `${x},${y}`).join(" ")}));
    // Circles in a 0..1 viewBox stretched to the stage would be ellipses: the
    // vertices are sized in pixels from the stage's box.
    const r = $("#mk-canvas").getBoundingClientRect();
    pending.forEach(([x, y], i) => {
      pg.appendChild(svgEl("ellipse", {
        class: "vertex" + (i === 0 ? " first" : ""), cx: x, cy: y,
        rx: 5 / Math.max(1, r.width), ry: 5 / Math.max(1, r.height),
      }));
    });
  }
  const n = pending.length;
  $("#mk-drawing").textContent = n ? t("masks.page.drawing", {count: n, max: MAX_POINTS}) : "";
  $("#mk-close").disabled = n < 3;
  $("#mk-undo").disabled = n === 0;
  $("#mk-cancel").disabled = n === 0;
  $("#mk-clear").disabled = !masks.length && !n;
  renderList();
}

function renderList() {
  const body = $("#mk-list tbody");
  body.textContent = "";
  masks.forEach((m, i) => {
    const tr = document.createElement("tr");
    tr.dataset.mask = i;
    if (editable()) {
      const input = document.createElement("input");
      input.type = "text"; input.maxLength = 100; input.value = m.label;
      input.setAttribute("aria-label", t("masks.page.label_of", {n: i + 1}));
      input.addEventListener("change", () => { m.label = input.value.trim() || t("masks.page.default_label", {n: i + 1}); draw(); markDirty(); });
      cell(tr, input);
    } else {
      cell(tr, m.label);
    }
    cell(tr, String(m.points.length));
    const actions = cell(tr, "");
    if (editable()) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "secondary";
      b.textContent = t("masks.page.delete");
      b.setAttribute("aria-label", t("masks.page.delete_label", {label: m.label}));
      b.addEventListener("click", () => { masks.splice(i, 1); draw(); markDirty(); });
      actions.appendChild(b);
    }
    body.appendChild(tr);
  });
  if (!masks.length) {
    const tr = document.createElement("tr");
    cell(tr, t("masks.page.no_mask")).colSpan = 3;
    body.appendChild(tr);
  }
}

function closeZone() {
  if (pending.length < 3) { $("#mk-drawing").textContent = t("masks.page.need_three"); return; }
  if (masks.length >= MAX_MASKS) { $("#mk-drawing").textContent = t("masks.page.max_masks", {max: MAX_MASKS}); return; }
  const label = $("#mk-label").value.trim() || t("masks.page.default_label", {n: masks.length + 1});
  masks.push({label, points: pending});
  pending = [];
  $("#mk-label").value = "";
  draw();
  markDirty();
}

function onCanvasClick(ev) {
  if (!editable()) return;
  const r = $("#mk-canvas").getBoundingClientRect();
  if (!r.width || !r.height) return;
  const px = ev.clientX - r.left, py = ev.clientY - r.top;
  if (pending.length >= 3) {
    const [x0, y0] = pending[0];
    if (Math.hypot(px - x0 * r.width, py - y0 * r.height) <= CLOSE_RADIUS_PX) { closeZone(); return; }
  }
  if (pending.length >= MAX_POINTS) { $("#mk-drawing").textContent = t("masks.page.max_points", {max: MAX_POINTS}); return; }
  pending.push([round(px / r.width), round(py / r.height)]);
  draw();
}

// ---- the camera's picture -------------------------------------------------

function noPicture() {
  $("#mk-picture").hidden = true;
  $("#mk-grid").style.display = "";
  $("#mk-stage").style.aspectRatio = "";  // 16:9
  $("#mk-picture-note").textContent = t("masks.page.no_picture");
  $("#mk-stage").dataset.picture = "none";
}

async function loadPicture(cameraId, seq) {
  const img = $("#mk-picture");
  img.hidden = true;
  $("#mk-stage").dataset.picture = "loading";
  $("#mk-picture-note").textContent = t("masks.page.loading_picture");
  let ticket;
  try {
    ticket = await api(`/api/cameras/${cameraId}/tickets`, {method: "POST", body: JSON.stringify(
      {stream: "main", purpose: "snapshot", reason: t("masks.page.snapshot_reason")})});
  } catch (e) {  // no right to the images (administrator…), or no such camera
    if (seq === loadSeq) noPicture();
    return;
  }
  if (seq !== loadSeq) return;
  img.onload = () => {
    if (seq !== loadSeq) return;
    // The stage takes the picture's proportions, so fractions of the stage are fractions of the picture.
    $("#mk-stage").style.aspectRatio = `${img.naturalWidth} / ${img.naturalHeight}`;
    img.hidden = false;
    $("#mk-grid").style.display = "none";
    $("#mk-picture-note").textContent = "";
    $("#mk-stage").dataset.picture = "shown";
    draw();
  };
  img.onerror = () => { if (seq === loadSeq) noPicture(); };  // camera offline
  img.src = ticket.url;
}

// ---- camera, save ---------------------------------------------------------

async function loadCamera() {
  const id = Number($("#mk-camera").value);
  const seq = ++loadSeq;
  say($("#mk-load-error"), "");
  say($("#mk-error"), "");
  $("#mk-message").textContent = "";
  pending = [];
  let got;
  try { got = await api(`/api/cameras/${id}/privacy-masks`); }
  catch (e) {
    if (seq === loadSeq) say($("#mk-load-error"), t("masks.page.load_error", {error: e.message}));
    return;
  }
  if (seq !== loadSeq) return;
  show(got);
  if (mayPicture) loadPicture(id, seq);  // the same rule as the ticket route (/api/auth/me)
  else noPicture();
}

function show(got) {
  current = got;
  masks = got.masks.map((m) => ({label: m.label, points: m.points.map(([x, y]) => [x, y])}));
  pending = [];
  const right = $("#mk-right");
  right.textContent = got.can_edit ? t("masks.page.can_edit") : t("masks.page.read_only");
  right.className = got.can_edit ? "ok" : "help";
  $("#mk-tools").hidden = !got.can_edit;
  $("#mk-form").hidden = !got.can_edit;
  $("#mk-stage").classList.toggle("editable", got.can_edit);
  draw();
}

async function save(ev) {
  ev.preventDefault();
  const error = $("#mk-error"), reason = $("#mk-reason");
  reason.removeAttribute("aria-invalid");
  try {
    const got = await api(`/api/cameras/${current.camera_id}/privacy-masks`,
      {method: "PUT", body: JSON.stringify({masks, reason: reason.value})});
    say(error, "");
    reason.value = "";
    show(got);
    say($("#mk-message"), t("masks.page.saved", {camera: got.name, count: got.masks.length}), true);
  } catch (e) {
    say(error, e.message);
    if (e.field === "reason") { reason.setAttribute("aria-invalid", "true"); reason.focus(); }
  }
}

async function main() {
  T = await (await fetch("/api/i18n")).json();
  const me = await api("/api/auth/me");
  csrf = me.csrf;
  mayPicture = (me.may || []).includes("snapshot");
  $("#whoami").textContent = me.display_name || me.username;
  cameras = await api("/api/cameras");
  const sel = $("#mk-camera");
  for (const c of cameras) {
    const o = document.createElement("option");
    o.value = c.id; o.textContent = `${c.commune_name} — ${c.name}`;
    sel.appendChild(o);
  }
  if (!cameras.length) { say($("#mk-load-error"), t("masks.page.no_camera")); return; }
  const wanted = new URLSearchParams(location.search).get("camera");
  if (wanted && cameras.some((c) => String(c.id) === wanted)) sel.value = wanted;
  sel.addEventListener("change", loadCamera);
  $("#mk-canvas").addEventListener("click", onCanvasClick);
  $("#mk-close").addEventListener("click", closeZone);
  $("#mk-undo").addEventListener("click", () => { pending.pop(); draw(); });
  $("#mk-cancel").addEventListener("click", () => { pending = []; draw(); });
  $("#mk-clear").addEventListener("click", () => {
    if (!confirm(t("masks.page.confirm_clear"))) return;
    masks = []; pending = []; draw(); markDirty();
  });
  $("#mk-form").addEventListener("submit", save);
  new ResizeObserver(() => { if (pending.length) draw(); }).observe($("#mk-stage"));
  await loadCamera();
}

main();
