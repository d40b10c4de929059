// Chat and reactions. Lines are keyed by seq: new ones are appended, nothing is redrawn.
import { h } from "../dom.js";
import { errorText, formatTime, t } from "../i18n.js";
import { CHAT_MAX_LENGTH } from "../live.js";
const REACTIONS = ["🍿", "😂", "😮", "😢", "👏", "❤️", "🔥"];

export class ChatPanel {
  constructor({ send }) {
    this.send = send;
    this.lines = new Map();
    this.log = h("ol", { class: "chat-log", tabindex: 0, "aria-label": t("chat.log_label"), "aria-live": "polite" });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.input = h("input", { id: "chat-input", maxlength: CHAT_MAX_LENGTH, autocomplete: "off", placeholder: t("chat.placeholder"), "aria-label": t("chat.input_label"), dir: "auto" });
    const form = h("form", { class: "chat-form", onsubmit: async (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.error.textContent = "";
      try {
        await this.send({ type: "chat", text });
        this.input.value = "";
      } catch (error) {
        this.error.textContent = errorText(error);
      }
    } }, this.input, h("button", { type: "submit" }, t("chat.send")));
    this.stage = h("div", { class: "reaction-stage", "aria-hidden": "true" });
    const bar = h("div", { class: "reactions", role: "group", "aria-label": t("chat.reactions") },
      REACTIONS.map((emoji) => h("button", {
        type: "button", class: "ghost small", "aria-label": t("chat.react", { emoji }),
        onclick: () => this.send({ type: "reaction", emoji }).catch((error) => { this.error.textContent = errorText(error); }),
      }, emoji)));
    this.root = h("section", { class: "panel stack chat", "aria-labelledby": "chat-heading" },
      h("h2", { id: "chat-heading" }, t("chat.heading")), this.log, this.stage, form, bar, this.error);
  }

  update(state) {
    const keep = new Set(state.chat.map((line) => line.seq));
    for (const [seq, li] of this.lines) if (!keep.has(seq)) { li.remove(); this.lines.delete(seq); }
    let added = false;
    for (const line of state.chat) {
      if (this.lines.has(line.seq)) continue;
      // A line of someone who left still has its name (from the snapshot, or kept at the time).
      const who = state.members.find((m) => m.member_id === line.member_id)?.name || line.name || t("someone");
      const li = h("li", {}, h("span", { class: "who", dir: "auto" }, who), " ", h("span", { class: "text", dir: "auto" }, line.text), " ",
        h("time", { class: "muted small", datetime: new Date(line.at).toISOString() }, formatTime(line.at)));
      this.lines.set(line.seq, li);
      this.log.append(li);
      added = true;
    }
    if (added) this.log.scrollTop = this.log.scrollHeight;
  }

  reaction(emoji, who) {
    const bubble = h("span", { class: "reaction", title: who }, emoji);
    this.stage.append(bubble);
    window.setTimeout(() => bubble.remove(), 2500);
  }
}
