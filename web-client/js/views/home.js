// "/": open a session.
import { api } from "../api.js";
import { h } from "../dom.js";
import { saveSeat } from "../seats.js";

export function renderHome(root, navigate) {
  const error = h("p", { class: "form-error", role: "alert" });
  const name = h("input", { id: "host-name", name: "host_name", required: true, maxlength: 40, autocomplete: "nickname", placeholder: "Ana" });
  const title = h("input", { id: "title", name: "title", maxlength: 80, placeholder: "Friday film night" });
  const submit = h("button", { type: "submit", class: "primary" }, "Start a film night");

  const form = h("form", { class: "card stack", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!name.value.trim()) {
      error.textContent = "Tell your friends who you are.";
      name.focus();
      return;
    }
    submit.disabled = true;
    const result = await api("POST", "/api/v1/sessions", { body: { host_name: name.value, title: title.value || null } });
    submit.disabled = false;
    if (!result.ok) {
      error.textContent = result.error.message;
      return;
    }
    const { session_id, member_id, token, invite_url } = result.data;
    saveSeat(session_id, { token, member_id, invite_url });
    navigate(`/s/${session_id}`);
  } },
    h("label", { for: "host-name" }, "Your name"), name,
    h("label", { for: "title" }, "What's the night called? ", h("span", { class: "muted" }, "(optional)")), title,
    error,
    submit,
  );

  root.append(
    h("section", { class: "hero" },
      h("h1", {}, "Pick a film together."),
      h("p", { class: "lede" }, "Everyone brings their Letterboxd watchlist. filmnight finds the films you all want, runs a quick vote, then plays it in sync."),
    ),
    form,
  );
  name.focus();
}
