// Voting rounds: a card deck (match), a ranking (poll), a strike list (veto), live tallies, results.
import { announce, append, clear, h, keepFocus } from "../dom.js";
import { filmLabel, poster } from "./candidates.js";

// Like Element.append, but skips null children (Element.append would print "null").
const add = (el, ...children) => append(el, children);

const METHOD_NAMES = { schulze: "Schulze", irv: "instant runoff", borda: "Borda count", approval: "approval" };

export class RoundPanel {
  constructor({ live, me, isHost, nameOf, watch }) {
    this.live = live;
    this.me = me;
    this.isHost = isHost;
    this.nameOf = nameOf;
    this.watch = watch;
    this.round = null;
    this.ranking = [];
    this.root = h("section", { class: "card stack round", "aria-labelledby": "round-heading", hidden: true });
    this.root.addEventListener("keydown", (event) => this.key(event));
  }

  get films() {
    return new Map((this.round?.films ?? []).map((film) => [film.id, film]));
  }

  setRound(info) {
    this.round = info ? { ...info, my_votes: { ...(info.my_votes ?? {}) } } : null;
    this.ranking = info?.my_ballot?.length ? [...info.my_ballot, ...info.films.map((f) => f.id).filter((id) => !info.my_ballot.includes(id))] : (info?.films ?? []).map((f) => f.id);
    this.render();
  }

  apply(event) {
    if (event.type === "round.started") {
      this.setRound({ ...event, status: "open", voted: 0, my_votes: {}, my_ballot: null, remaining: event.mode === "veto" ? event.films.map((f) => f.id) : null, explanation: null, tied: [], winner: null });
      announce(`A ${event.mode} round started`);
      this.root.querySelector("button:not([disabled])")?.focus();
      return;
    }
    if (!this.round || event.round_id !== this.round.round_id) return;
    if (event.type === "round.tally") {
      Object.assign(this.round, { voted: event.voted, eligible_count: event.eligible, standings: event.standings ?? this.round.standings });
      if (event.answered && Object.keys(event.answered).length) this.round.answered = event.answered;
      if (event.turn !== undefined && event.turn !== null) this.round.turn = event.turn;
      if (event.remaining) this.round.remaining = event.remaining;
      if (event.turn_ends_at !== undefined) this.round.turn_ends_at = event.turn_ends_at;
      if (event.struck) announce(`${this.nameOf(event.by)} struck ${filmLabel(this.films.get(event.struck) ?? { title: "a film" })}`);
      if (this.round.mode === "veto" && this.round.turn === this.me) announce("Your turn to strike a film");
    } else if (event.type === "round.result") {
      Object.assign(this.round, { status: "closed", winner: event.winner, tied: event.tied, explanation: event.explanation });
      announce(event.winner ? `The pick: ${filmLabel(event.winner)}` : "No film won this round");
    }
    this.render();
  }

  async send(command, errorEl) {
    try {
      await this.live.send(command);
      return true;
    } catch (failure) {
      if (errorEl) errorEl.textContent = failure.message;
      return false;
    }
  }

  render() {
    keepFocus(this.root, () => this.draw());
  }

  draw() {
    const round = this.round;
    clear(this.root);
    this.root.hidden = !round;
    if (!round) return;
    const heading = round.mode === "poll" ? `Poll · ${METHOD_NAMES[round.method] ?? round.method}` : round.mode === "match" ? "Match" : "Veto";
    add(this.root, h("h2", { id: "round-heading" }, round.status === "closed" ? `${heading} · result` : heading));
    if (round.status === "closed") { this.renderResult(); return; }
    const eligible = round.eligible_count ?? round.eligible.length;
    const inRound = round.eligible.includes(this.me);
    if (!inRound) add(this.root, h("p", { class: "muted" }, "You joined after this round started: you can watch, and vote in the next one."));
    if (round.mode === "match") this.renderMatch(inRound);
    else if (round.mode === "poll") this.renderPoll(inRound);
    else this.renderVeto(inRound);
    if (round.mode !== "veto") add(this.root, h("p", { class: "tally", role: "status" }, `${round.voted} of ${eligible} ${round.mode === "match" ? "done" : "voted"}`));
    if (round.mode === "match" && round.answered && Object.keys(round.answered).length) {
      // How far each member is (cards answered), never what they answered.
      const cards = round.films.length;
      add(this.root, h("p", { class: "muted small progress" }, Object.entries(round.answered).map(([id, n]) => `${this.nameOf(id)} ${n}/${cards}`).join(" · ")));
    }
    if (round.standings && !round.hidden) add(this.root, bars(round.standings, this.films));
    if (this.isHost()) {
      const error = h("p", { class: "form-error", role: "alert" });
      add(this.root, h("div", { class: "row" }, h("button", { type: "button", class: "ghost", onclick: () => this.send({ type: "round.close", round_id: round.round_id }, error) }, round.mode === "poll" ? "Close the poll" : "End the round")), error);
    }
  }

