// The Pick stage: the host starts a round; everyone judges cards (match), ranks a shortlist
// (poll) or strikes films in turn (veto); the result is said in one sentence, then explained.
// Tallies update in place; the card, ranking or strike list is redrawn only when it changes.
import { api } from "../api.js";
import { formatDuration } from "../clock.js";
import { announce, clear, h, keepFocus } from "../dom.js";
import { filmLabel, posterOf } from "../films.js";
import { errorText, formatList, t } from "../i18n.js";
import { answeredCards, methodKey, resultSentence } from "../results.js";
import { isHost, listCounts, nameOf } from "../state.js";
import { filmLinkElement, filmPicture, swipeable } from "./cards.js";
import { ProviderResults } from "./provider_search.js";
import { factsOf, filmBody, filmPoster, titleOf } from "./film_card.js";

// "Title (year)" in the member's language, for lists and labels.
function labelOf(film) {
  return film.year ? `${titleOf(film)} (${film.year})` : titleOf(film);
}

const METHODS = ["schulze", "irv", "borda", "approval"];

// The host's tools: start a round, nominate a film.
export class RoundStarter {
  constructor({ sessionId, token, send }) {
    const mode = h("select", { id: "round-mode" },
      h("option", { value: "match" }, t("start.match")),
      h("option", { value: "poll" }, t("start.poll")),
      h("option", { value: "veto" }, t("start.veto")));
    const method = h("select", { id: "round-method" }, METHODS.map((m) => h("option", { value: m }, t(methodKey(m)))));
    const size = h("input", { id: "round-size", type: "number", min: 2, max: 200, value: 20, inputmode: "numeric" });
    const hidden = h("input", { id: "round-hidden", type: "checkbox" });
    const deadline = h("input", { id: "round-deadline", type: "number", min: 0, max: 3600, placeholder: t("start.no_deadline"), inputmode: "numeric" });
    const pollRow = h("div", { class: "field-row" },
      h("div", { class: "field" }, h("label", { for: "round-method" }, t("start.method")), method),
      h("div", { class: "field" }, h("label", { for: "round-deadline" }, t("start.deadline")), deadline),
      h("div", { class: "field check" }, hidden, h("label", { for: "round-hidden" }, t("start.hidden"))));
    const error = h("p", { class: "form-error", role: "alert" });
    const sync = () => { pollRow.hidden = mode.value !== "poll"; size.value = mode.value === "match" ? 20 : 5; };
    mode.addEventListener("change", sync);
    sync();
    const form = h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const command = { type: "round.start", mode: mode.value, size: Number(size.value) || undefined };
      if (mode.value === "poll") {
        command.method = method.value;
        command.hidden = hidden.checked;
        if (Number(deadline.value) > 0) command.deadline_s = Number(deadline.value);
      }
      try { await send(command); } catch (failure) { error.textContent = errorText(failure); }
    } },
      h("div", { class: "field-row" },
        h("div", { class: "field" }, h("label", { for: "round-mode" }, t("start.round")), mode),
        h("div", { class: "field" }, h("label", { for: "round-size" }, t("start.size")), size)),
      pollRow,
      h("button", { type: "submit", class: "primary big", id: "start-round" }, t("start.go")), error);

    const query = h("input", { id: "nominate-search", type: "search", autocomplete: "off", placeholder: t("nominate.search_placeholder"), "aria-label": t("nominate.search_label"), dir: "auto" });
    const results = h("ul", { class: "search-results", "aria-label": t("nominate.results") });
    const title = h("input", { id: "nominate-title", maxlength: 200, placeholder: t("nominate.title"), "aria-label": t("nominate.title"), dir: "auto" });
    const year = h("input", { id: "nominate-year", type: "number", min: 1870, max: 2100, placeholder: t("nominate.year"), "aria-label": t("nominate.year"), inputmode: "numeric" });
    const nominateError = h("p", { class: "form-error", role: "alert" });
    const nominate = async (body) => {
      nominateError.textContent = "";
      const result = await api("POST", `/api/v1/sessions/${sessionId}/nominations`, { token, body });
      if (!result.ok) { nominateError.textContent = errorText(result.error); return; }
      announce(t("nominate.done", { film: filmLabel(result.data) }));
      clear(results);
      provider.clear();
      query.value = title.value = year.value = "";
    };
    const provider = new ProviderResults({ sessionId, token, nominate });
    let timer = null;
    query.addEventListener("input", () => {
      provider.search(query.value);
      window.clearTimeout(timer);
      timer = window.setTimeout(async () => {
        const q = query.value.trim();
        clear(results);
        if (!q) return;
        const found = await api("GET", `/api/v1/sessions/${sessionId}/films?q=${encodeURIComponent(q)}`, { token });
        if (!found.ok) return;
        for (const film of found.data.films) {
          results.append(h("li", {}, h("button", { type: "button", class: "ghost small", onclick: () => nominate({ film_id: film.id }) }, t("nominate.one", { film: filmLabel(film) }))));
        }
        if (!found.data.films.length) results.append(h("li", { class: "muted small" }, t("nominate.not_found")));
      }, 200);
    });
    const byTitle = h("form", { class: "row wrap", onsubmit: (event) => { event.preventDefault(); nominate({ title: title.value, year: year.value ? Number(year.value) : null }); } },
      title, year, h("button", { type: "submit" }, t("nominate.go")));
    this.root = h("section", { class: "panel stack starter", "aria-labelledby": "starter-heading" },
      h("h2", { id: "starter-heading" }, t("start.heading")), form,
      h("details", { class: "nominate" }, h("summary", {}, t("nominate.heading")), h("div", { class: "stack" }, query, results, provider.root, byTitle, nominateError)));
  }
}

