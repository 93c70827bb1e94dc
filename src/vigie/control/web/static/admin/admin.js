// Shared helpers of the admin pages: the CSRF token, JSON and form requests,
// errors shown next to the field they name, table filters, print, sign-out.
// Every text shown comes from the page (French catalogue) or the server.
(function () {
  "use strict";
  let csrfToken = null;

  async function csrf() {
    if (csrfToken) return csrfToken;
    const cookie = (document.cookie.match(/(?:^|; )vigie_csrf=([^;]*)/) || [])[1];
    if (cookie) {
      csrfToken = decodeURIComponent(cookie);
    } else {
      const me = await fetch("/api/auth/me", { credentials: "same-origin" });
      csrfToken = me.ok ? (await me.json()).csrf : "";
    }
    return csrfToken;
  }

  // Send a request; body is an object (sent as JSON) or FormData. Returns
  // { ok, status, body } where body is the parsed JSON answer (or {}).
  async function send(method, url, body) {
    const headers = { "X-CSRF-Token": await csrf() };
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const res = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    if (res.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
    const data = await res.json().catch(() => ({}));
    return { ok: res.ok, status: res.status, body: data };
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach((e) => { e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }

  // Show an API error next to the field it names (error.field); returns true
  // when a field was found, so the caller shows the message elsewhere otherwise.
  function showFieldError(form, error) {
    const field = error && error.field;
    if (!field) return false;
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (!slot) return false;
    slot.textContent = error.message || "";
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    return true;
  }

  function money(value) {
    if (value === null || value === undefined || value === "") return "";
    return new Intl.NumberFormat(document.documentElement.lang || undefined, {
      style: "currency", currency: "EUR",
    }).format(Number(value));
  }

  // Table filters: text search, status, "only non-zero"; a counter shows N / total.
  function setupFilters() {
    const tables = new Set();
    document.querySelectorAll("[data-filter],[data-filter-status],[data-filter-nonzero]").forEach((c) => {
      tables.add(c.dataset.filter || c.dataset.filterStatus || c.dataset.filterNonzero);
    });
    tables.forEach((id) => {
      const table = document.getElementById(id);
      if (!table) return;
      const text = document.querySelector(`[data-filter="${id}"]`);
      const status = document.querySelector(`[data-filter-status="${id}"]`);
      const nonzero = document.querySelector(`[data-filter-nonzero="${id}"]`);
      const counter = document.querySelector(`[data-count-for="${id}"]`);
      const rows = [...table.tBodies[0].rows];
      function apply() {
        const q = text ? text.value.trim().toLowerCase() : "";
        const s = status ? status.value : "";
        let shown = 0;
        rows.forEach((r) => {
          const ok = (!q || r.textContent.toLowerCase().includes(q)) &&
            (!s || r.dataset.status === s) &&
            (!nonzero || !nonzero.checked || Number(r.dataset.value || 0) > 0);
          r.hidden = !ok;
          if (ok) shown += 1;
        });
        if (counter) {
          counter.textContent = counter.dataset.template
            .replace("{shown}", shown).replace("{total}", rows.length);
        }
      }
      [text, status, nonzero].forEach((c) => c && c.addEventListener("input", apply));
      apply();
    });
  }

  document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));
  document.querySelectorAll("[data-logout]").forEach((b) => b.addEventListener("click", async () => {
    await send("POST", "/api/auth/logout");
    location.href = "/login";
  }));
  setupFilters();

  window.VigieAdmin = { csrf, send, clearErrors, showFieldError, money };
})();
