// Vigie requisitions page: legal holds (create, list, release). French strings from /api/i18n.
"use strict";

let cameraNames = {};

function say(text, isError = false, id = "rq-message") {
  const m = document.getElementById(id);
  m.textContent = text || "";
  m.classList.toggle("error", !!isError);
}

const local = (iso) => new Date(iso).toLocaleString("fr-FR");

async function refreshExports() {
  const body = document.getElementById("ex-list");
  body.innerHTML = "";
  for (const x of await api("/api/transmissions")) {
    const tr = document.createElement("tr");
    cell(tr, String(x.id));
    cell(tr, cameraNames[x.camera_id] || String(x.camera_id));
    cell(tr, `${x.recipient} — ${x.service}`);
    cell(tr, `${local(x.start_utc)} → ${local(x.end_utc)}`);
    cell(tr, local(x.transmitted_at));
    cell(tr, local(x.expires_at));
    const files = document.createElement("span");
    for (const name of x.files) {
      const a = document.createElement("a");
      a.href = `/api/transmissions/${x.id}/files/${name}`;
      a.textContent = t(name === "video.mp4" ? "export.video" : "export.manifest");
      a.setAttribute("download", "");
      files.appendChild(a);
      files.appendChild(document.createTextNode(" "));
    }
    if (!x.files.includes("video.mp4")) files.appendChild(document.createTextNode(t("export.destroyed")));
    cell(tr, files);
    body.appendChild(tr);
  }
}

async function exportRange(ev) {
  ev.preventDefault();
  const f = ev.target;
  const data = Object.fromEntries(new FormData(f));
  const camera = Number(data.camera_id);
  const body = {
    start: new Date(data.start).toISOString(), end: new Date(data.end).toISOString(),
    recipient: data.recipient, service: data.service, reason: data.reason,
    requisition_id: data.requisition_id ? Number(data.requisition_id) : null,
  };
  say(t("export.running"), false, "ex-message");
  try {
    // Queued on the server (an export can take minutes): follow the job.
    let job = await api(`/api/cameras/${camera}/exports`, {method: "POST", body: JSON.stringify(body)});
    while (job.status === "queued" || job.status === "running") {
      say(job.status === "queued" ? t("export.queued")
        : t("export.progress", {percent: Math.floor(job.progress * 100)}), false, "ex-message");
      await new Promise((done) => setTimeout(done, 500));
      job = await api(`/api/exports/jobs/${job.job_id}`);
    }
    if (job.status === "failed") { say(job.error, true, "ex-message"); return; }
    say(t("export.created", {id: job.transmission_id, frames: job.frames}), false, "ex-message");
    refreshExports();
  } catch (e) { say(e.message, true, "ex-message"); }
}

async function refresh() {
  const rows = await api("/api/requisitions");
  const pick = document.getElementById("ex-requisition");
  pick.innerHTML = "";
  const none = document.createElement("option");
  none.value = ""; none.textContent = t("export.requisition.none");
  pick.appendChild(none);
  for (const r of rows.filter((r) => r.status === "active")) {
    const o = document.createElement("option");
    o.value = r.id; o.textContent = `${r.procedure_number} — ${r.officer}`;
    pick.appendChild(o);
  }
  const body = document.getElementById("rq-list");
  body.innerHTML = "";
  for (const r of rows) {
    const tr = document.createElement("tr");
    const cells = [r.procedure_number, `${r.officer} — ${r.service}`,
      `${new Date(r.start_utc).toLocaleString("fr-FR")} → ${new Date(r.end_utc).toLocaleString("fr-FR")}`,
      t(`requisition.status.${r.status}`)];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    const td = document.createElement("td");
    if (r.other_communes) {
      // It holds other communes' cameras too: only someone acting for all of them lifts it.
      td.textContent = t("requisition.other_communes");
    } else if (r.status === "active") {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = t("requisition.release");
      b.addEventListener("click", async () => {
        const reason = prompt(t("requisition.release_reason"));
        if (reason === null) return;
        try { await api(`/api/requisitions/${r.id}/release`, {method: "POST", body: JSON.stringify({reason})}); say(t("requisition.released")); refresh(); }
        catch (e) { say(e.message, true); }
      });
      td.appendChild(b);
    }
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

async function create(ev) {
  ev.preventDefault();
  const f = ev.target;
  const data = Object.fromEntries(new FormData(f));
  data.camera_ids = [...document.getElementById("rq-cameras").selectedOptions].map((o) => Number(o.value));
  data.start = new Date(data.start).toISOString();
  data.end = new Date(data.end).toISOString();
  try { await api("/api/requisitions", {method: "POST", body: JSON.stringify(data)}); say(t("requisition.created")); f.reset(); refresh(); }
  catch (e) { say(e.message, true); }
}

async function main() {
  T = await (await fetch("/api/i18n")).json();
  const me = await api("/api/auth/me");
  csrf = me.csrf;
  const cams = await api("/api/cameras");
  for (const id of ["rq-cameras", "ex-camera"]) {
    const sel = document.getElementById(id);
    for (const c of cams) {
      const o = document.createElement("option");
      o.value = c.id; o.textContent = c.name;
      sel.appendChild(o);
      cameraNames[c.id] = c.name;
    }
  }
  document.getElementById("rq-form").addEventListener("submit", create);
  document.getElementById("ex-form").addEventListener("submit", exportRange);
  refresh().catch((e) => say(e.message, true));
  refreshExports().catch((e) => say(e.message, true, "ex-message"));
}

main();
