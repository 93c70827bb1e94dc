// The commune questionnaire: gathers the form as typed answers and sends it as
// a draft or a submission. Messages shown come from the server (French).
(function () {
  const form = document.getElementById("questionnaire");
  if (!form) return;
  const message = document.getElementById("message");
  const csrf = (document.cookie.match(/(?:^|; )vigie_csrf=([^;]*)/) || [])[1] || "";
  const base = `/api/admin/surveys/campaigns/${form.dataset.campaign}/responses/${form.dataset.commune}`;

  function int(name) {
    const v = form.elements[name].value.trim();
    return v === "" ? null : Number(v);
  }
  function yesNo(name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value === "true" : null;
  }
  function answers() {
    const hours = {};
    form.querySelectorAll('input[name^="hours_wanted."]').forEach((i) => {
      hours[i.name.split(".")[1]] = i.value === "" ? 0 : Number(i.value);
    });
    return {
      hours_wanted: hours,
      services: [...form.querySelectorAll('input[name="services"]:checked')].map((i) => i.value),
      cameras_to_connect: int("cameras_to_connect"),
      requisitions_per_month: int("requisitions_per_month"),
      pooled_csu_interest: yesNo("pooled_csu_interest"),
      ai_interest: yesNo("ai_interest"),
      contact_name: form.elements.contact_name.value,
      contact_email: form.elements.contact_email.value,
      comments: form.elements.comments.value,
    };
  }
  async function send(action) {
    const submit = action === "submit";
    const res = await fetch(submit ? `${base}/submit` : `${base}/draft`, {
      method: submit ? "POST" : "PUT",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(csrf) },
      body: JSON.stringify(submit ? { answers: answers() } : answers()),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      message.className = "ok";
      message.textContent = submit ? form.dataset.submitted : form.dataset.saved;
    } else {
      message.className = "error";
      message.textContent = (body.error && body.error.message) || form.dataset.error;
    }
  }
  form.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", () => send(b.dataset.action)));
})();
