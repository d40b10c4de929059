// Film details in the browser: the reducer merges films.enriched into every copy of a film and
// keeps each import's look-up counts; titles follow the member's language; runtimes through Intl.
import { test } from "node:test";
import assert from "node:assert/strict";
import { filmFacts, filmOverview, filmTitle, formatRuntime, hasDetails, partyFilm } from "../js/films.js";
import { enrichmentProgress, initialState, mergeFilms, reduce } from "../js/state.js";

const bare = (id, title, year) => ({ id, title, year, slug: null, poster_url: null, genres: [], directors: [], titles: {} });
const MATRIX = bare("1", "The Matrix", 1999);
const LEO = bare("2", "Leo", 2023);
const DETAILS = {
  ...MATRIX, poster_url: "/posters/0123456789abcdef0123456789abcdef.jpg", runtime_minutes: 136,
  genres: ["Action", "Science Fiction"], directors: ["Lana Wachowski", "Lilly Wachowski"],
  titles: { en: "The Matrix", ru: "Матрица" }, overview: "A hacker learns the truth.", tmdb_id: 603,
};

function session(extra = {}) {
  const welcome = {
    type: "welcome", member_id: "ana", seq: 3, resumed: false, server_time: 1,
    session: {
      session_id: "s1", title: "Friday", state: "lobby", host_id: "ana", seq: 3, created_at: 1,
      members: [{ member_id: "ana", name: "Ana", host: true, online: true, films: 2 }],
      party: { film_title: null, media_url: null, control: "host", playback: { state: "paused", position_ms: 0, rate: 1, at: 0, version: 0 }, ready: [] },
      round: null, chat: [], film_data: "tmdb", ...extra,
    },
  };
  let state = reduce(initialState, welcome);
  state = reduce(state, { type: "candidates", seq: 4, member_count: 1, lists: 1, members: 1, total: 2, waiting: [],
    candidates: [{ film: MATRIX, wanted_by: 1, nominated: false }, { film: LEO, wanted_by: 1, nominated: false }] });
  return state;
}

const enriched = (counts, films = [], import_id = "i1") => ({
  type: "films.enriched", films, enriched: 0, unlinked: 0, skipped: 0, failed: 0, remaining: 0,
  failure: null, message: null, import_id, ...counts,
});

test("the welcome says which provider to credit; none without one", () => {
  assert.equal(session().filmData, "tmdb");
  assert.equal(session({ film_data: undefined }).filmData, "none");
});

test("films.enriched fills in the candidates' cards by id and leaves the others be", () => {
  const before = session();
  const after = reduce(before, enriched({ enriched: 1, remaining: 1 }, [DETAILS]));
  const [matrix, leo] = after.candidates.candidates;
  assert.equal(matrix.film.runtime_minutes, 136);
  assert.deepEqual(matrix.film.titles, { en: "The Matrix", ru: "Матрица" });
  assert.equal(matrix.wanted_by, 1);
  assert.equal(leo, before.candidates.candidates[1]); // untouched, same object
  assert.equal(before.candidates.candidates[0].film.runtime_minutes, undefined); // pure
});

test("details reach the round's cards and its winner too", () => {
  let state = session();
  state = reduce(state, { type: "round.started", seq: 5, round_id: "r1", mode: "match", films: [MATRIX, LEO], eligible: ["ana"], order: [] });
  state = reduce(state, { type: "round.result", seq: 6, round_id: "r1", mode: "match", winner: MATRIX, tied: [], explanation: { kind: "match", yes: {} } });
  state = reduce(state, enriched({ enriched: 1 }, [DETAILS]));
  assert.equal(state.round.films[0].poster_url, DETAILS.poster_url);
  assert.equal(state.round.winner.runtime_minutes, 136);
  assert.equal(state.round.films[1], LEO);
});

test("merging nothing returns the same state", () => {
  const state = session();
  assert.equal(mergeFilms(state, []), state);
});

