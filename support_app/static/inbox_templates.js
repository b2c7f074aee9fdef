/* Reply templates admin page (templates/inbox_templates.html): save, edit and delete through
 * /inbox/api/templates with the page's CSRF token; errors from the server are shown as text. */
(function () {
  "use strict";

  var root = document.getElementById("templates-admin");
  if (!root) return;
  var csrf = root.getAttribute("data-csrf");

  function $(id) { return document.getElementById(id); }

  function send(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf } };
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : "request failed (HTTP " + response.status + ")");
        return data;
      });
    });
  }

  function edit(row) {
    $("template-id").value = row.getAttribute("data-id");
    $("template-name").value = row.querySelector(".name").textContent;
    $("template-language").value = row.querySelector(".language").textContent;
    $("template-body").value = row.querySelector(".body").textContent;
    $("template-form-title").textContent = "Edit template";
    $("template-name").focus();
  }

  Array.prototype.forEach.call(document.querySelectorAll(".edit-template"), function (button) {
    button.addEventListener("click", function () { edit(button.closest("tr")); });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".delete-template"), function (button) {
    button.addEventListener("click", function () {
      send("DELETE", "/inbox/api/templates/" + encodeURIComponent(button.getAttribute("data-id")))
        .then(function () { window.location.reload(); })
        .catch(function (error) { $("template-error").textContent = error.message; });
    });
  });
  $("template-new").addEventListener("click", function () {
    $("template-form").reset();
    $("template-id").value = "";
    $("template-form-title").textContent = "New template";
  });
  $("template-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var id = $("template-id").value;
    var body = { name: $("template-name").value, language: $("template-language").value, text: $("template-body").value };
    send(id ? "PUT" : "POST", "/inbox/api/templates" + (id ? "/" + encodeURIComponent(id) : ""), body)
      .then(function () { window.location.reload(); })
      .catch(function (error) { $("template-error").textContent = error.message; });
  });
})();
