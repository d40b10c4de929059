// "/": open a session.
import { api } from "../api.js";
import { h } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { saveSeat } from "../seats.js";

export function renderHome(root, navigate) {
  const error = h("p", { class: "form-error", role: "alert" });
  const name = h("input", { id: "host-name", name: "host_name", required: true, maxlength: 40, autocomplete: "nickname", placeholder: t("home.name_placeholder"), dir: "auto" });
  const title = h("input", { id: "title", name: "title", maxlength: 80, placeholder: t("home.title_placeholder"), dir: "auto" });
  const submit = h("button", { type: "submit", class: "primary big" }, t("home.start"));

  const form = h("form", { class: "panel stack narrow", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!name.value.trim()) {
      error.textContent = t("home.name_missing");
      name.focus();
      return;
    }
    submit.disabled = true;
    const result = await api("POST", "/api/v1/sessions", { body: { host_name: name.value, title: title.value || null } });
    submit.disabled = false;
    if (!result.ok) {
      error.textContent = errorText(result.error);
      return;
    }
    const { session_id, member_id, token, invite_url } = result.data;
    saveSeat(session_id, { token, member_id, invite_url });
    navigate(`/s/${session_id}`);
  } },
    h("label", { for: "host-name" }, t("home.name")), name,
    h("label", { for: "title" }, t("home.title"), " ", h("span", { class: "muted" }, t("home.optional"))), title,
    error,
    submit,
  );

  root.append(
    h("section", { class: "hero" },
      h("h1", {}, t("home.heading")),
      h("p", { class: "lede" }, t("home.lede")),
      h("ol", { class: "how" }, ["home.how1", "home.how2", "home.how3", "home.how4"].map((key) => h("li", {}, t(key))))),
    form,
  );
  name.focus();
}
