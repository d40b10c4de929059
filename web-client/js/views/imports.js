// Bringing a list: the export upload first (drop it, or choose it), with the three steps to get
// it; a Letterboxd username second. Live progress; a failed file keeps its name and its error.
import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { errorText, has, t } from "../i18n.js";

// Failures where the export is the way forward.
const POINT_TO_EXPORT = new Set(["blocked", "page_too_large", "rate_limited", "private", "timeout", "unreadable", "unreachable", "failed"]);

function reasonText(code, message, upload = false) {
  if (upload && has(`import.file.${code}`)) return t(`import.file.${code}`);
  const key = `import.reason.${code}`;
  return has(key) ? t(key) : errorText({ code, message });
}

export class ImportPanel {
  constructor({ sessionId, token, me, onNext }) {
    this.sessionId = sessionId;
    this.token = token;
    this.me = me;
    this.importId = null;

    this.file = h("input", { id: "import-file", type: "file", accept: ".zip,.csv,text/csv,application/zip", "aria-describedby": "export-steps" });
    this.zone = h("div", { class: "dropzone" },
      h("p", { class: "drop-title" }, t("import.drop_title")),
      h("ol", { id: "export-steps", class: "steps" },
        h("li", {}, t("import.step1")), h("li", {}, t("import.step2")), h("li", {}, t("import.step3"))),
      h("label", { for: "import-file", class: "file-label" }, t("import.choose")), this.file,
      h("p", { class: "muted small" }, t("import.file_kinds")));
    this.zone.addEventListener("dragover", (event) => { event.preventDefault(); this.zone.classList.add("over"); });
    this.zone.addEventListener("dragleave", () => this.zone.classList.remove("over"));
    this.zone.addEventListener("drop", (event) => {
      event.preventDefault();
      this.zone.classList.remove("over");
      const file = event.dataTransfer?.files?.[0];
      if (file) this.upload(file);
    });
    this.file.addEventListener("change", () => { if (this.file.files?.[0]) this.upload(this.file.files[0]); });

    this.input = h("input", { id: "letterboxd-input", autocomplete: "off", spellcheck: "false", maxlength: 300, placeholder: t("import.username_placeholder"), "aria-describedby": "import-privacy", dir: "ltr" });
    this.button = h("button", { type: "submit" }, t("import.start"));
    this.progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": t("import.progress_label") });
    this.status = h("p", { class: "import-status", role: "status" });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.help = h("p", { class: "hint small", hidden: true }, t("import.use_export"));
    this.removeButton = h("button", { type: "button", class: "ghost small", hidden: true, onclick: () => this.remove() }, t("import.remove"));
    // Once the list is in, the next step is one tap away.
    this.next = h("button", { type: "button", class: "primary next-step", hidden: true, onclick: () => onNext?.() }, t("import.next"));

    const form = h("form", { class: "stack", onsubmit: (event) => { event.preventDefault(); this.start(); } },
      h("label", { for: "letterboxd-input" }, t("import.username_label")),
      h("div", { class: "row" }, this.input, this.button));
    this.root = h("section", { class: "panel stack imports", "aria-labelledby": "import-heading" },
      h("h2", { id: "import-heading" }, t("import.heading")),
      this.zone, this.progress, this.status, this.next, this.error, this.help,
      h("div", { class: "or" }, h("span", {}, t("import.or"))),
      form,
      h("p", { id: "import-privacy", class: "muted small" }, t("import.privacy")),
      this.removeButton);
  }

  async start() {
    const value = this.input.value.trim();
    if (!value) { this.error.textContent = t("import.username_missing"); this.input.focus(); return; }
    this.reset();
    this.button.disabled = true;
    const result = await api("POST", `/api/v1/sessions/${this.sessionId}/imports`, { token: this.token, body: { letterboxd: value } });
    this.button.disabled = false;
    if (!result.ok) { this.fail(result.error.code, result.error.message); return; }
    this.importId = result.data.import_id;
    this.input.value = "";
    this.showProgress(0, null, 0);
  }

  async upload(file) {
    this.reset();
    this.status.textContent = t("import.reading", { name: file.name });
    const form = new FormData();
    form.append("file", file);
    let response;
    try {
      response = await fetch(`/api/v1/sessions/${this.sessionId}/imports/csv`, { method: "POST", headers: { Authorization: `Bearer ${this.token}` }, body: form });
    } catch {
      this.fail("offline", "", file.name);
      return;
    }
    this.file.value = "";
    const data = await response.json().catch(() => null);
    if (!response.ok) { this.fail(data?.code ?? `http_${response.status}`, data?.message ?? "", file.name); return; }
    this.importId = data.import_id;
    this.done(data.films, data.skipped, data.skipped_lines);
  }

  async remove() {
    const result = await api("DELETE", `/api/v1/sessions/${this.sessionId}/watchlist`, { token: this.token });
    if (!result.ok) { this.error.textContent = errorText(result.error); return; }
    this.reset();
    this.removeButton.hidden = true;
    this.status.textContent = t("import.removed");
    announce(t("import.removed"));
  }

  reset() {
    this.next.hidden = true;
    this.error.textContent = "";
    this.help.hidden = true;
    this.progress.hidden = true;
    this.status.textContent = "";
  }

  showProgress(pages, total, films) {
    this.progress.hidden = false;
    if (total) { this.progress.max = total; this.progress.value = pages; } else { this.progress.removeAttribute("value"); }
    const where = total ? t("import.page_of", { page: pages, total }) : pages ? t("import.page", { page: pages }) : t("import.starting");
    this.status.textContent = `${t("import.importing")} ${where} · ${t("import.so_far", { count: films })}`;
  }

  done(films, skipped = 0, lines = []) {
    this.progress.hidden = true;
    let text = t("import.done", { count: films });
    if (skipped) text += ` · ${t("import.skipped", { count: skipped })}${lines?.length ? ` (${t("import.lines", { lines: lines.join(", ") })})` : ""}`;
    this.status.textContent = text;
    this.removeButton.hidden = false;
    this.next.hidden = false;
    announce(text);
  }

  fail(code, message, fileName = null) {
    this.progress.hidden = true;
    this.status.textContent = "";
    const text = reasonText(code, message, fileName !== null);
    // The file's name stays with its error until the next try.
    this.error.textContent = fileName ? `${fileName}: ${text}` : text;
    this.help.hidden = fileName !== null || !POINT_TO_EXPORT.has(code);
    if (!this.help.hidden) this.file.focus();
  }

  // My own imports' live events.
  apply(event) {
    if (event.member_id !== this.me) return;
    if (event.type === "import.progress") {
      this.importId = event.import_id;
      this.showProgress(event.pages, event.pages_total, event.films);
    } else if (event.type === "import.done") {
      if (event.import_id === this.importId || this.importId === null) this.done(event.films, event.skipped);
    } else if (event.type === "import.failed") {
      if (event.import_id === this.importId || this.importId === null) this.fail(event.reason, event.message);
    }
  }

  // After a reload: show what the member's own list state is.
  restore(member) {
    if (!member) return;
    if (member.import_state === "running") this.showProgress(0, null, 0);
    else if (member.films != null) { this.status.textContent = t("import.have", { count: member.films }); this.removeButton.hidden = false; this.next.hidden = false; }
    else if (member.import_state === "failed") this.fail(member.import_reason ?? "failed", "");
  }
}