export class RoundPanel {
  constructor({ send, dispatch, watch, clock }) {
    this.send = send;
    this.dispatch = dispatch;
    this.watch = watch;
    this.state = null;
    this.ranking = [];
    this.rankingRound = null;
    this.bodyKey = null;
    this.heading = h("h2", { id: "round-heading", tabindex: -1 });
    this.body = h("div", { class: "stack round-body" });
    this.tally = h("div", { class: "stack tally-area" });
    this.hostRow = h("div", { class: "row wrap" });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.deadline = h("p", { class: "deadline", hidden: true });
    this.root = h("section", { class: "panel stack round", "aria-labelledby": "round-heading", hidden: true },
      this.heading, this.deadline, this.body, this.tally, this.hostRow, this.error);
    this.clock = clock ?? null;
    this.tick = window.setInterval(() => this.drawDeadline(), 1000);
  }

  destroy() {
    window.clearInterval(this.tick);
  }

  // A poll's deadline, counting down; the host can give everyone more time (WCAG 2.2.1).
  drawDeadline() {
    const round = this.round;
    const now = this.clock ? this.clock.serverNow() : Date.now();
    const open = round?.status === "open" && round.deadline && round.deadline > now;
    this.deadline.hidden = !open;
    if (!open) return;
    const text = t("round.closes_in", { time: formatDuration(round.deadline - now) });
    if (this.deadline.textContent !== text) this.deadline.textContent = text;
  }

  get round() { return this.state?.round ?? null; }

  get films() { return new Map((this.round?.films ?? []).map((film) => [film.id, film])); }

  async command(command) {
    this.error.textContent = "";
    try { await this.send(command); return true; } catch (failure) { this.error.textContent = errorText(failure); return false; }
  }

