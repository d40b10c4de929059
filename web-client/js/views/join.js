// "/join/{code}": preview the session and ask for a name. Nothing is joined until the form is sent.
import { api } from "../api.js";
import { h } from "../dom.js";
import { getSeat, saveSeat } from "../seats.js";

export async function renderJoin(root, navigate, code) {
  const status = h("p", { class: "muted" }, "Looking up the invite…");
  root.append(status);
  const preview = await api("GET", `/api/v1/invites/${encodeURIComponent(code)}`);
  status.remove();
  if (!preview.ok) {
    const message = preview.status === 404
      ? "This invite link is unknown or no longer valid. Ask the host for a fresh one."
      : preview.error.message;
    root.append(h("section", { class: "card stack" }, h("h1", {}, "Hmm."), h("p", { class: "notice", role: "alert" }, message), h("a", { href: "/", class: "button" }, "Start your own film night")));
    return;
  }
  const info = preview.data;
  if (getSeat(info.session_id)) {
    navigate(`/s/${info.session_id}`, { replace: true });
    return;
  }
  const error = h("p", { class: "form-error", role: "alert" });
  const name = h("input", { id: "join-name", name: "name", required: true, maxlength: 40, autocomplete: "nickname" });
  const submit = h("button", { type: "submit", class: "primary" }, "Join");
  const form = h("form", { class: "card stack", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!name.value.trim()) {
      error.textContent = "Type a name so the others know it's you.";
      name.focus();
      return;
    }
    submit.disabled = true;
    const joined = await api("POST", `/api/v1/invites/${encodeURIComponent(code)}/join`, { body: { name: name.value } });
    submit.disabled = false;
    if (!joined.ok) {
      error.textContent = joined.error.message;
      return;
    }
    saveSeat(joined.data.session_id, { token: joined.data.token, member_id: joined.data.member_id, invite_url: location.href });
    navigate(`/s/${joined.data.session_id}`);
  } },
    h("p", { class: "eyebrow" }, `${info.host_name} invited you to`),
    h("h1", { class: "session-title" }, info.title),
    h("p", { class: "muted" }, `${info.member_count} ${info.member_count === 1 ? "person is" : "people are"} here already.`),
    h("label", { for: "join-name" }, "Your name"), name,
    error,
    submit,
  );
  root.append(form);
  name.focus();
}