  renderMatch(inRound) {
    const round = this.round;
    const next = round.films.find((film) => !(film.id in round.my_votes));
    const error = h("p", { class: "form-error", role: "alert" });
    if (!inRound) return;
    if (!next) {
      add(this.root, h("p", {}, "You've been through every card. Waiting for the others…"));
      return;
    }
    const index = round.films.indexOf(next) + 1;
    const vote = async (choice) => {
      round.my_votes[next.id] = choice;
      if (!(await this.send({ type: "vote", round_id: round.round_id, film_id: next.id, choice }, error))) delete round.my_votes[next.id];
      this.render();
      this.root.querySelector(".deck button")?.focus();
    };
    add(this.root, h("div", { class: "deck", dataset: { filmId: next.id } },
      h("p", { class: "muted small" }, `Card ${index} of ${round.films.length} · your votes stay secret until there's a match`),
      poster(next, "large"),
      h("p", { class: "card-title" }, filmLabel(next)),
      h("div", { class: "row" },
        h("button", { type: "button", class: "no", "aria-keyshortcuts": "ArrowLeft", onclick: () => vote("no") }, "← No"),
        h("button", { type: "button", class: "primary yes", "aria-keyshortcuts": "ArrowRight", onclick: () => vote("yes") }, "Yes →"))),
    error);
  }

  renderPoll(inRound) {
    const round = this.round;
    const films = this.films;
    const error = h("p", { class: "form-error", role: "alert" });
    if (!inRound) return;
    if (round.method === "approval") {
      const chosen = new Set(round.my_ballot ?? []);
      const list = h("ul", { class: "approval" }, round.films.map((film) => {
        const box = h("input", { type: "checkbox", id: `approve-${film.id}`, checked: chosen.has(film.id), onchange: () => { if (box.checked) chosen.add(film.id); else chosen.delete(film.id); } });
        return h("li", { dataset: { filmId: film.id } }, box, h("label", { for: `approve-${film.id}` }, poster(film), filmLabel(film)));
      }));
      const submit = h("button", { type: "button", class: "primary", onclick: async () => {
        const ranking = round.films.map((f) => f.id).filter((id) => chosen.has(id));
        if (await this.send({ type: "ballot", round_id: round.round_id, ranking }, error)) { round.my_ballot = ranking; announce("Ballot saved"); this.render(); }
      } }, round.my_ballot ? "Update my ballot" : "Submit my ballot");
      add(this.root, h("p", { class: "muted small" }, "Tick every film you'd be happy to watch."), list, submit, error);
      return;
    }
    const list = h("ol", { class: "ranking", "aria-label": "Your ranking, best first. Alt+Up and Alt+Down move the focused film." });
    const move = (from, to) => {
      if (to < 0 || to >= this.ranking.length) return;
      const [id] = this.ranking.splice(from, 1);
      this.ranking.splice(to, 0, id);
      this.render();
      this.root.querySelectorAll(".ranking li")[to]?.focus();
    };
    this.ranking.forEach((id, index) => {
      const film = films.get(id);
      const item = h("li", { tabindex: 0, draggable: "true", dataset: { filmId: id }, "aria-label": `${index + 1}. ${filmLabel(film)}` },
        h("span", { class: "rank" }, String(index + 1)), poster(film), h("span", { class: "film-title" }, filmLabel(film)),
        h("span", { class: "row" },
          h("button", { type: "button", class: "ghost small", "aria-label": `Move ${film.title} up`, disabled: index === 0, onclick: () => move(index, index - 1) }, "↑"),
          h("button", { type: "button", class: "ghost small", "aria-label": `Move ${film.title} down`, disabled: index === this.ranking.length - 1, onclick: () => move(index, index + 1) }, "↓")));
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
      if (await this.send({ type: "ballot", round_id: round.round_id, ranking }, error)) { round.my_ballot = ranking; announce("Ballot saved"); this.render(); }
    } }, round.my_ballot ? "Update my ballot" : "Submit my ballot");
    add(this.root, h("p", { class: "muted small" }, "Drag, or use the arrows, to put your favourite first. You can change your ballot until the poll closes."), list, submit,
      round.my_ballot ? h("p", { class: "notice small" }, "Your ballot is in.") : null, error);
  }

  renderVeto(inRound) {
    const round = this.round;
    const films = this.films;
    const error = h("p", { class: "form-error", role: "alert" });
    const mine = round.turn === this.me && inRound;
    const seconds = round.turn_ends_at ? Math.max(0, Math.round((round.turn_ends_at - Date.now()) / 1000)) : null;
    add(this.root, h("p", { class: mine ? "notice" : "muted", role: "status" },
      mine ? "Your turn: strike the film you least want to watch." : `${this.nameOf(round.turn)}'s turn${seconds !== null ? ` (skipped after ${seconds} s if offline)` : ""}`),
    h("p", { class: "muted small" }, `Turn order: ${round.order.map((id) => this.nameOf(id)).join(" → ")}`));
    const remaining = new Set(round.remaining ?? []);
    add(this.root, h("ul", { class: "veto" }, round.films.map((film) => h("li", { class: remaining.has(film.id) ? "" : "struck", dataset: { filmId: film.id } },
      poster(film), h("span", { class: "film-title" }, filmLabel(film)),
      remaining.has(film.id) ? h("button", { type: "button", class: "ghost small", disabled: !mine, onclick: () => this.send({ type: "veto", round_id: round.round_id, film_id: film.id }, error) }, `Strike ${film.title}`) : h("span", { class: "muted small" }, "struck")))), error);
    if (mine) this.root.querySelector(".veto button:not([disabled])")?.focus();
  }

  renderResult() {
    const round = this.round;
    const films = this.films;
    const winner = round.winner;
    if (winner) {
      add(this.root, h("div", { class: "winner", dataset: { filmId: winner.id } },
        poster(winner, "large"),
        h("div", { class: "stack" },
          h("p", { class: "eyebrow" }, round.mode === "match" ? "It's a match!" : "Tonight's film"),
          h("p", { class: "winner-title" }, winner.title),
          winner.year ? h("p", { class: "muted" }, String(winner.year)) : null,
          round.tied.length > 1 ? h("p", { class: "muted small" }, `Tied with ${round.tied.filter((id) => id !== winner.id).map((id) => films.get(id)?.title ?? id).join(", ")}; the tie went to the film higher on the shortlist.`) : null,
          this.isHost() && this.watch ? h("button", { type: "button", class: "primary", onclick: () => this.watch(winner) }, "Watch it together") : null)));
    } else {
      add(this.root, h("p", { class: "winner-title" }, "No match this time."));
    }
    add(this.root, explain(round, films));
  }

  key(event) {
    if (!this.round || this.round.status !== "open" || this.round.mode !== "match") return;
    if (event.target instanceof HTMLInputElement) return;
    if (event.key === "ArrowRight") { event.preventDefault(); this.root.querySelector(".deck .yes")?.click(); }
    if (event.key === "ArrowLeft") { event.preventDefault(); this.root.querySelector(".deck .no")?.click(); }
  }
}