  update(state) {
    this.state = state;
    const round = state.round;
    this.root.hidden = !round;
    if (!round) { this.bodyKey = null; return; }
    if (this.rankingRound !== round.round_id) {
      this.rankingRound = round.round_id;
      const ids = round.films.map((f) => f.id);
      this.ranking = round.my_ballot?.length ? [...round.my_ballot, ...ids.filter((id) => !round.my_ballot.includes(id))] : ids;
    }
    const base = round.mode === "poll" ? t("round.poll", { method: t(methodKey(round.method)) }) : t(`round.${round.mode}`);
    const heading = round.status === "closed" ? t("round.result_heading", { round: base }) : base;
    if (this.heading.textContent !== heading) this.heading.textContent = heading;
    const key = this.keyOf(state);
    if (key !== this.bodyKey) {
      this.bodyKey = key;
      keepFocus(this.body, () => this.drawBody());
    }
    this.drawTally();
    this.drawDeadline();
    const hostKey = `${round.round_id}|${round.status}|${Boolean(round.deadline)}|${isHost(state)}`;
    if (hostKey === this.hostKey) return;
    this.hostKey = hostKey;
    this.hostRow.replaceChildren();
    if (isHost(state) && round.status === "open") {
      if (round.deadline) {
        this.hostRow.append(h("button", { type: "button", class: "extend-deadline", onclick: () => this.command({ type: "round.extend", round_id: round.round_id, seconds: 60 }) }, t("round.extend")));
      }
      this.hostRow.append(h("button", { type: "button", class: "ghost", onclick: () => this.command({ type: "round.close", round_id: round.round_id }) }, round.mode === "poll" ? t("round.close_poll") : t("round.end")));
    }
  }

  keyOf(state) {
    return `${this.voteKey(state)}|${this.detailsKey(state)}`;
  }

  voteKey(state) {
    const round = state.round;
    const inRound = round.eligible.includes(state.me);
    if (round.status === "closed") return `${round.round_id}|closed|${isHost(state)}|${state.party?.film_title ?? ""}`;
    if (round.mode === "match") return `${round.round_id}|${inRound}|${this.nextCard()?.id ?? "done"}`;
    if (round.mode === "poll") return `${round.round_id}|${inRound}|${JSON.stringify(round.my_ballot)}|${this.ranking.join()}`;
    return `${round.round_id}|${inRound}|${round.turn}|${(round.remaining ?? []).join()}`;
  }

  // Film details arriving (films.enriched) redraw what shows them: the match card, the winner,
  // a poll's or a veto's films.
  detailsKey(state) {
    const round = state.round;
    const shown = round.status === "closed" ? [round.winner] : round.mode === "match" ? [this.nextCard()] : round.films;
    return JSON.stringify([state.filmData, shown.map((f) => f && [f.poster_url, f.runtime_minutes, f.genres, f.titles, f.overview, f.overviews, f.directors])]);
  }

  nextCard() {
    const round = this.round;
    return round.films.find((film) => !(film.id in round.my_votes)) ?? null;
  }

  drawBody() {
    clear(this.body);
    const round = this.round;
    if (round.status === "closed") { this.drawResult(); return; }
    const inRound = round.eligible.includes(this.state.me);
    if (!inRound) { this.body.append(h("p", { class: "muted" }, t("round.late"))); return; }
    if (round.mode === "match") this.drawMatch();
    else if (round.mode === "poll") this.drawPoll();
    else this.drawVeto();
  }

  drawTally() {
    const round = this.round;
    const parts = [];
    if (round.status === "open" && round.mode !== "veto") {
      const eligible = round.eligible_count ?? round.eligible.length;
      parts.push(h("p", { class: "tally", role: "status" }, t(round.mode === "match" ? "round.done_count" : "round.voted_count", { count: round.voted, total: eligible })));
      if (round.mode === "match" && Object.keys(round.answered ?? {}).length) {
        // How far each member is (cards answered), never what they answered.
        const cards = round.films.length;
        parts.push(h("p", { class: "muted small progress" }, Object.entries(round.answered).map(([id, n]) => `${nameOf(this.state, id) ?? t("someone")} ${n}/${cards}`).join(" · ")));
      }
      if (round.standings && !round.hidden) parts.push(bars(round.standings.scores ?? {}, this.films, t(`standings.${round.standings.method}`)));
    }
    this.tally.replaceChildren(...parts);
  }

  focusTarget() {
    if (!this.round) return null;
    if (this.round.status === "closed") return this.body.querySelector(".result-sentence");
    // In order of preference (querySelector with a list would take document order).
    for (const selector of [".swipe-card", ".ranking li", ".veto button:not([disabled])", ".veto-status", "button:not([disabled])"]) {
      const found = this.body.querySelector(selector);
      if (found) return found;
    }
    return null;
  }

