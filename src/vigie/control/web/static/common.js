// Shared by every page script: the French catalogue (/api/i18n), `t()` to use it,
// `api()` to call the JSON API with the session's CSRF token, `$` and `cell()`.
// Loaded first.
"use strict";

let T = {};
let csrf = "";

const $ = (sel) => document.querySelector(sel);

// A table cell holding text (or an element), appended to `row`; returns the cell.
function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.appendChild(content); else td.textContent = content;
  row.appendChild(td);
  return td;
}

function t(key, params = {}) {
  let s = T[key] || key;
  for (const [k, v] of Object.entries(params)) s = s.replace(`{${k}}`, v);
  return s;
}

async function api(path, options = {}) {
  const headers = Object.assign({"Content-Type": "application/json"}, options.headers || {});
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, Object.assign({}, options, {headers, credentials: "same-origin"}));
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new Error("401");
  }
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const err = new Error((body && body.error && body.error.message) || r.statusText);
    err.field = (body && body.error && body.error.field) || null;  // the input to point at
    throw err;
  }
  return body;
}
