// Vigie requisitions page: legal holds (create, list, release). French strings from /api/i18n.
"use strict";

function say(text, isError = false) {
  const m = document.getElementById("rq-message");
  m.textContent = text || "";
  m.classList.toggle("error", !!isError);
}

async function refresh() {
  const rows = await api("/api/requisitions");
  const body = document.getElementById("rq-list");
  body.innerHTML = "";
  for (const r of rows) {
    const tr = document.createElement("tr");
    const cells = [r.procedure_number, `${r.officer} — ${r.service}`,
      `${new Date(r.start_utc).toLocaleString("fr-FR")} → ${new Date(r.end_utc).toLocaleString("fr-FR")}`,
      t(`requisition.status.${r.status}`)];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    const td = document.createElement("td");
    if (r.status === "active") {
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
  const sel = document.getElementById("rq-cameras");
  for (const c of await api("/api/cameras")) {
    const o = document.createElement("option");
    o.value = c.id; o.textContent = c.name;
    sel.appendChild(o);
  }
  document.getElementById("rq-form").addEventListener("submit", create);
  refresh().catch((e) => say(e.message, true));
}

main();
