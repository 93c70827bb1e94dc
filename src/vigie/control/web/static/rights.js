// Rights page: delegations (mayors grant and revoke), authorisations and their
// alerts, agréments (administrator), audit export, one's own second factor.
// Every action is checked again by the API; this page only shows what it allows.
"use strict";

function say(text, ok = false) {
  const p = $("#rights-message");
  p.textContent = text;
  p.className = ok ? "ok" : "error";
}

function paris(iso) {
  return new Date(iso).toLocaleString("fr-FR", {timeZone: "Europe/Paris", dateStyle: "short", timeStyle: "short"});
}

async function loadDelegations(me, communes) {
  const list = await api("/api/delegations");
  const body = $("#delegations tbody");
  body.textContent = "";
  for (const d of list) {
    const tr = document.createElement("tr");
    cell(tr, communes[d.commune_insee] || d.commune_insee);
    cell(tr, t("rights.grantee." + d.grantee));
    cell(tr, d.label);
    cell(tr, d.windows_fr.join(", ") || "—");
    cell(tr, d.spans.map((s) => `${paris(s.start)} → ${paris(s.end)}`).join(", ") || "—");
    cell(tr, d.revoked_at ? t("rights.revoked", {at: paris(d.revoked_at)}) : t("rights.active"));
    const td = cell(tr, "");
    if (!d.revoked_at && (me.role === "commune_authority" || me.role === "metro_admin")) {
      const b = document.createElement("button");
      b.textContent = t("rights.revoke");
      b.addEventListener("click", async () => {
        const reason = prompt(t("rights.revoke_reason"));
        if (reason === null) return;
        try {
          await api(`/api/delegations/${d.id}/revoke`, {method: "POST", body: JSON.stringify({reason})});
          say(t("rights.saved"), true);
          await loadDelegations(me, communes);
        } catch (e) { say(e.message); }
      });
      td.appendChild(b);
    }
    body.appendChild(tr);
  }
  if (!list.length) { const tr = document.createElement("tr"); cell(tr, t("rights.none")); body.appendChild(tr); }
}

function fillCommunes(select, codes, communes, withAll) {
  select.textContent = "";
  if (withAll) select.appendChild(new Option("—", ""));
  for (const c of codes) select.appendChild(new Option(communes[c] || c, c));
}

async function loadAuthorisations(communes) {
  const [list, alerts] = await Promise.all([api("/api/authorisations"), api("/api/authorisations/alerts")]);
  const body = $("#authorisations tbody");
  body.textContent = "";
  for (const a of list) {
    const tr = document.createElement("tr");
    cell(tr, communes[a.commune_insee] || a.commune_insee);
    cell(tr, a.number);
    cell(tr, new Date(a.expires_on).toLocaleDateString("fr-FR"));
    cell(tr, `${a.retention_min_days}–${a.retention_max_days}`);
    cell(tr, String(a.camera_ids.length));
    cell(tr, a.valid_today ? t("rights.active") : "—");
    body.appendChild(tr);
  }
  const ul = $("#alerts");
  ul.textContent = "";
  for (const a of alerts.authorisations) {
    const li = document.createElement("li");
    li.textContent = `${a.level} · ${a.number} (${communes[a.commune_insee] || a.commune_insee}) : ${new Date(a.expires_on).toLocaleDateString("fr-FR")}`;
    ul.appendChild(li);
  }
  if (alerts.cameras_without_valid_authorisation.length) {
    const li = document.createElement("li");
    li.textContent = t("rights.no_valid_auth") + " " +
      alerts.cameras_without_valid_authorisation.map((c) => c.name).join(", ");
    ul.appendChild(li);
  }
}

async function loadAgrements() {
  const list = await api("/api/agrements");
  const body = $("#agrements tbody");
  body.textContent = "";
  for (const a of list) {
    const tr = document.createElement("tr");
    cell(tr, a.reference);
    cell(tr, "#" + a.account_id);
    cell(tr, new Date(a.expires_on).toLocaleDateString("fr-FR"));
    cell(tr, a.status + (a.valid_now ? "" : " ✗"));
    const td = cell(tr, "");
    for (const [status, label] of [["suspended", "rights.suspend"], ["withdrawn", "rights.withdraw"], ["valid", "rights.reinstate"]]) {
      if (status === a.status) continue;
      const b = document.createElement("button");
      b.textContent = t(label);
      b.addEventListener("click", async () => {
        const reason = prompt(t("rights.status_reason"));
        if (reason === null) return;
        try {
          await api(`/api/agrements/${a.id}`, {method: "PATCH", body: JSON.stringify({status, status_reason: reason})});
          say(t("rights.saved"), true);
          await loadAgrements();
        } catch (e) { say(e.message); }
      });
      td.appendChild(b);
    }
    body.appendChild(tr);
  }
}

