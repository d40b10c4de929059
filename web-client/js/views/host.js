// The host's drawer: new invites (expiry, member limit), the invite list with revoke, ending
// the session. A modal <dialog>: focus goes in, Escape closes it, focus returns to its button.
import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { errorText, formatDate, t } from "../i18n.js";

const EXPIRY_CHOICES = [["", "invite.never"], ["3600", "invite.hour"], ["86400", "invite.day"], ["604800", "invite.week"]];

export class HostDrawer {
  constructor({ sessionId, token, onInvite, onEnded }) {
    this.sessionId = sessionId;
    this.token = token;
    this.created = new Map();
    this.expiry = h("select", { id: "invite-expiry" }, EXPIRY_CHOICES.map(([value, key]) => h("option", { value }, t(key))));
    this.cap = h("input", { id: "invite-cap", type: "number", min: 1, max: 10000, inputmode: "numeric", placeholder: t("invite.no_limit") });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.invites = h("ul", { class: "invites", "aria-label": t("invite.list_label") });
    const create = h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      this.error.textContent = "";
      const body = { expires_in_s: this.expiry.value ? Number(this.expiry.value) : null, max_members: this.cap.value ? Number(this.cap.value) : null };
      const result = await api("POST", `/api/v1/sessions/${sessionId}/invites`, { token, body });
      if (!result.ok) { this.error.textContent = errorText(result.error); return; }
      this.created.set(result.data.invite_id, result.data.invite_url);
      onInvite(result.data.invite_url);
      announce(t("invite.ready"));
      this.refresh();
    } },
      h("div", { class: "field-row" },
        h("div", { class: "field" }, h("label", { for: "invite-expiry" }, t("invite.expiry")), this.expiry),
        h("div", { class: "field" }, h("label", { for: "invite-cap" }, t("invite.cap")), this.cap)),
      h("button", { type: "submit" }, t("invite.new")));

    const endButton = h("button", { type: "button", class: "danger" }, t("host.end"));
    const confirm = h("div", { class: "stack confirm", hidden: true },
      h("p", {}, t("host.end_confirm")),
      h("div", { class: "row wrap" },
        h("button", { type: "button", class: "danger", onclick: async () => {
          const result = await api("DELETE", `/api/v1/sessions/${sessionId}`, { token });
          if (!result.ok && result.status !== 401) { this.error.textContent = errorText(result.error); return; }
          this.dialog.close();
          onEnded();
        } }, t("host.end_yes")),
        h("button", { type: "button", class: "ghost", onclick: () => { confirm.hidden = true; endButton.hidden = false; endButton.focus(); } }, t("host.end_no"))));
    endButton.addEventListener("click", () => { endButton.hidden = true; confirm.hidden = false; confirm.querySelector("button").focus(); });

    this.dialog = h("dialog", { class: "drawer", "aria-labelledby": "host-heading" },
      h("div", { class: "drawer-head" },
        h("h2", { id: "host-heading" }, t("host.heading")),
        h("button", { type: "button", class: "ghost small", onclick: () => this.dialog.close() }, t("close"))),
      h("section", { class: "stack", "aria-labelledby": "invites-heading" }, h("h3", { id: "invites-heading" }, t("invite.more")), create, this.error, this.invites),
      h("section", { class: "stack danger-zone", "aria-labelledby": "end-heading" }, h("h3", { id: "end-heading" }, t("host.end_heading")), endButton, confirm));
  }

  open() {
    if (!this.dialog.open) this.dialog.showModal();
    this.refresh();
  }

  async refresh() {
    const result = await api("GET", `/api/v1/sessions/${this.sessionId}/invites`, { token: this.token });
    if (!result.ok) return;
    this.invites.replaceChildren(...result.data.map((invite) => {
      const bits = [invite.expires_at ? t("invite.expires", { when: formatDate(invite.expires_at) }) : t("invite.never_expires")];
      bits.push(invite.max_members ? t("invite.used", { count: invite.uses, total: invite.max_members }) : t("invite.joined", { count: invite.uses }));
      const url = this.created.get(invite.invite_id);
      return h("li", { class: invite.revoked ? "revoked" : "" },
        h("span", {}, invite.revoked ? `${t("invite.revoked")} · ` : "", bits.join(" · ")),
        url ? h("input", { readonly: true, value: url, "aria-label": t("invite.new_link") }) : null,
        invite.revoked ? null : h("button", { type: "button", class: "ghost small", onclick: async () => {
          const revoked = await api("DELETE", `/api/v1/sessions/${this.sessionId}/invites/${invite.invite_id}`, { token: this.token });
          if (!revoked.ok) this.error.textContent = errorText(revoked.error);
          this.refresh();
        } }, t("invite.revoke")));
    }));
  }
}
