import { test } from "node:test";
import assert from "node:assert/strict";
import { initialState, reduce } from "../js/state.js";
import { filmsToAsk, filterOn, streamingOf, visibleCandidates } from "../js/streaming-state.js";
import { setLanguage } from "../js/i18n.js";
import { serviceKey, serviceText } from "../js/views/streaming.js";

const film = (id, title) => ({ film: { id, title }, wanted_by: 2, nominated: false });
const CANDIDATES = { type: "ui.candidates", member_count: 2, candidates: [film("1", "The Matrix"), film("2", "Amélie"), film("3", "Heat")], total: 3, waiting: [], lists: 2, members: 2 };
const netflix = { service_id: 8, name: "Netflix", members: 2 };
const ANSWER = {
  type: "ui.streaming", members: 2, choosing: 2, mine: { region: "US", services: [{ id: 8, name: "Netflix" }] },
  films: [
    { film_id: "1", known: true, streams: [netflix], everyone: true, other: [], rent: ["Apple TV"], buy: [] },
    { film_id: "2", known: true, streams: [{ service_id: 11, name: "MUBI", members: 1 }], everyone: false, other: [], rent: [], buy: ["Apple TV", "Google Play Movies"] },
    { film_id: "3", known: false, streams: [], everyone: false, other: [], rent: [], buy: [] },
  ],
};

function session() {
  return reduce({ ...initialState, me: "ana" }, CANDIDATES);
}

test("the server's answer is kept per film, and the filter keeps only films everyone can stream", () => {
  let state = reduce(session(), ANSWER);
  assert.equal(state.streaming.status, "ok");
  assert.equal(streamingOf(state, "1").everyone, true);
  assert.equal(filterOn(state), false);
  assert.deepEqual(visibleCandidates(state, state.candidates.candidates).map((c) => c.film.id), ["1", "2", "3"]);
  state = reduce(state, { type: "ui.streaming.filter", on: true });
  assert.deepEqual(visibleCandidates(state, state.candidates.candidates).map((c) => c.film.id), ["1"]);
  // A later answer for some films merges; the filter stays on while someone has chosen.
  state = reduce(state, { ...ANSWER, films: [{ ...ANSWER.films[1], everyone: true }] });
  assert.deepEqual(visibleCandidates(state, state.candidates.candidates).map((c) => c.film.id), ["1", "2"]);
  assert.deepEqual(filmsToAsk(state), ["1", "2", "3"]);
});

test("with nobody choosing the filter cannot be on, and turns itself off", () => {
  let state = reduce(session(), { ...ANSWER, choosing: 0 });
  state = reduce(state, { type: "ui.streaming.filter", on: true });
  assert.equal(filterOn(state), false);
  state = reduce(reduce(state, ANSWER), { type: "ui.streaming.filter", on: true });
  assert.equal(filterOn(state), true);
  state = reduce(state, { ...ANSWER, choosing: 0, films: [] });
  assert.equal(filterOn(state), false);
  assert.equal(visibleCandidates(state, state.candidates.candidates).length, 3);
});

test("a server without TMDb is remembered as such, and a member's new services ask again", () => {
  let state = reduce(session(), { type: "ui.streaming.unavailable", code: "streaming_needs_tmdb" });
  assert.equal(state.streaming.status, "streaming_needs_tmdb");
  assert.equal(reduce(session(), { type: "ui.streaming.unavailable", code: "offline" }).streaming.status, "error");
  state = reduce(reduce(session(), ANSWER), { type: "streaming.services", seq: 9, member_id: "ben", region: "GB", services: [8] });
  assert.equal(state.streaming.changed, 1);
  assert.equal(state.seq, 9);
  assert.equal(state.streaming.mine.region, "US"); // the server's answer says what is whose
  state = reduce(state, { type: "streaming.services", seq: 10, member_id: "ana", region: "DE", services: [8] });
  assert.equal(state.streaming.changed, 2);
  assert.equal(streamingOf(state, "1").everyone, true); // kept until the new answer
});

test("the service line says who can stream it, with rent and buy apart, in both languages", async () => {
  const state = reduce(session(), ANSWER);
  await setLanguage("en");
  assert.deepEqual(serviceText(state, "1"), { everyone: true, lines: ["Netflix · 2 of 2 of you", "Rent: Apple TV"] });
  assert.deepEqual(serviceText(state, "2").lines, ["MUBI · 1 of 2 of you", "Buy: Apple TV and Google Play Movies"]);
  assert.equal(serviceText(state, "3"), null); // unknown: nothing is claimed
  assert.equal(serviceText(state, "99"), null);
  const nowhere = reduce(state, { ...ANSWER, films: [{ film_id: "3", known: true, streams: [], everyone: false, other: ["Kion"], rent: [], buy: [] }] });
  assert.deepEqual(serviceText(nowhere, "3").lines, ["Streams on Kion"]);
  assert.notEqual(serviceKey(nowhere, "3"), serviceKey(state, "3"));
  await setLanguage("ru");
  assert.deepEqual(serviceText(state, "1").lines, ["Netflix · есть у 2 из 2", "Аренда: Apple TV"]);
  assert.deepEqual(serviceText(state, "2").lines, ["MUBI · есть у 1 из 2", "Покупка: Apple TV и Google Play Movies"]);
  await setLanguage("en");
});

test("a film on no service says so only to a member who said where they watch", async () => {
  await setLanguage("en");
  const none = { film_id: "3", known: true, streams: [], everyone: false, other: [], rent: [], buy: [] };
  const withRegion = reduce(session(), { ...ANSWER, films: [none] });
  assert.deepEqual(serviceText(withRegion, "3").lines, ["Not on any service in your country"]);
  const withoutRegion = reduce(session(), { ...ANSWER, choosing: 0, mine: null, films: [none] });
  assert.equal(serviceText(withoutRegion, "3"), null);
});
