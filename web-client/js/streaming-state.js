// Where to stream, as the browser knows it: part of the pure reducer (state.js hands these
// events here), and the selectors the views read. No DOM. The server counts (docs/protocol.md,
// "Where to stream"): this module only keeps its answers and never re-decides who can stream.
//
// state.streaming = null (not asked yet) or
//   { status: "ok" | "streaming_needs_tmdb" | "error", members, choosing, mine, films: {id: …},
//     filter: bool, changed: int }
// `changed` counts streaming.services events: a view that sees it grow asks the server again.

const EMPTY = Object.freeze({ status: "loading", members: 0, choosing: 0, mine: null, films: {}, filter: false, changed: 0 });

export const STREAMING_EVENTS = ["streaming.services", "ui.streaming", "ui.streaming.unavailable", "ui.streaming.filter"];

export function reduceStreaming(state, event) {
  const before = state.streaming ?? EMPTY;
  switch (event.type) {
    case "ui.streaming": {
      const films = { ...before.films };
      for (const film of event.films ?? []) films[film.film_id] = film;
      const streaming = { ...before, status: "ok", members: event.members, choosing: event.choosing, mine: event.mine ?? null, films };
      // The filter needs someone who chose: with nobody left, it turns itself off.
      if (streaming.choosing === 0) streaming.filter = false;
      return { ...state, streaming };
    }
    case "ui.streaming.unavailable":
      return { ...state, streaming: { ...before, status: event.code === "streaming_needs_tmdb" ? event.code : "error", filter: false } };
    case "ui.streaming.filter":
      return { ...state, streaming: { ...before, filter: Boolean(event.on) && before.choosing > 0 } };
    case "streaming.services":
      // Names and counts come with the next answer, which this change makes the view ask for.
      return { ...state, streaming: { ...before, changed: before.changed + 1 }, seq: event.seq ?? state.seq };
    default:
      return state;
  }
}

// The server's answer for one film, or null while unknown.
export function streamingOf(state, filmId) {
  return state.streaming?.films?.[filmId] ?? null;
}

export function filterOn(state) {
  return Boolean(state.streaming?.filter);
}

// The candidates the list shows: with the filter on, only films every member who chose can stream.
export function visibleCandidates(state, candidates) {
  if (!filterOn(state)) return candidates;
  return candidates.filter((candidate) => streamingOf(state, candidate.film.id)?.everyone === true);
}

// Film ids whose availability the view should ask for (the server takes 200 at most).
export function filmsToAsk(state, limit = 200) {
  return (state.candidates?.candidates ?? []).slice(0, limit).map((candidate) => candidate.film.id);
}
