// "/join/{code}": preview the session and ask for a name. Nothing is joined until the form is sent.
import { api } from "../api.js";
import { h } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { getSeat, saveSeat } from "../seats.js";

export async function renderJoin(root, navigate, code) {
  const status = h("p", { class: "muted", role: "status" }, t("join.looking"));
  root.append(status);
  const preview = await api("GET", `/api/v1/invites/${encodeURIComponent(code)}`);
  status.remove();
  if (!preview.ok) {
    const message = preview.status === 404 ? t("join.unknown") : errorText(preview.error);
    root.append(h("section", { class: "panel stack narrow" }, h("h1", {}, t("join.hmm")), h("p", { class: "note", role: "alert" }, message), h("a", { href: "/", class: "button" }, t("lobby.own_night"))));
    return;
  }
  const info = preview.data;
  if (getSeat(info.session_id)) {
    navigate(`/s/${info.session_id}`, { replace: true });
    return;
  }
  const error = h("p", { class: "form-error", role: "alert" });
  const name = h("input", { id: "join-name", name: "name", required: true, maxlength: 40, autocomplete: "nickname", dir: "auto" });
  const submit = h("button", { type: "submit", class: "primary big" }, t("join.go"));
  const form = h("form", { class: "panel stack narrow", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!name.value.trim()) {
      error.textContent = t("join.name_missing");
      name.focus();
      return;
    }
    submit.disabled = true;
    const joined = await api("POST", `/api/v1/invites/${encodeURIComponent(code)}/join`, { body: { name: name.value } });
    submit.disabled = false;
    if (!joined.ok) {
      error.textContent = errorText(joined.error);
      return;
    }
    saveSeat(joined.data.session_id, { token: joined.data.token, member_id: joined.data.member_id, invite_url: location.href });
    navigate(`/s/${joined.data.session_id}`);
  } },
    h("p", { class: "eyebrow" }, h("bdi", {}, info.host_name), " ", t("join.invited")),
    h("h1", { class: "session-title", dir: "auto" }, info.title),
    h("p", { class: "muted" }, t("join.here", { count: info.member_count })),
    h("label", { for: "join-name" }, t("join.name")), name,
    error,
    submit,
  );
  root.append(form);
  name.focus();
  // While the guest types a name, fetch the session's modules.
  import("./lobby.js").catch(() => {});
}