function setupDelegationForm(me, communes, codes) {
  const form = $("#new-delegation");
  form.hidden = false;
  fillCommunes(form.commune, codes, communes, false);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const days = [...form.querySelectorAll("input[name=day]:checked")].map((i) => Number(i.value));
    const windows = days.map((weekday) => ({weekday, start: form.start.value, end: form.end.value}));
    const spans = form.span_start.value && form.span_end.value
      ? [{start: new Date(form.span_start.value).toISOString(), end: new Date(form.span_end.value).toISOString()}] : [];
    try {
      await api("/api/delegations", {method: "POST", body: JSON.stringify({
        commune_insee: form.commune.value, grantee: form.grantee.value, label: form.label.value, windows, spans})});
      say(t("rights.saved"), true);
      form.reset();
      await loadDelegations(me, communes);
    } catch (e) { say(e.message); }
  });
}

function setupAudit(me, communes, codes) {
  const form = $("#audit-export");
  fillCommunes(form.commune, codes, communes, me.role !== "commune_authority");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const start = new Date(form.start.value + "T00:00:00").toISOString();
    const end = new Date(new Date(form.end.value + "T00:00:00").getTime() + 86400000).toISOString();
    const q = new URLSearchParams({start, end, format: form.format.value});
    if (form.commune.value) q.set("commune", form.commune.value);
    location.href = "/api/audit?" + q;
  });
}

function setupSecurity(me) {
  $("#totp-state").textContent = me.totp_enabled ? t("rights.totp_on")
    : t("rights.totp_off") + (me.totp_enrolment_required ? " " + t("rights.totp_required") : "");
  const start = $("#totp-start");
  start.hidden = me.totp_enabled;
  start.addEventListener("click", async () => {
    try {
      const s = await api("/api/auth/totp/setup", {method: "POST"});
      $("#totp-secret").textContent = s.secret.replace(/(.{4})/g, "$1 ").trim();
      $("#totp-confirm").hidden = false;
    } catch (e) { say(e.message); }
  });
  $("#totp-confirm").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const m = await api("/api/auth/totp/confirm", {method: "POST", body: JSON.stringify({code: ev.target.code.value})});
      $("#totp-confirm").hidden = true;
      setupSecurity(m);
      say(t("rights.saved"), true);
    } catch (e) { say(e.message); }
  });
  $("#logout-all").addEventListener("click", async () => {
    await api("/api/auth/logout-everywhere", {method: "POST"}).catch(() => null);
    location.href = "/login";
  });
}

async function main() {
  T = await (await fetch("/api/i18n")).json();
  const me = await api("/api/auth/me");
  csrf = me.csrf;
  $("#whoami").textContent = me.display_name || me.username;
  const communeList = await api("/api/communes");
  const communes = Object.fromEntries(communeList.map((c) => [c.insee_code, c.name]));
  const admin = me.role === "metro_admin";
  const mayor = me.role === "commune_authority";
  const codes = admin || me.role === "auditor" ? communeList.map((c) => c.insee_code) : me.communes;
  try {
    if (admin || mayor || me.role.startsWith("cmsu_") || me.role === "auditor") {
      $("#delegations-card").hidden = false;
      await loadDelegations(me, communes);
      if (admin || mayor) setupDelegationForm(me, communes, codes);
    }
    if (admin || mayor || me.role === "auditor" || me.role === "project_team") {
      $("#authorisations-card").hidden = false;
      await loadAuthorisations(communes);
    }
    if (admin) { $("#agrements-card").hidden = false; await loadAgrements(); }
    if (admin || mayor || me.role === "auditor") { $("#audit-card").hidden = false; setupAudit(me, communes, codes); }
  } catch (e) { say(e.message); }
  setupSecurity(me);
}

main();