  drawMatch() {
    const round = this.round;
    const card = this.nextCard();
    if (!card) { this.body.append(h("p", { class: "lede" }, t("match.all_done"))); return; }
    const index = round.films.indexOf(card) + 1;
    const { lists } = listCounts(this.state);
    const wanted = this.state.candidates?.candidates?.find((c) => c.film.id === card.id)?.wanted_by;
    const vote = async (choice) => {
      const hadFocus = this.body.contains(document.activeElement);
      this.dispatch({ type: "ui.vote", film_id: card.id, choice });
      if (hadFocus || document.activeElement === document.body) this.focusTarget()?.focus();
      if (!(await this.command({ type: "vote", round_id: round.round_id, film_id: card.id, choice }))) {
        this.dispatch({ type: "ui.vote.undo", film_id: card.id });
      }
    };
    this.vote = vote;
    const text = filmBody(card, {
      tag: "p",
      // A title card already shows the title and year in large type.
      titleClass: posterOf(card) ? "card-title" : "card-title sr-only",
      year: posterOf(card) ? "facts" : false,
      overview: "inline",
      credit: this.state.filmData,
      lines: wanted && lists ? [h("p", { class: "card-meta" }, t("card.on_lists", { count: wanted, total: lists }))] : [],
    });
    text.classList.add("card-text");
    // The film's page, then the provider's credit last.
    const link = filmLinkElement(card);
    if (link) text.insertBefore(link, text.querySelector(".film-credit"));
    const swipe = h("div", { class: "swipe-card", tabindex: 0, role: "group", "aria-roledescription": t("match.card_role"), "aria-label": labelOf(card), "aria-describedby": "swipe-hint", dataset: { filmId: card.id } },
      filmPoster(card, "large"), text);
    swipeable(swipe, (choice) => vote(choice));
    this.body.append(h("div", { class: "deck", dataset: { filmId: card.id } },
      h("p", { class: "muted small card-count" }, t("match.card_of", { count: index, total: round.films.length })),
      swipe,
      h("div", { class: "vote-buttons" },
        h("button", { type: "button", class: "no", "aria-keyshortcuts": "ArrowLeft", onclick: () => vote("no") }, t("match.no")),
        h("button", { type: "button", class: "primary yes", "aria-keyshortcuts": "ArrowRight", onclick: () => vote("yes") }, t("match.yes"))),
      h("p", { id: "swipe-hint", class: "muted small" }, t("match.hint"))));
  }

  drawPoll() {
    const round = this.round;
    const films = this.films;
    if (round.method === "approval") {
      const chosen = new Set(round.my_ballot ?? []);
      const list = h("ul", { class: "approval" }, round.films.map((film) => {
        const box = h("input", { type: "checkbox", id: `approve-${film.id}`, checked: chosen.has(film.id), onchange: () => { if (box.checked) chosen.add(film.id); else chosen.delete(film.id); } });
        return h("li", { dataset: { filmId: film.id } }, box, h("label", { for: `approve-${film.id}` }, filmPicture(film), rowText(film)));
      }));
      const submit = h("button", { type: "button", class: "primary", onclick: async () => {
        const ranking = round.films.map((f) => f.id).filter((id) => chosen.has(id));
        if (await this.command({ type: "ballot", round_id: round.round_id, ranking })) { this.dispatch({ type: "ui.ballot", ranking }); announce(t("poll.saved")); }
      } }, round.my_ballot ? t("poll.update") : t("poll.submit"));
      this.body.append(h("p", { class: "muted small" }, t("poll.approval_hint")), list, submit,
        round.my_ballot ? h("p", { class: "note small" }, t("poll.in")) : null);
      return;
    }
    const list = h("ol", { class: "ranking", "aria-label": t("poll.ranking_label") });
    const move = (from, to) => {
      if (to < 0 || to >= this.ranking.length) return;
      const [id] = this.ranking.splice(from, 1);
      this.ranking.splice(to, 0, id);
      this.bodyKey = null;
      this.update(this.state);
      this.body.querySelectorAll(".ranking li")[to]?.focus();
    };
    this.ranking.forEach((id, index) => {
      const film = films.get(id);
      const item = h("li", { tabindex: 0, draggable: "true", dataset: { filmId: id }, "aria-label": `${index + 1}. ${labelOf(film)}` },
        h("span", { class: "rank" }, String(index + 1)), filmPicture(film), rowText(film),
        h("span", { class: "row moves" },
          h("button", { type: "button", class: "ghost small", "aria-label": t("poll.up", { film: titleOf(film) }), disabled: index === 0, onclick: () => move(index, index - 1) }, "↑"),
          h("button", { type: "button", class: "ghost small", "aria-label": t("poll.down", { film: titleOf(film) }), disabled: index === this.ranking.length - 1, onclick: () => move(index, index + 1) }, "↓")));
      item.addEventListener("keydown", (event) => {
        if (event.altKey && event.key === "ArrowUp") { event.preventDefault(); move(index, index - 1); }
        if (event.altKey && event.key === "ArrowDown") { event.preventDefault(); move(index, index + 1); }
      });
      item.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", String(index)));
      item.addEventListener("dragover", (event) => event.preventDefault());
      item.addEventListener("drop", (event) => { event.preventDefault(); move(Number(event.dataTransfer.getData("text/plain")), index); });
      list.append(item);
    });
    const submit = h("button", { type: "button", class: "primary", id: "submit-ballot", onclick: async () => {
      const ranking = [...this.ranking];
      if (await this.command({ type: "ballot", round_id: round.round_id, ranking })) { this.dispatch({ type: "ui.ballot", ranking }); announce(t("poll.saved")); }
    } }, round.my_ballot ? t("poll.update") : t("poll.submit"));
    this.body.append(h("p", { class: "muted small" }, t("poll.rank_hint")), list, submit,
      round.my_ballot ? h("p", { class: "note small" }, t("poll.in")) : null);
  }

