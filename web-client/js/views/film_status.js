// How the look-up of film details goes (films.enriched): "Fetching film details… 120 of 1,500"
// with a bar while it runs, then how many were found. The host also reads, in plain words, why
// the provider failed (refused key, spent quota, no answer) and how many films were skipped.
// Voting never waits for any of it, and the line says so while it runs.
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { enrichmentProgress, isHost } from "../state.js";

export class FilmDetailsStatus {
  constructor() {
    this.text = h("p", { class: "film-status-text" });
    this.bar = h("progress", { max: 1, value: 0, "aria-hidden": "true" });
    this.host = h("ul", { class: "film-status-host" });
    // Only the outcome is announced: a screen reader reading every batch's count would talk
    // over the whole evening.
    this.live = h("p", { class: "sr-only", role: "status" });
    this.root = h("div", { class: "film-status", hidden: true }, this.text, this.bar, this.host, this.live);
    this.key = null;
  }

  update(state) {
    const progress = enrichmentProgress(state);
    const host = isHost(state);
    const key = JSON.stringify([progress, host]);
    if (key === this.key) return;
    this.key = key;
    this.root.hidden = !progress;
    if (!progress) return;
    this.bar.hidden = progress.done;
    this.bar.max = Math.max(1, progress.total);
    this.bar.value = progress.looked;
    if (!progress.done) {
      this.text.textContent = `${t("enrich.running", { count: progress.looked, total: progress.total })} · ${t("enrich.voting_goes_on")}`;
    } else {
      this.text.textContent = progress.enriched ? t("enrich.done", { count: progress.enriched }) : t("enrich.none_found");
    }
    const notes = [];
    if (host && progress.failure) {
      const known = ["bad_key", "quota", "down"].includes(progress.failure);
      notes.push(h("li", { class: "film-status-failure" }, t(known ? `enrich.failure.${progress.failure}` : "enrich.failure.other")));
    }
    if (host && progress.skipped) notes.push(h("li", {}, t("enrich.skipped", { count: progress.skipped })));
    if (host && progress.done && progress.unlinked) notes.push(h("li", {}, t("enrich.unlinked", { count: progress.unlinked })));
    this.host.replaceChildren(...notes);
    this.host.hidden = !notes.length;
    const outcome = progress.done || progress.failure ? [this.text.textContent, ...notes.map((n) => n.textContent)].join(" ") : "";
    if (outcome && this.live.textContent !== outcome) this.live.textContent = outcome;
  }
}
