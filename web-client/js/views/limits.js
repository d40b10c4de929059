// Limits for tonight: the line everyone sees ("Tonight: up to 2 h · no horror · 3 films left
// out") and the host's editor (longest runtime, years, genres to leave out). The server applies
// the limits and sends the shorter candidate list; this view only says what they are.
import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { errorText, language, t } from "../i18n.js";
import { limitsActive, limitsPhrases } from "../limits.js";

// "Tonight: up to 2 h · 1990–2010 · no horror" (+ "3 films left out"), hidden without limits.
export class LimitsBar {
  constructor({ id } = {}) {
    this.text = h("span", { class: "limits-text" });
    this.leftOut = h("span", { class: "limits-left-out muted" });
    this.root = h("p", { class: "limits-bar", role: "status", hidden: true, id }, this.text, this.leftOut);
  }

  update(limits, leftOut = 0) {
    const phrases = limitsPhrases(limits, t, language());
    this.root.hidden = phrases.length === 0;
    this.root.dataset.active = phrases.length ? "true" : "false";
    const text = phrases.length ? t("limits.tonight", { limits: phrases.join(" · ") }) : "";
    if (this.text.textContent !== text) this.text.textContent = text;
    const left = phrases.length && leftOut ? ` · ${t("limits.left_out", { count: leftOut })}` : "";
    if (this.leftOut.textContent !== left) this.leftOut.textContent = left;
  }
}

function numberOrNull(input) {
  const value = input.value.trim();
  return value === "" ? null : Number(value);
}

// The Lists stage's limits panel: the line for everyone, and for the host a <details> editor.
export class LimitsPanel {
  constructor({ sessionId, token }) {
    this.sessionId = sessionId;
    this.token = token;
    this.bar = new LimitsBar({ id: "limits-bar" });
    this.runtime = h("input", { id: "limit-runtime", type: "number", min: 1, max: 600, step: 1, inputmode: "numeric", placeholder: t("limits.no_limit") });
    this.yearFrom = h("input", { id: "limit-year-from", type: "number", min: 1870, max: 2100, inputmode: "numeric", placeholder: t("limits.any") });
    this.yearTo = h("input", { id: "limit-year-to", type: "number", min: 1870, max: 2100, inputmode: "numeric", placeholder: t("limits.any") });
    this.genres = h("div", { class: "genre-choices" });
    this.genreHint = h("p", { class: "muted small", hidden: true }, t("limits.no_genres"));
    this.error = h("p", { class: "form-error", role: "alert" });
    const clearButton = h("button", { type: "button", class: "ghost", id: "limits-clear", onclick: () => this.save({}) }, t("limits.clear"));
    this.form = h("form", { class: "stack limits-form", onsubmit: (event) => { event.preventDefault(); this.save(this.wanted()); } },
      h("div", { class: "field-row" },
        h("div", { class: "field" }, h("label", { for: "limit-runtime" }, t("limits.runtime")), this.runtime),
        h("div", { class: "field" }, h("label", { for: "limit-year-from" }, t("limits.year_from")), this.yearFrom),
        h("div", { class: "field" }, h("label", { for: "limit-year-to" }, t("limits.year_to")), this.yearTo)),
      h("fieldset", { class: "genres" }, h("legend", {}, t("limits.genres")), this.genres, this.genreHint),
      h("div", { class: "row wrap" }, h("button", { type: "submit", class: "primary", id: "limits-save" }, t("limits.save")), clearButton),
      this.error);
    this.editor = h("details", { class: "limits-editor", hidden: true },
      h("summary", { id: "limits-summary" }, t("limits.heading")), this.form);
    this.editor.addEventListener("toggle", () => { if (this.editor.open) this.load(); });
    this.root = h("section", { class: "panel stack limits", "aria-label": t("limits.heading") }, this.bar.root, this.editor);
    this.root.hidden = true;
  }

  update(state, host) {
    const leftOut = state.candidates?.left_out ?? 0;
    this.bar.update(state.limits, leftOut);
    this.editor.hidden = !host;
    if (!host) this.editor.open = false;
    this.root.hidden = !host && !limitsActive(state.limits);
  }

  wanted() {
    const genres = [...this.genres.querySelectorAll("input:checked")].map((box) => box.value);
    return {
      max_runtime_minutes: numberOrNull(this.runtime),
      exclude_genres: genres,
      year_from: numberOrNull(this.yearFrom),
      year_to: numberOrNull(this.yearTo),
    };
  }

  // The form from the server's view: the limits, and the genres tonight's films have.
  fill(view) {
    const { limits, genres } = view;
    this.runtime.value = limits.max_runtime_minutes ?? "";
    this.yearFrom.value = limits.year_from ?? "";
    this.yearTo.value = limits.year_to ?? "";
    const excluded = new Set(limits.exclude_genres.map((g) => g.toLocaleLowerCase()));
    this.genres.replaceChildren(...genres.map((genre, index) => {
      const id = `limit-genre-${index}`;
      return h("span", { class: "genre-choice" },
        h("input", { type: "checkbox", id, value: genre, checked: excluded.has(genre.toLocaleLowerCase()) }),
        h("label", { for: id, dir: "auto" }, genre));
    }));
    this.genreHint.hidden = genres.length > 0;
  }

  async load() {
    const result = await api("GET", `/api/v1/sessions/${this.sessionId}/limits`, { token: this.token });
    if (result.ok) this.fill(result.data);
  }

  async save(body) {
    this.error.textContent = "";
    const result = await api("PUT", `/api/v1/sessions/${this.sessionId}/limits`, { token: this.token, body });
    if (!result.ok) { this.error.textContent = errorText(result.error); return; }
    this.fill(result.data);
    announce(limitsActive(result.data.limits) ? t("limits.saved", { count: result.data.left_out }) : t("limits.cleared"));
  }
}
