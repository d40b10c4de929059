// The nomination search's second half: films the film-data provider (TMDb or Kinopoisk) finds,
// with their posters (kept by our server), so the host can nominate a film nobody listed.
// Searches wait for a pause in typing: each one counts against the member's per-minute budget.
import { api } from "../api.js";
import { h } from "../dom.js";
import { errorText, language, t } from "../i18n.js";
import { formatMinutes } from "../limits.js";
import { filmPicture } from "./cards.js";

const PAUSE_MS = 600;

export class ProviderResults {
  constructor({ sessionId, token, nominate }) {
    this.sessionId = sessionId;
    this.token = token;
    this.nominate = nominate;
    this.asked = 0;
    this.timer = null;
    this.heading = h("h3", { class: "provider-heading small" });
    this.message = h("p", { class: "muted small provider-message", role: "status" });
    this.list = h("ul", { class: "provider-results", "aria-label": t("provider.results") });
    this.root = h("div", { class: "stack provider", hidden: true }, this.heading, this.list, this.message);
  }

  // Called on every keystroke: the provider is asked once typing pauses.
  search(query) {
    window.clearTimeout(this.timer);
    const q = query.trim();
    if (q.length < 2) { this.clear(); return; }
    this.timer = window.setTimeout(() => this.ask(q), PAUSE_MS);
  }

  clear() {
    window.clearTimeout(this.timer);
    this.asked += 1;
    this.root.hidden = true;
    this.list.replaceChildren();
    this.message.textContent = "";
  }

  async ask(q) {
    const asked = ++this.asked;
    const found = await api("GET", `/api/v1/sessions/${this.sessionId}/films/provider?q=${encodeURIComponent(q)}`, { token: this.token });
    if (asked !== this.asked) return; // a newer search replaced this one
    if (!found.ok) {
      this.root.hidden = false;
      this.heading.textContent = "";
      this.list.replaceChildren();
      this.message.textContent = errorText(found.error);
      return;
    }
    const { provider, films, failure } = found.data;
    if (provider === "none") { this.root.hidden = true; return; }
    this.root.hidden = false;
    this.root.dataset.provider = provider;
    this.heading.textContent = t(`provider.heading.${provider}`);
    this.list.replaceChildren(...films.map((film) => this.row(film)));
    if (failure) this.message.textContent = t(`provider.failure.${failure}`);
    else this.message.textContent = films.length ? "" : t("provider.none");
  }

  row(film) {
    const label = film.year ? `${film.title} (${film.year})` : film.title;
    const facts = [film.year ? String(film.year) : null, film.runtime_minutes ? formatMinutes(film.runtime_minutes, language()) : null, film.genres?.length ? film.genres.join(", ") : null].filter(Boolean);
    return h("li", { class: "provider-film", dataset: { providerId: String(film.provider_id) } },
      filmPicture({ ...film, id: `p${film.provider_id}` }),
      h("span", { class: "provider-film-text" },
        h("span", { class: "film-title", dir: "auto" }, film.title),
        film.original_title && film.original_title !== film.title ? h("span", { class: "muted small", dir: "auto" }, film.original_title) : null,
        facts.length ? h("span", { class: "muted small" }, facts.join(" · ")) : null),
      h("button", { type: "button", class: "small", "aria-label": t("nominate.one", { film: label }),
        onclick: () => this.nominate({ provider_id: film.provider_id }) }, t("nominate.go")));
  }
}
