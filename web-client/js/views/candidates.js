// The films the lists share, most wanted first: a keyed list (a new candidates event moves and
// relabels rows instead of rebuilding them), in a scrollable region the keyboard can reach.
import { h } from "../dom.js";
import { formatList, t } from "../i18n.js";
import { listCounts, nameOf } from "../state.js";
import { serviceKey, serviceLine } from "./streaming.js";
import { visibleCandidates } from "../streaming-state.js";
import { filmBody, filmPoster } from "./film_card.js";

// "everyone" only when every member has a list; before that, "all N lists so far".
export function wantedLabel(wanted, lists, members) {
  if (lists > 0 && wanted === lists && lists === members) return { everyone: true, text: t("wanted.everyone") };
  if (lists > 0 && wanted === lists) return { everyone: false, text: t("wanted.all_so_far", { count: lists }) };
  return { everyone: false, text: `${wanted}/${lists}` };
}

export class CandidatesPanel {
  // `lines(film, candidate, state)`: extra lines for a card's slot (where it streams, …).
  constructor({ loadMore, lines = () => [] }) {
    this.lines = lines;
    this.rows = new Map();
    this.summary = h("p", { class: "muted" });
    this.list = h("ol", { class: "candidates" });
    this.scroller = h("div", { class: "scroll-region", role: "region", tabindex: 0, "aria-label": t("candidates.label") }, this.list);
    this.more = h("button", { type: "button", class: "ghost small", hidden: true, onclick: () => loadMore() }, t("candidates.more"));
    this.root = h("section", { class: "panel stack", "aria-labelledby": "candidates-heading" },
      h("h2", { id: "candidates-heading" }, t("candidates.heading")), this.summary, this.scroller, this.more);
  }

  update(state, shown) {
    const data = state.candidates;
    if (!data) { this.summary.textContent = t("candidates.loading"); return; }
    const { lists, members } = listCounts(state);
    const waiting = (data.waiting ?? []).map((id) => nameOf(state, id) ?? t("someone"));
    let text = lists === 0 ? t("candidates.none") : `${t("candidates.lists", { count: lists })} · ${t("candidates.films", { count: data.total })}`;
    if (waiting.length) text += ` · ${t("candidates.waiting", { names: formatList(waiting) })}`;
    this.summary.textContent = text;
    this.scroller.hidden = data.candidates.length === 0;
    const seen = new Set();
    visibleCandidates(state, data.candidates).slice(0, shown).forEach((candidate, index) => {
      const { film, wanted_by: wanted } = candidate;
      seen.add(film.id);
      const label = wantedLabel(wanted, lists, members);
      const lines = [...this.lines(film, candidate, state), serviceLine(state, film)].filter(Boolean);
      // A card is redrawn when what it shows changed (details arrived, a count moved, …).
      const key = JSON.stringify([film, candidate.nominated, label.text, state.filmData, serviceKey(state, film.id), lines.map((l) => (l instanceof Node ? l.textContent : String(l)))]);
      let row = this.rows.get(film.id);
      if (!row || row.key !== key) {
        const open = row?.li.querySelector("details.film-more")?.open ?? false;
        const li = h("li", { class: `candidate${label.everyone ? " everyone" : ""}`, dataset: { filmId: film.id } },
          filmPoster(film, "medium"),
          filmBody(film, { overview: "details", credit: state.filmData, lines }),
          h("span", { class: "candidate-side" },
            candidate.nominated ? h("span", { class: "badge host" }, t("badge.nominated")) : null,
            h("span", { class: "wanted", title: t("wanted.title", { count: wanted, total: lists }) }, label.text)));
        if (open) li.querySelector("details.film-more")?.setAttribute("open", "");
        // Details arriving must not throw a keyboard user out of the card they are on.
        const focused = row?.li.contains(document.activeElement) ? document.activeElement.tagName : null;
        if (row) row.li.replaceWith(li);
        if (focused) li.querySelector(focused.toLowerCase())?.focus();
        row = { li, key };
        this.rows.set(film.id, row);
      }
      if (this.list.children[index] !== row.li) this.list.insertBefore(row.li, this.list.children[index] ?? null);
    });
    for (const [id, row] of this.rows) if (!seen.has(id)) { row.li.remove(); this.rows.delete(id); }
    this.more.hidden = data.total <= Math.min(shown, data.candidates.length);
  }
}