  drawVeto() {
    const round = this.round;
    const mine = round.turn === this.state.me;
    const seconds = round.turn_ends_at ? Math.max(0, Math.round((round.turn_ends_at - Date.now()) / 1000)) : null;
    const who = nameOf(this.state, round.turn) ?? t("someone");
    this.body.append(
      h("p", { class: `veto-status ${mine ? "note" : "muted"}`, role: "status", tabindex: -1 },
        mine ? t("veto.your_turn") : seconds !== null ? t("veto.turn_skip", { name: who, count: seconds }) : t("veto.turn", { name: who })),
      h("p", { class: "muted small" }, t("veto.order", { names: round.order.map((id) => nameOf(this.state, id) ?? "?").join(" → ") })));
    const remaining = new Set(round.remaining ?? []);
    this.body.append(h("ul", { class: "veto" }, round.films.map((film) => h("li", { class: remaining.has(film.id) ? "" : "struck", dataset: { filmId: film.id } },
      filmPicture(film), rowText(film),
      remaining.has(film.id)
        ? h("button", { type: "button", class: "ghost small", disabled: !mine, onclick: () => this.command({ type: "veto", round_id: round.round_id, film_id: film.id }) }, t("veto.strike", { film: titleOf(film) }))
        : h("span", { class: "muted small" }, t("veto.struck"))))));
  }

  drawResult() {
    const round = this.round;
    const films = this.films;
    const title = (id) => (films.has(id) ? titleOf(films.get(id)) : id);
    const sentence = resultSentence(round, title);
    const winner = round.winner;
    if (winner) {
      this.body.append(h("div", { class: "winner", dataset: { filmId: winner.id } },
        filmPicture(winner, "large"),
        h("div", { class: "stack winner-text" },
          h("p", { class: "eyebrow" }, round.mode === "match" ? t("result.match_eyebrow") : t("result.eyebrow")),
          filmBody(winner, { tag: "p", titleClass: "winner-title", year: "facts", overview: "details", credit: this.state.filmData }),
          filmLinkElement(winner),
          this.watchButton(winner))));
    } else {
      this.body.append(h("p", { class: "winner-title" }, t("result.no_winner")));
    }
    this.body.append(h("p", { class: "result-sentence lede", tabindex: -1 }, t(sentence.key, sentence.params)));
    this.body.append(h("details", { class: "explanation", open: true }, h("summary", {}, t("result.details")), explain(round, films, this.state)));
  }