function bars(standings, films) {
  const scores = standings.scores ?? {};
  const entries = Object.entries(scores).sort((a, b) => b[1] - a[1]);
  const top = Math.max(1, ...entries.map(([, v]) => v));
  return h("div", { class: "chart", role: "img", "aria-label": standings.label ?? "Standings" },
    h("p", { class: "muted small" }, standings.label ?? "Standings"),
    entries.map(([id, value]) => {
      // CSSOM, not a style attribute: the CSP forbids inline styles.
      const bar = h("span", { class: "bar" });
      bar.style.setProperty("--w", `${Math.round((value / top) * 100)}%`);
      return h("div", { class: "bar-row" },
        h("span", { class: "bar-label" }, films.get(id)?.title ?? id), bar,
        h("span", { class: "bar-value" }, String(Math.round(value * 100) / 100)));
    }));
}

// The explanation names its shape in `kind` (the poll's method, or "match" / "veto").
function explain(round, films) {
  const ex = round.explanation;
  const title = (id) => films.get(id)?.title ?? id;
  const wrap = h("div", { class: "explanation stack" });
  switch (ex?.kind) {
    case "approval":
      wrap.append(bars({ scores: ex.approvals, label: "Approvals" }, films));
      break;
    case "borda":
      wrap.append(bars({ scores: ex.scores, label: "Borda points" }, films));
      break;
    case "irv":
      wrap.append(h("p", { class: "muted small" }, "Instant-runoff rounds"), h("ol", { class: "irv" }, ex.rounds.map((r) => h("li", {},
        Object.entries(r.counts).map(([id, n]) => `${title(id)}: ${n}`).join(" · "),
        r.eliminated.length ? h("span", { class: "muted" }, ` — out: ${r.eliminated.map(title).join(", ")}`) : null))));
      break;
    case "schulze": {
      const ids = Object.keys(ex.pairwise);
      wrap.append(h("p", { class: "muted small" }, "Head to head: how many preferred the row's film to the column's (strongest path in brackets)"),
        h("table", { class: "matrix" },
          h("thead", {}, h("tr", {}, h("th", {}, ""), ids.map((id) => h("th", { scope: "col" }, title(id))))),
          h("tbody", {}, ids.map((a) => h("tr", {}, h("th", { scope: "row" }, title(a)), ids.map((b) => h("td", {}, a === b ? "—" : `${ex.pairwise[a][b]} (${ex.strongest[a][b]})`)))))));
      break;
    }
    case "match":
      wrap.append(bars({ scores: ex.yes, label: "Yes votes" }, films));
      if (ex.closest.length) wrap.append(h("p", {}, "Closest: ", ex.closest.map((c) => `${title(c.film)} (${c.yes} yes)`).join(", ")));
      break;
    case "veto":
      if (ex.strikes.length) wrap.append(h("p", { class: "muted small" }, "Struck: ", ex.strikes.map((s) => title(s.film)).join(", ")));
      break;
    default:
      break;
  }
  return wrap;
}
