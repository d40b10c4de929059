// The candidate list (films from everyone's lists), and the host's tools: nominate, start a round.
import { api } from "../api.js";
import { announce, clear, h } from "../dom.js";

const PAGE = 30;

export function poster(film, size = "small") {
  if (film.poster_url) {
    return h("img", { class: `poster ${size}`, src: film.poster_url, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
  }
  return h("span", { class: `poster ${size} blank`, "aria-hidden": "true" }, film.title.slice(0, 1));
}

export function filmLabel(film) {
  return film.year ? `${film.title} (${film.year})` : film.title;
}

export class CandidatesPanel {
  constructor({ sessionId, token, live, isHost, nameOf }) {
    this.sessionId = sessionId;
    this.token = token;
    this.live = live;
    this.isHost = isHost;
    this.nameOf = nameOf;
    this.data = { member_count: 0, candidates: [], total: 0, waiting: [] };
    this.shown = PAGE;

    this.summary = h("p", { class: "muted" });
    this.list = h("ol", { class: "candidates", "aria-label": "Candidate films" });
    this.more = h("button", { type: "button", class: "ghost small", hidden: true, onclick: () => this.loadMore() }, "Show more");
    this.hostTools = h("div", { class: "stack host-tools", hidden: true });
    this.root = h("section", { class: "card stack", "aria-labelledby": "candidates-heading" },
      h("h2", { id: "candidates-heading" }, "Films you want"), this.summary, this.list, this.more, this.hostTools);
    this.buildHostTools();
  }

  async refresh() {
    const result = await api("GET", `/api/v1/sessions/${this.sessionId}/candidates?limit=${this.shown}`, { token: this.token });
    if (result.ok) this.set(result.data);
  }

  async loadMore() {
    this.shown += PAGE;
    await this.refresh();
  }

  set(data) {
    this.data = data;
    this.render();
  }

  apply(event) {
    // Events carry the first 100; fetch more only if the member had asked for more.
    if (this.shown > event.candidates.length && event.total > event.candidates.length) this.refresh();
    else this.set(event);
  }

  render() {
    const { member_count: lists, candidates, total, waiting } = this.data;
    // "everyone" only when every member has a list; before that, "all N lists so far".
    const members = this.data.members ?? lists + waiting.length;
    const waitingNames = waiting.map((id) => this.nameOf(id));
    let text = lists === 0 ? "Nobody has imported a list yet." : `${lists} list${lists === 1 ? "" : "s"} imported · ${total} film${total === 1 ? "" : "s"}`;
    if (waitingNames.length) text += ` · waiting for ${waitingNames.join(", ")}`;
    this.summary.textContent = text;
    clear(this.list);
    for (const candidate of candidates.slice(0, this.shown)) {
      const { film, wanted_by: wanted } = candidate;
      const onEveryList = lists > 0 && wanted === lists;
      const everyone = onEveryList && lists === members;
      const label = everyone ? "everyone"
        : onEveryList ? (lists === 1 ? "the only list so far" : `all ${lists} lists so far`)
        : `${wanted}/${lists}`;
      this.list.append(h("li", { class: `candidate${everyone ? " everyone" : ""}`, dataset: { filmId: film.id } },
        poster(film),
        h("span", { class: "film-title" }, film.title, film.year ? h("span", { class: "muted" }, ` ${film.year}`) : null),
        candidate.nominated ? h("span", { class: "badge host" }, "nominated") : null,
        h("span", { class: "wanted", title: `${wanted} of ${lists} lists` }, label)));
    }
    this.more.hidden = total <= Math.min(this.shown, candidates.length);
    this.hostTools.hidden = !this.isHost();
  }

  buildHostTools() {
    const mode = h("select", { id: "round-mode" },
      h("option", { value: "match" }, "Match: yes or no to each card"),
      h("option", { value: "poll" }, "Poll: rank a shortlist"),
      h("option", { value: "veto" }, "Veto: strike films in turn"));
    const method = h("select", { id: "round-method" },
      h("option", { value: "schulze" }, "Schulze (Condorcet)"),
      h("option", { value: "irv" }, "Instant runoff"),
      h("option", { value: "borda" }, "Borda count"),
      h("option", { value: "approval" }, "Approval"));
    const size = h("input", { id: "round-size", type: "number", min: 2, max: 200, value: 5, inputmode: "numeric" });
    const hidden = h("input", { id: "round-hidden", type: "checkbox" });
    const deadline = h("input", { id: "round-deadline", type: "number", min: 0, max: 3600, placeholder: "none", inputmode: "numeric" });
    const methodRow = h("div", { class: "row wrap" }, h("label", { for: "round-method" }, "Method"), method,
      h("label", { for: "round-hidden" }, "Hide results until close"), hidden,
      h("label", { for: "round-deadline" }, "Deadline (s)"), deadline);
    const error = h("p", { class: "form-error", role: "alert" });
    const syncMode = () => { methodRow.hidden = mode.value !== "poll"; size.value = mode.value === "match" ? 20 : 5; };
    mode.addEventListener("change", syncMode);
    syncMode();
    const start = h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const command = { type: "round.start", mode: mode.value, size: Number(size.value) || undefined };
      if (mode.value === "poll") {
        command.method = method.value;
        command.hidden = hidden.checked;
        if (Number(deadline.value) > 0) command.deadline_s = Number(deadline.value);
      }
      try {
        await this.live.send(command);
      } catch (failure) {
        error.textContent = failure.message;
      }
    } },
      h("div", { class: "row wrap" }, h("label", { for: "round-mode" }, "Round"), mode, h("label", { for: "round-size" }, "How many films"), size),
      methodRow,
      h("button", { type: "submit", class: "primary", id: "start-round" }, "Start the round"), error);

    const query = h("input", { id: "nominate-search", type: "search", autocomplete: "off", placeholder: "Search films anyone imported", "aria-label": "Search films to nominate" });
    const results = h("ul", { class: "search-results", "aria-label": "Search results" });
    const title = h("input", { id: "nominate-title", maxlength: 200, placeholder: "Title", "aria-label": "Film title" });
    const year = h("input", { id: "nominate-year", type: "number", min: 1870, max: 2100, placeholder: "Year", "aria-label": "Year", inputmode: "numeric" });
    const nominateError = h("p", { class: "form-error", role: "alert" });
    const nominate = async (body) => {
      nominateError.textContent = "";
      const result = await api("POST", `/api/v1/sessions/${this.sessionId}/nominations`, { token: this.token, body });
      if (!result.ok) { nominateError.textContent = result.error.message; return; }
      announce(`${filmLabel(result.data)} nominated`);
      clear(results);
      query.value = title.value = year.value = "";
    };
    let timer = null;
    query.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(async () => {
        const q = query.value.trim();
        clear(results);
        if (!q) return;
        const found = await api("GET", `/api/v1/sessions/${this.sessionId}/films?q=${encodeURIComponent(q)}`, { token: this.token });
        if (!found.ok) return;
        for (const film of found.data.films) {
          results.append(h("li", {}, h("button", { type: "button", class: "ghost small", onclick: () => nominate({ film_id: film.id }) }, `Nominate ${filmLabel(film)}`)));
        }
        if (!found.data.films.length) results.append(h("li", { class: "muted small" }, "Not in anyone's list: add it by title below."));
      }, 200);
    });
    const byTitle = h("form", { class: "row wrap", onsubmit: (event) => { event.preventDefault(); nominate({ title: title.value, year: year.value ? Number(year.value) : null }); } },
      title, year, h("button", { type: "submit" }, "Nominate"));
    this.hostTools.append(h("h3", {}, "Start a round"), start, h("h3", {}, "Nominate a film"), query, results, byTitle, nominateError);
  }
}