  watchButton(winner) {
    if (!isHost(this.state)) return null;
    if (this.state.party?.film_title === winner.title) {
      return h("button", { type: "button", class: "primary", onclick: () => this.dispatch({ type: "ui.stage", stage: "watch" }) }, t("result.go_watch"));
    }
    return h("button", { type: "button", class: "primary watch-together", onclick: () => this.watch(winner) }, t("result.watch"));
  }
}

function bars(scores, films, label) {
  const entries = Object.entries(scores).sort((a, b) => b[1] - a[1]);
  const topValue = Math.max(1, ...entries.map(([, v]) => v));
  return h("figure", { class: "chart" },
    h("figcaption", { class: "muted small" }, label),
    h("ul", { class: "bars" }, entries.map(([id, value]) => {
      // CSSOM, not a style attribute: the CSP forbids inline styles.
      const bar = h("span", { class: "bar", "aria-hidden": "true" });
      bar.style.setProperty("--w", `${Math.round((value / topValue) * 100)}%`);
      return h("li", { class: "bar-row" },
        h("span", { class: "bar-label", dir: "auto" }, films.has(id) ? titleOf(films.get(id)) : id), bar,
        h("span", { class: "bar-value" }, String(Math.round(value * 100) / 100)));
    })));
}

// The details, by the explanation's tag (`kind`).
function explain(round, films, state) {
  const ex = round.explanation ?? {};
  const title = (id) => (films.has(id) ? titleOf(films.get(id)) : id);
  const wrap = h("div", { class: "stack" });
  switch (ex.kind) {
    case "match": {
      const cards = answeredCards(round);
      const scores = Object.fromEntries(cards.map((c) => [c.film, c.yes]));
      wrap.append(bars(scores, films, t("result.yes_votes", { count: cards.length, total: round.films.length })));
      break;
    }
    case "approval":
      wrap.append(bars(ex.approvals, films, t("result.approvals", { count: ex.ballots })));
      break;
    case "borda":
      wrap.append(bars(ex.scores, films, t("result.points", { count: ex.ballots })));
      break;
    case "irv":
      wrap.append(h("p", { class: "muted small" }, t("result.irv_rounds")), h("ol", { class: "irv" }, ex.rounds.map((r) => h("li", {},
        Object.entries(r.counts).map(([id, n]) => `${title(id)}: ${n}`).join(" · "),
        r.eliminated.length ? h("span", { class: "muted" }, ` — ${t("result.out", { films: formatList(r.eliminated.map(title)) })}`) : null))));
      break;
    case "schulze": {
      const ids = Object.keys(ex.pairwise);
      wrap.append(h("p", { class: "muted small", id: "matrix-caption" }, t("result.matrix_help")),
        h("div", { class: "table-scroll", role: "region", tabindex: 0, "aria-labelledby": "matrix-caption" },
          h("table", { class: "matrix" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("result.matrix_corner")), ids.map((id) => h("th", { scope: "col", dir: "auto" }, title(id))))),
            h("tbody", {}, ids.map((a) => h("tr", {}, h("th", { scope: "row", dir: "auto" }, title(a)), ids.map((b) => h("td", {}, a === b ? "—" : `${ex.pairwise[a][b]} (${ex.strongest[a][b]})`))))))));
      break;
    }
    case "veto":
      if (ex.strikes.length) {
        wrap.append(h("ol", { class: "strikes" }, ex.strikes.map((s) => h("li", {}, t("result.struck_by", { name: nameOf(state, s.member) ?? t("someone"), film: title(s.film) })))));
      }
      break;
    default:
      break;
  }
  if (ex.kind === "match" && ex.closest?.length) {
    wrap.append(h("p", {}, t("result.closest", { films: ex.closest.map((c) => `${title(c.film)} (${c.yes})`).join(", ") })));
  }
  return wrap;
}

// A row's text: the title (year) in the member's language, and the runtime and genres under it.
function rowText(film) {
  const facts = factsOf(film, { year: false });
  return h("span", { class: "film-title row-text", dir: "auto" }, labelOf(film),
    facts.length ? h("span", { class: "film-facts" }, facts.join(" · ")) : null);
}
