// Continuity settings page: notification contacts (administrator) and the
// image checks of each camera (thresholds edited by the administrator, a new
// reference picture asked by any supervisor). The API checks every action
// again; errors are its French messages, shown next to the form concerned.
"use strict";

function say(el, text, ok = false) {
  el.textContent = text;
  el.className = ok ? "ok" : "error";
}

function paris(iso) {
  return new Date(iso).toLocaleString("fr-FR", {timeZone: "Europe/Paris", dateStyle: "short", timeStyle: "medium"});
}

function frNumber(value) {
  return Number(value).toLocaleString("fr-FR", {maximumFractionDigits: 6});
}

// Marks the input the API named (aria-invalid, focus); clears the others.
function pointAt(form, field) {
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const input = field && form.elements.namedItem(field);
  if (input && input.focus) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

// ---- contacts -------------------------------------------------------------

function communeNames() {
  const names = {};
  for (const o of $("#contact-commune").options) if (o.value) names[o.value] = o.textContent;
  return names;
}

async function loadContacts() {
  const names = communeNames();
  const list = await api("/api/continuity/contacts");
  const body = $("#contacts tbody");
  body.textContent = "";
  for (const c of list) {
    const tr = document.createElement("tr");
    tr.dataset.contact = c.id;
    cell(tr, c.commune_insee ? (names[c.commune_insee] || c.commune_insee) : t("continuity.settings.centre"));
    cell(tr, c.label || "—");
    cell(tr, c.email || "—");
    cell(tr, c.webhook_url ? `${c.webhook_url}${c.has_secret ? " (" + t("continuity.settings.signed") + ")" : ""}` : "—");
    cell(tr, t("continuity.severity." + c.min_severity));
    const who = c.label || c.email || c.webhook_url;
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = t("continuity.settings.delete");
    b.setAttribute("aria-label", t("continuity.settings.delete_label", {who}));
    b.addEventListener("click", async () => {
      if (!confirm(t("continuity.settings.confirm_delete", {who}))) return;
      try {
        await api(`/api/continuity/contacts/${c.id}`, {method: "DELETE"});
        await loadContacts();
        say($("#contacts-message"), t("continuity.settings.contact_deleted"), true);
      } catch (e) { say($("#contacts-message"), e.message); }
    });
    cell(tr, "").appendChild(b);
    body.appendChild(tr);
  }
  if (!list.length) {
    const tr = document.createElement("tr");
    cell(tr, t("continuity.settings.no_contact")).colSpan = 6;
    body.appendChild(tr);
  }
}

function setupContactForm() {
  const form = $("#contact-form");
  const error = $("#contact-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (name) => form.elements.namedItem(name).value.trim();
    const payload = {
      commune_insee: value("commune_insee") || null,
      label: value("label"),
      email: value("email") || null,
      webhook_url: value("webhook_url") || null,
      webhook_secret: form.elements.namedItem("webhook_secret").value || null,
      min_severity: value("min_severity"),
    };
    try {
      await api("/api/continuity/contacts", {method: "POST", body: JSON.stringify(payload)});
      say(error, "");
      pointAt(form, null);
      form.reset();
      await loadContacts();
      say($("#contacts-message"), t("continuity.settings.contact_added"), true);
    } catch (e) {
      say(error, e.message);
      pointAt(form, e.field);
    }
  });
}

// ---- image checks ---------------------------------------------------------

let current = null;  // the settings of the camera shown, as the API gave them

function showReference(s) {
  const state = $("#reference-state");
  if (s.reference_pending) state.textContent = t("continuity.settings.reference_pending", {at: paris(s.reference_requested_at)});
  else if (s.reference_taken_at) state.textContent = t("continuity.settings.reference_taken", {at: paris(s.reference_taken_at)});
  else state.textContent = t("continuity.settings.reference_none");
}

function showChecks(s) {
  current = s;
  const form = $("#checks-form");
  for (const k of ["enabled", "close_up", "fast_moving"]) form.elements.namedItem(k).checked = s[k];
  for (const input of form.querySelectorAll("input[data-threshold]")) {
    const name = input.dataset.threshold;
    input.value = String(s.effective[name]);
    input.removeAttribute("aria-invalid");
    $(`#th-${name}-default`).textContent = t("continuity.settings.default", {value: frNumber(s.defaults[name])});
  }
  showReference(s);
}

async function loadChecks() {
  const id = $("#checks-camera").value;
  say($("#checks-error"), "");
  $("#checks-message").textContent = "";
  $("#reference-message").textContent = "";
  try { showChecks(await api(`/api/continuity/cameras/${id}/checks`)); }
  catch (e) { say($("#checks-error"), e.message); }
}

function setupChecks() {
  const form = $("#checks-form");
  $("#checks-camera").addEventListener("change", loadChecks);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = $("#checks-error");
    const thresholds = {};
    for (const input of form.querySelectorAll("input[data-threshold]")) {
      const name = input.dataset.threshold;
      if (input.validity.badInput) {  // not a number: the browser gives no value at all
        say(error, t("continuity.settings.err_number", {field: name}));
        pointAt(form, name);
        return;
      }
      if (input.value === "") continue;  // empty: the default
      const n = Number(input.value);
      if (n !== current.defaults[name]) thresholds[name] = n;  // defaults are not pinned
    }
    const payload = {
      enabled: form.elements.namedItem("enabled").checked,
      close_up: form.elements.namedItem("close_up").checked,
      fast_moving: form.elements.namedItem("fast_moving").checked,
      thresholds,
    };
    try {
      const s = await api(`/api/continuity/cameras/${current.camera_id}/checks`,
        {method: "PUT", body: JSON.stringify(payload)});
      say(error, "");
      pointAt(form, null);
      showChecks(s);
      say($("#checks-message"), t("continuity.settings.checks_saved", {camera: s.name}), true);
    } catch (e) {
      say(error, e.message);
      pointAt(form, e.field);
    }
  });
  $("#reference-refresh").addEventListener("click", async () => {
    const msg = $("#reference-message");
    try {
      const r = await api(`/api/continuity/cameras/${current.camera_id}/reference`, {method: "POST"});
      say(msg, t("continuity.settings.reference_requested", {at: paris(r.requested_at)}), true);
      showReference(await api(`/api/continuity/cameras/${current.camera_id}/checks`));
    } catch (e) { say(msg, e.message); }
  });
}

async function main() {
  T = await (await fetch("/api/i18n")).json();
  const me = await api("/api/auth/me");
  csrf = me.csrf;
  $("#whoami").textContent = me.display_name || me.username;
  if ($("#contact-form")) {
    setupContactForm();
    try { await loadContacts(); } catch (e) { say($("#contacts-message"), e.message); }
  }
  if ($("#checks-camera")) {
    setupChecks();
    await loadChecks();
  }
}

main();
