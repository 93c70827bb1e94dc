// Inventory import: uploads the file to the API; on success shows the rows
// imported per sheet, on refusal the table of every bad cell (nothing imported).
(function () {
  "use strict";
  const A = window.VigieAdmin;
  const form = document.getElementById("inventory-import");
  if (!form || !A) return;
  const result = document.getElementById("import-result");
  const template = document.getElementById("import-errors-template");
  const fileInput = form.elements.file;
  const sheet = form.elements.sheet;

  function csv() { return /\.csv$/i.test(fileInput.value); }
  function syncSheet() { sheet.disabled = !csv(); }
  fileInput.addEventListener("change", syncSheet);
  syncSheet();

  function cell(row, text, cls) {
    const td = row.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    A.clearErrors(form);
    result.replaceChildren();
    if (!fileInput.files.length) { fileInput.focus(); return; }
    const data = new FormData();
    data.append("file", fileInput.files[0]);
    const url = "/api/admin/inventory/import" + (csv() ? "?sheet=" + encodeURIComponent(sheet.value) : "");
    let res;
    try {
      res = await A.send("POST", url, data);
    } catch (e) {
      result.textContent = form.dataset.error;
      return;
    }
    const message = document.createElement("p");
    result.append(message);
    if (res.ok) {
      message.className = "ok";
      message.textContent = form.dataset.ok;
      const table = document.createElement("table");
      table.className = "data compact";
      table.id = "import-report";
      const head = table.createTHead().insertRow();
      [form.dataset.sheetLabel, form.dataset.rowsLabel].forEach((h) => {
        const th = document.createElement("th"); th.textContent = h; head.append(th);
      });
      const body = table.createTBody();
      Object.entries(res.body.rows || {}).forEach(([name, n]) => {
        const row = body.insertRow(); cell(row, name); cell(row, String(n), "num");
      });
      result.append(table);
      return;
    }
    const error = res.body.error || {};
    message.className = "error";
    message.textContent = error.message || form.dataset.error;
    if (Array.isArray(error.details) && error.details.length && error.details[0].line !== undefined) {
      const table = template.content.firstElementChild.cloneNode(true);
      const body = table.tBodies[0];
      error.details.forEach((d) => {
        const row = body.insertRow();
        cell(row, d.sheet); cell(row, String(d.line), "num"); cell(row, d.column); cell(row, d.reason);
      });
      result.append(table);
    } else if (error.field && A.showFieldError(form, error)) {
      message.remove();
    }
  });
})();
