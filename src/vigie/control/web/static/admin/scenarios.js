// Participation scenario form: key weights (sum shown live) and members taken
// from a campaign's interested communes; saved through the API, which checks
// everything and names the faulty field.
(function () {
  "use strict";
  const A = window.VigieAdmin;
  const form = document.getElementById("scenario-form");
  if (!form || !A) return;
  const members = JSON.parse(document.getElementById("scenario-members").textContent || "{}");
  const message = document.getElementById("scenario-message");
  const sum = document.getElementById("weights-sum");
  const weights = [...form.querySelectorAll('input[name^="keys."]')];

  function total() {
    const n = weights.reduce((acc, i) => acc + (Number(i.value.replace(",", ".")) || 0), 0);
    sum.textContent = `${String(n).replace(".", ",")} %`;
    sum.className = n === 100 ? "ok" : "error";
  }
  weights.forEach((i) => i.addEventListener("input", total));
  total();

  function body() {
    const keys = {};
    weights.forEach((i) => {
      const v = i.value.trim().replace(",", ".");
      if (v !== "" && Number(v) !== 0) keys[i.name.slice(5)] = v;
    });
    return {
      name: form.elements.name.value.trim(),
      description: form.elements.description.value.trim(),
      cost_to_cover: form.elements.cost_to_cover.value.trim().replace(/\s/g, "").replace(",", "."),
      keys,
      communes: members[form.elements.campaign.value] || [],
    };
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    A.clearErrors(form);
    message.textContent = "";
    message.className = "";
    const res = await A.send("POST", "/api/admin/finance/scenarios", body());
    if (res.ok) {
      message.className = "ok";
      message.textContent = form.dataset.created;
      location.href = "/admin/scenarios";
      return;
    }
    const error = res.body.error || {};
    let field = error.field || "";
    if (field.startsWith("communes")) field = "communes";
    if (!A.showFieldError(form, { ...error, field })) {
      message.className = "error";
      message.textContent = error.message || form.dataset.error;
    }
  });
})();
