// The sign-in form: posts /api/auth/login, then goes where the server said
// (form's data-next: a page of this application, checked server-side by
// navigation.safe_next) — checked again here: only this origin, else "/".
"use strict";

function sameOriginTarget(next) {
  let url;
  try { url = new URL(next || "/", location.origin); } catch (e) { return "/"; }
  if (url.origin !== location.origin || !url.pathname.startsWith("/")) return "/";
  return url.pathname + url.search;
}

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const f = new FormData(form);
  const r = await fetch("/api/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: f.get("username"), password: f.get("password"), totp: f.get("totp") || null})});
  if (r.ok) {
    location.href = sameOriginTarget(form.dataset.next);
  } else {
    const j = await r.json().catch(() => ({}));
    if (j.error && j.error.field === "totp") {
      const row = document.getElementById("totp-row");
      row.hidden = false;
      row.querySelector("input").focus();
    }
    document.getElementById("login-error").textContent = (j.error && j.error.message) || r.statusText;
  }
});
