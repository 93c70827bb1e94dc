// The alarm queue (/alarmes): acknowledge, assign, comment, then reload.
"use strict";

(async () => {
  const T = await (await fetch("/api/i18n")).json();
  const me = await (await fetch("/api/auth/me")).json();
  document.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", async () => {
    const id = b.closest("tr").dataset.alarm, action = b.dataset.action;
    let body = null;
    if (action === "assign") { const who = prompt(T["continuity.page.prompt_assign"]); if (!who) return; body = {assignee: who}; }
    if (action === "comment") { const text = prompt(T["continuity.page.prompt_comment"]); if (!text) return; body = {text}; }
    const r = await fetch(`/api/continuity/alarms/${id}/${action}`, {method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": me.csrf}, body: body ? JSON.stringify(body) : null});
    if (!r.ok) {
      const j = await r.json().catch(() => ({}));
      alert((j.error && j.error.message) || T["continuity.page.error"]);
      return;
    }
    location.reload();
  }));
})();
