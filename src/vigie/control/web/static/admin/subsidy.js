// Fonds de concours calculator: sends the form to the API, shows the amount,
// the limit that applied and every explanation step; errors go next to the
// field the server names.
(function () {
  "use strict";
  const A = window.VigieAdmin;
  const form = document.getElementById("subsidy-form");
  if (!form || !A) return;
  const panel = document.getElementById("subsidy-result");
  const message = document.getElementById("subsidy-message");
  const $ = (id) => document.getElementById(id);

  function body() {
    const value = (name) => form.elements[name].value.trim();
    const out = {
      eligible_cost: value("eligible_cost"),
      total_cost: value("total_cost"),
      other_subsidies: value("other_subsidies") || "0",
      priority: form.elements.priority.checked,
      multi_commune: form.elements.multi_commune.checked,
    };
    if (value("ceiling")) out.ceiling = value("ceiling");
    if (value("date")) out.date = value("date");
    return out;
  }

  function show(r) {
    $("r-amount").textContent = A.money(r.amount);
    $("r-limited").textContent = panel.dataset["limited" + r.limited_by.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("")] || r.limited_by;
    $("r-programme").textContent = r.programme;
    $("r-rate").textContent = r.rate_percent.replace(/\.?0+$/, "").replace(".", ",") + " %";
    $("r-base").textContent = A.money(r.base_amount);
    $("r-ceiling").textContent = r.ceiling === null ? panel.dataset.noCeiling : A.money(r.ceiling);
    $("r-legal").textContent = A.money(r.legal_cap);
    $("r-share").textContent = A.money(r.commune_share);
    panel.querySelectorAll("tr[data-limit]").forEach((tr) => {
      tr.classList.toggle("binding", tr.dataset.limit === r.limited_by);
    });
    const steps = $("r-steps");
    steps.replaceChildren(...r.steps.map((s) => {
      const li = document.createElement("li");
      li.textContent = s;
      return li;
    }));
    panel.dataset.limitedBy = r.limited_by;
    panel.hidden = false;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    A.clearErrors(form);
    message.textContent = "";
    let res;
    try {
      res = await A.send("POST", "/api/admin/finance/subsidy", body());
    } catch (e) {
      message.textContent = form.dataset.error;
      return;
    }
    if (res.ok) {
      show(res.body);
      return;
    }
    panel.hidden = true;
    const error = res.body.error || {};
    if (!A.showFieldError(form, error)) message.textContent = error.message || form.dataset.error;
  });
})();
