import { test } from "node:test";
import assert from "node:assert/strict";
import { answeredCards, resultSentence } from "../js/results.js";
import { filmLink, titleHue } from "../js/films.js";

const films = ["a", "b", "c", "d", "e"].map((id) => ({ id, title: id.toUpperCase(), year: 2000 }));
const title = (id) => id.toUpperCase();
const round = (extra) => ({ films, eligible: ["x", "y", "z"], tied: [], answered: {}, winner: null, ...extra });

test("a match lists the cards answered, not the unreached ones as 0", () => {
  const r = round({ winner: films[1], tied: ["b"], answered: { x: 2, y: 2, z: 1 }, explanation: { kind: "match", yes: { a: 1, b: 3, c: 0, d: 0, e: 0 }, cards: 5, closest: [] } });
  assert.deepEqual(answeredCards(r), [{ film: "a", yes: 1 }, { film: "b", yes: 3 }]);
  // No match: everyone went through every card.
  const all = round({ answered: { x: 5, y: 5, z: 5 }, explanation: { kind: "match", yes: { a: 0, b: 0, c: 0, d: 0, e: 0 }, cards: 5, closest: [] } });
  assert.equal(answeredCards(all).length, 5);
  // The last tally may be older than the result: a yes further on still counts as reached.
  const late = round({ answered: { x: 1 }, explanation: { kind: "match", yes: { a: 0, b: 0, c: 2, d: 0, e: 0 }, cards: 5, closest: [] } });
  assert.deepEqual(answeredCards(late).map((c) => c.film), ["a", "b", "c"]);
});

test("one sentence per explanation kind", () => {
  const s = (extra) => resultSentence(round(extra), title);
  assert.deepEqual(s({ winner: films[0], tied: ["a"], explanation: { kind: "match", yes: { a: 3 }, cards: 5, closest: [] } }), { key: "result.match", params: { film: "A" } });
  assert.equal(s({ explanation: { kind: "match", yes: {}, cards: 5, closest: [{ film: "c", yes: 2 }] } }).key, "result.match.none_closest");
  assert.deepEqual(s({ winner: films[0], tied: ["a"], explanation: { kind: "approval", approvals: { a: 3, b: 1 }, ballots: 3 } }).params, { film: "A", count: 3, total: 3 });
  assert.equal(s({ winner: films[0], tied: ["a"], explanation: { kind: "borda", scores: { a: 7.5 }, ballots: 3 } }).params.count, 7.5);
  assert.equal(s({ winner: films[0], tied: ["a"], explanation: { kind: "irv", rounds: [{ counts: { a: 2 }, eliminated: [] }], ballots: 3 } }).key, "result.irv.first");
  assert.deepEqual(s({ winner: films[0], tied: ["a"], explanation: { kind: "irv", rounds: [{}, {}], ballots: 3 } }), { key: "result.irv.later", params: { film: "A", count: 2 } });
  const pairwise = { a: { b: 2, c: 2 }, b: { a: 1, c: 2 }, c: { a: 1, b: 1 } };
  assert.equal(s({ winner: films[0], tied: ["a"], explanation: { kind: "schulze", pairwise, strongest: pairwise, ballots: 3 } }).key, "result.schulze.condorcet");
  const cycle = { a: { b: 2, c: 1 }, b: { a: 1, c: 2 }, c: { a: 2, b: 1 } };
  assert.equal(s({ winner: films[0], tied: ["a"], explanation: { kind: "schulze", pairwise: cycle, strongest: cycle, ballots: 3 } }).key, "result.schulze.paths");
  assert.deepEqual(s({ winner: films[0], tied: ["a", "b", "c"], explanation: { kind: "borda", scores: {}, ballots: 3 } }), { key: "result.tie", params: { count: 3, film: "A" } });
  assert.deepEqual(s({ winner: films[0], tied: ["a"], explanation: { kind: "veto", strikes: [{ member: "x", film: "b" }], skipped: [], remaining: ["a"] } }), { key: "result.veto", params: { film: "A", count: 1 } });
  assert.equal(s({ winner: films[0], tied: ["a", "b"], explanation: { kind: "veto", strikes: [], skipped: [], remaining: ["a", "b"] } }).key, "result.veto.closed");
  assert.equal(s({ explanation: { kind: "borda", scores: {}, ballots: 0 } }).key, "result.none");
});

test("a title gets a stable hue; a film links to Letterboxd or IMDb when known", () => {
  assert.equal(titleHue("Alien"), titleHue("Alien"));
  assert.notEqual(titleHue("Alien"), titleHue("Heat"));
  assert.ok(titleHue("Солярис") >= 0 && titleHue("Солярис") < 360);
  assert.deepEqual(filmLink({ slug: "alien" }), { site: "letterboxd", href: "https://letterboxd.com/film/alien/" });
  assert.deepEqual(filmLink({ slug: null, imdb_id: "tt0078748" }), { site: "imdb", href: "https://www.imdb.com/title/tt0078748/" });
  assert.equal(filmLink({ slug: null }), null);
});