test("progress: looked up of all while it runs, then done; each import counted apart", () => {
  let state = session();
  assert.equal(enrichmentProgress(state), null);
  state = reduce(state, enriched({ enriched: 15, unlinked: 3, skipped: 2, remaining: 1480 }));
  assert.deepEqual(enrichmentProgress(state), { done: false, looked: 20, total: 1500, enriched: 15, unlinked: 3, skipped: 2, failed: 0, failure: null });
  // Ben's import runs beside Ana's: the counts add up, neither replaces the other.
  state = reduce(state, enriched({ enriched: 20, remaining: 30 }, [], "i2"));
  assert.equal(enrichmentProgress(state).looked, 40);
  assert.equal(enrichmentProgress(state).total, 1550);
  state = reduce(state, enriched({ enriched: 1400, unlinked: 90, skipped: 10, remaining: 0 }));
  state = reduce(state, enriched({ enriched: 50, remaining: 0 }, [], "i2"));
  const done = enrichmentProgress(state);
  assert.equal(done.done, true);
  assert.equal(done.enriched, 1450);
  assert.equal(done.skipped, 10);
  // A later import starts the tally afresh.
  state = reduce(state, enriched({ enriched: 5, remaining: 15 }, [], "i3"));
  assert.deepEqual([enrichmentProgress(state).looked, enrichmentProgress(state).total], [5, 20]);
});

test("a provider failure is kept for the host, whatever batch said it", () => {
  let state = session();
  state = reduce(state, enriched({ failed: 20, remaining: 0, failure: "bad_key", message: "refused" }));
  const progress = enrichmentProgress(state);
  assert.equal(progress.failure, "bad_key");
  assert.equal(progress.done, true);
  assert.equal(progress.failed, 20);
});

test("an event of another shape leaves the details alone", () => {
  const state = session();
  assert.equal(reduce(state, { type: "presence", online: [], offline: [] }).enrichment, null);
});

test("titles follow the member's language, the list's title otherwise", () => {
  assert.equal(filmTitle(DETAILS, "ru"), "Матрица");
  assert.equal(filmTitle(DETAILS, "en"), "The Matrix");
  assert.equal(filmTitle({ ...DETAILS, titles: { en: "The Matrix" } }, "ru"), "The Matrix");
  assert.equal(filmTitle(LEO, "ru"), "Leo");
  assert.equal(filmTitle({ ...LEO, titles: undefined }, "ru"), "Leo");
});

test("overviews follow the member's language, the server's otherwise", () => {
  const film = { ...DETAILS, overviews: { ru: "Хакер узнаёт правду." } };
  assert.equal(filmOverview(film, "ru"), "Хакер узнаёт правду.");
  assert.equal(filmOverview(film, "en"), DETAILS.overview);
  assert.equal(filmOverview(LEO, "ru"), "");
});

test("runtimes through Intl: hours and minutes in each language", () => {
  const plain = (text) => text.replace(/\s/g, " ");
  assert.equal(plain(formatRuntime(112, "en")), "1 hr 52 min");
  assert.equal(plain(formatRuntime(112, "ru")), "1 ч 52 мин");
  assert.equal(plain(formatRuntime(45, "en")), "45 min");
  assert.equal(plain(formatRuntime(120, "ru")), "2 ч");
  assert.equal(formatRuntime(null, "en"), "");
  assert.equal(formatRuntime(0, "en"), "");
  assert.equal(formatRuntime(-5, "en"), "");
});

test("a card's facts: year, runtime, at most three genres, translated by the caller", () => {
  const film = { ...DETAILS, genres: ["Action", "Science Fiction", "Drama", "War"] };
  const facts = filmFacts(film, "en", (g) => g.toUpperCase()).map((f) => f.replace(/\s/g, " "));
  assert.deepEqual(facts, ["1999", "2 hr 16 min", "ACTION, SCIENCE FICTION, DRAMA"]);
  assert.deepEqual(filmFacts(film, "en", undefined, { year: false }).length, 2);
  assert.deepEqual(filmFacts(LEO, "en"), ["2023"]);
  assert.equal(hasDetails(LEO), false);
  assert.equal(hasDetails(DETAILS), true);
});

test("the party's film is found by the title the host set: the winner first", () => {
  let state = session();
  state = reduce(state, enriched({ enriched: 1 }, [DETAILS]));
  state = reduce(state, { type: "party", film_title: "The Matrix", media_url: null, control: "host", reset: true });
  assert.equal(partyFilm(state).runtime_minutes, 136);
  state = reduce(state, { type: "party", film_title: "Something else", media_url: null, control: "host", reset: true });
  assert.equal(partyFilm(state), null);
});
