// The import box: a Letterboxd username or link, or an export file; live progress; the result.
import { api } from "../api.js";
import { announce, h } from "../dom.js";

const EXPORT_HELP = "On letterboxd.com open Settings → Data → Export your data, then choose the ZIP here.";

export class ImportPanel {
  constructor({ sessionId, token, me }) {
    this.sessionId = sessionId;
    this.token = token;
    this.me = me;
    this.importId = null;

    this.input = h("input", { id: "letterboxd-input", autocomplete: "off", spellcheck: "false", maxlength: 300, placeholder: "username or letterboxd.com/you/watchlist", "aria-describedby": "import-help" });
    this.button = h("button", { type: "submit", class: "primary" }, "Import");
    this.file = h("input", { id: "import-file", type: "file", accept: ".zip,.csv,text/csv,application/zip" });
    this.progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Import progress" });
    this.status = h("p", { class: "import-status", role: "status", "aria-live": "polite" });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.help = h("p", { class: "notice small", hidden: true }, EXPORT_HELP);
    this.removeButton = h("button", { type: "button", class: "ghost small", hidden: true, onclick: () => this.remove() }, "Remove my list");

    const form = h("form", { class: "row wrap", onsubmit: (event) => { event.preventDefault(); this.start(); } },
      h("label", { for: "letterboxd-input" }, "Letterboxd"), this.input, this.button);
    this.file.addEventListener("change", () => this.upload());
    this.root = h("section", { class: "card stack imports", "aria-labelledby": "import-heading" },
      h("h2", { id: "import-heading" }, "Your watchlist"),
      form,
      h("p", { id: "import-help", class: "muted small" }, "We read your public watchlist once and keep only the films, encrypted. Your username is never stored."),
      h("div", { class: "upload" }, h("label", { for: "import-file" }, "Or upload your Letterboxd export (ZIP or watchlist.csv), or an IMDb list"), this.file),
      this.progress, this.status, this.help, this.error, this.removeButton);
  }

  async start() {
    const value = this.input.value.trim();
    if (!value) { this.error.textContent = "Type your Letterboxd username or paste your watchlist link."; return; }
    this.reset();
    this.button.disabled = true;
    const result = await api("POST", `/api/v1/sessions/${this.sessionId}/imports`, { token: this.token, body: { letterboxd: value } });
    this.button.disabled = false;
    if (!result.ok) { this.fail(result.error.code, result.error.message); return; }
    this.importId = result.data.import_id;
    this.input.value = "";
    this.showProgress(0, null, 0);
  }

  async upload() {
    const file = this.file.files?.[0];
    if (!file) return;
    this.reset();
    this.status.textContent = `Reading ${file.name}…`;
    const form = new FormData();
    form.append("file", file);
    let response;
    try {
      response = await fetch(`/api/v1/sessions/${this.sessionId}/imports/csv`, { method: "POST", headers: { Authorization: `Bearer ${this.token}` }, body: form });
    } catch {
      this.fail("offline", "Can't reach filmnight. Check your connection.");
      return;
    }
    this.file.value = "";
    const data = await response.json().catch(() => null);
    if (!response.ok) { this.fail(data?.code ?? "failed", data?.message ?? "The upload failed."); return; }
    this.importId = data.import_id;
    this.done(data.films, data.skipped, data.skipped_lines);
  }

  async remove() {
    const result = await api("DELETE", `/api/v1/sessions/${this.sessionId}/watchlist`, { token: this.token });
    if (!result.ok) { this.error.textContent = result.error.message; return; }
    this.reset();
    this.removeButton.hidden = true;
    this.status.textContent = "Your list is deleted.";
    announce("Your list is deleted");
  }

  reset() {
    this.error.textContent = "";
    this.help.hidden = true;
    this.progress.hidden = true;
  }

  showProgress(pages, total, films) {
    this.progress.hidden = false;
    if (total) { this.progress.max = total; this.progress.value = pages; } else { this.progress.removeAttribute("value"); }
    const where = total ? `page ${pages} of ${total}` : pages ? `page ${pages}` : "starting";
    this.status.textContent = `Importing… ${where} · ${films} film${films === 1 ? "" : "s"} so far`;
  }

  done(films, skipped = 0, lines = []) {
    this.progress.hidden = true;
    let text = `${films} film${films === 1 ? "" : "s"} imported`;
    if (skipped) text += ` · ${skipped} could not be read${lines.length ? ` (line ${lines.join(", ")})` : ""}`;
    this.status.textContent = text;
    this.removeButton.hidden = false;
    announce(text);
  }

  fail(code, message) {
    this.progress.hidden = true;
    this.status.textContent = "";
    this.error.textContent = message;
    this.help.hidden = !["blocked", "unreachable", "page_too_large", "rate_limited", "private", "timeout", "unreadable"].includes(code);
    if (!this.help.hidden) this.file.focus();
  }

  // Live events about my own imports.
  apply(event) {
    if (event.member_id !== this.me) return;
    if (event.type === "import.progress") {
      this.importId = event.import_id;
      this.showProgress(event.pages, event.pages_total, event.films);
    } else if (event.type === "import.done") {
      if (event.import_id === this.importId || this.importId === null) this.done(event.films, event.skipped);
    } else if (event.type === "import.failed") {
      this.fail(event.reason, event.message);
    }
  }

  // From the snapshot, after a reload.
  restore(member) {
    if (!member) return;
    if (member.import_state === "done" && member.films != null) {
      this.status.textContent = `${member.films} film${member.films === 1 ? "" : "s"} on your list`;
      this.removeButton.hidden = false;
    } else if (member.import_state === "running") {
      this.showProgress(0, null, 0);
    } else if (member.import_state === "failed" && member.import_reason === "unreadable") {
      this.fail("unreadable", "Your stored list could not be read. Import it again.");
    }
  }
}

export function importBadge(member) {
  switch (member.import_state) {
    case "running": return h("span", { class: "badge importing" }, "importing…");
    case "done": return member.films != null ? h("span", { class: "badge films" }, `${member.films} films`) : null;
    case "failed": return h("span", { class: "badge failed", title: member.import_reason ?? "" }, "import failed");
    default: return h("span", { class: "badge waiting" }, "no list yet");
  }
}
