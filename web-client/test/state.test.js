// reduce() over event shapes from docs/protocol.md: a welcome snapshot, then events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultStage, filmSet, initialState, listCounts, readyMembers, reduce } from "../js/state.js";

const film = (id, title, year = 2000) => ({ id, title, year, slug: null, poster_url: null });
const HEAT = film("f1", "Heat", 1995);
const ALIEN = film("f2", "Alien", 1979);
const member = (id, name, extra = {}) => ({ member_id: id, name, bot: false, host: false, online: true, import_state: "none", films: null, import_reason: null, ...extra });
const playback = { state: "paused", position_ms: 0, rate: 1, at: 1000, by: "ana", version: 1 };

function welcome(overrides = {}, snap = {}) {
  return {
    type: "welcome", member_id: "ben", seq: 7, resumed: false, server_time: 5000,
    session: {
      session_id: "s1", title: "Friday", state: "lobby", host_id: "ana", seq: 7, created_at: 1,
      members: [member("ana", "Ana", { host: true }), member("ben", "Ben")],
      party: { film_title: null, media_url: null, control: "host", playback, ready: [], countdown_ends_at: null },
      round: null,
      chat: [{ seq: 5, member_id: "ana", name: "Ana", text: "hi", at: 900 }],
      ...snap,
    },
    ...overrides,
  };
}

const start = (snap) => reduce(initialState, welcome({}, snap));

test("a fresh welcome replaces the state and keeps the recent chat", () => {
  const state = start();
  assert.equal(state.me, "ben");
  assert.equal(state.hostId, "ana");
  assert.deepEqual(state.members.map((m) => m.name), ["Ana", "Ben"]);
  assert.deepEqual(state.chat.map((c) => c.text), ["hi"]);
  assert.equal(state.stage, "lists"); // two members, no round, no film
});

test("the landing stage follows the session: round, film, alone, lists", () => {
  assert.equal(start({ round: { round_id: "r", mode: "match", status: "open", films: [HEAT], eligible: ["ana"], my_votes: {} } }).stage, "pick");
  assert.equal(start({ party: { film_title: "Heat", media_url: null, control: "host", playback, ready: [], countdown_ends_at: null } }).stage, "watch");
  const alone = reduce({ ...initialState }, welcome({ member_id: "ana" }, { members: [member("ana", "Ana", { host: true })] }));
  assert.equal(alone.stage, "invite");
  assert.equal(defaultStage({ ...alone, members: [...alone.members, member("ben", "Ben")] }), "lists");
});

test("a resumed welcome keeps the state and takes presence from the snapshot", () => {
  let state = start();
  state = reduce(state, { type: "chat", seq: 8, member_id: "ben", text: "popcorn", at: 1000 });
  const resumed = welcome({ resumed: true, seq: 8 }, { members: [member("ana", "Ana", { host: true, online: false }), member("ben", "Ben")], chat: [] });
  state = reduce(state, resumed);
  assert.deepEqual(state.chat.map((c) => c.text), ["hi", "popcorn"]);
  assert.equal(state.members[0].online, false);
});

test("presence changes one member in place; joins append; leaves pass the host role", () => {
  let state = start();
  const before = state.members[1];
  state = reduce(state, { type: "presence", online: [], offline: ["ana"] });
  assert.equal(state.members[0].online, false);
  assert.equal(state.members[1], before); // untouched members keep their identity
  state = reduce(state, { type: "member.joined", seq: 8, member: member("cleo", "Cleo") });
  assert.deepEqual(state.members.map((m) => m.member_id), ["ana", "ben", "cleo"]);
  assert.deepEqual([state.notice.key, state.notice.params], ["members.joined", { name: "Cleo" }]);
  const rejoined = reduce(state, { type: "member.joined", seq: 9, member: member("cleo", "Cleo") });
  assert.equal(rejoined.notice, state.notice); // a known member: no second notice
  assert.equal(rejoined.members.length, 3);
  state = reduce(state, { type: "member.left", seq: 9, member_id: "ana", reason: "left", new_host_id: "ben" });
  assert.equal(state.hostId, "ben");
  assert.deepEqual(state.members.filter((m) => m.host).map((m) => m.member_id), ["ben"]);
});

test("imports mark the member: running, done with films, failed", () => {
  let state = start();
  state = reduce(state, { type: "import.progress", import_id: "i", member_id: "ben", pages: 1, pages_total: 3, films: 20 });
  assert.equal(state.members[1].import_state, "running");
  state = reduce(state, { type: "import.done", seq: 8, import_id: "i", member_id: "ben", films: 42, source: "letterboxd", skipped: 0, watched: 0 });
  assert.equal(state.members[1].films, 42);
  state = reduce(state, { type: "import.failed", seq: 9, import_id: "j", member_id: "ben", reason: "unreadable", message: "x" });
  assert.equal(state.members[1].import_state, "failed");
  assert.equal(state.members[1].films, null);
});

test("everyone against lists so far: the server's counts, else the waiting members", () => {
  let state = start();
  state = reduce(state, { type: "candidates", seq: 8, member_count: 1, candidates: [], total: 0, waiting: ["ben"], lists: 1, members: 2 });
  assert.deepEqual(listCounts(state), { lists: 1, members: 2 });
  state = reduce(state, { type: "ui.candidates", member_count: 2, candidates: [], total: 0, waiting: ["cleo"] });
  assert.deepEqual(listCounts(state), { lists: 2, members: 3 });
});

test("a round start moves everyone to Pick with a notice naming the host", () => {
  let state = start();
  state = reduce(state, { type: "ui.stage", stage: "invite" });
  state = reduce(state, { type: "round.started", seq: 8, round_id: "r1", mode: "poll", method: "schulze", films: [HEAT, ALIEN], order: [], hidden: false, deadline: null, eligible: ["ana", "ben"], turn: null, turn_ends_at: null });
  assert.equal(state.stage, "pick");
  assert.equal(state.notice.key, "notice.round.poll");
  assert.deepEqual(state.notice.params, { name: "Ana" });
  assert.equal(state.round.status, "open");
  state = reduce(state, { type: "round.tally", round_id: "r1", voted: 1, eligible: 2, turn: null, remaining: null, standings: { method: "schulze", scores: { f1: 1 }, label: "x", leader: "f1" }, seq: null, turn_ends_at: null, struck: null, by: null, answered: {} });
  assert.equal(state.round.voted, 1);
  state = reduce(state, { type: "ui.stage", stage: "lists" });
  state = reduce(state, { type: "round.result", seq: 9, round_id: "r1", mode: "poll", method: "schulze", winner: HEAT, tied: ["f1"], explanation: { kind: "schulze", pairwise: {}, strongest: {}, ballots: 2 } });
  assert.equal(state.stage, "pick");
  assert.equal(state.round.status, "closed");
  assert.equal(state.notice.key, "notice.result.winner");
});

test("a tally of another round is ignored; a veto strike is remembered for focus", () => {
  let state = start();
  state = reduce(state, { type: "round.started", seq: 8, round_id: "r1", mode: "veto", method: null, films: [HEAT, ALIEN], order: ["ana", "ben"], hidden: false, deadline: null, eligible: ["ana", "ben"], turn: "ana", turn_ends_at: null });
  assert.deepEqual(state.round.remaining, ["f1", "f2"]);
  assert.equal(reduce(state, { type: "round.tally", round_id: "other", voted: 9, eligible: 2 }), state);
  state = reduce(state, { type: "round.tally", round_id: "r1", voted: 1, eligible: 2, turn: "ben", remaining: ["f2"], standings: null, seq: 9, turn_ends_at: null, struck: "f1", by: "ana", answered: {} });
  assert.deepEqual(state.lastStrike, { film: "f1", by: "ana", seq: 9 });
  assert.equal(state.round.turn, "ben");
});

test("optimistic votes are undone on refusal", () => {
  let state = start();
  state = reduce(state, { type: "round.started", seq: 8, round_id: "r1", mode: "match", method: null, films: [HEAT, ALIEN], order: [], hidden: false, deadline: null, eligible: ["ana", "ben"], turn: null, turn_ends_at: null });
  state = reduce(state, { type: "ui.vote", film_id: "f1", choice: "yes" });
  assert.deepEqual(state.round.my_votes, { f1: "yes" });
  state = reduce(state, { type: "ui.vote.undo", film_id: "f1" });
  assert.deepEqual(state.round.my_votes, {});
});

test("a new film clears readiness and moves everyone to Watch", () => {
  let state = start();
  state = reduce(state, { type: "party", seq: 8, film_title: "Heat", media_url: null, control: "host", reset: true });
  assert.ok(filmSet(state.party));
  assert.equal(state.stage, "watch");
  assert.equal(state.notice.key, "notice.party");
  state = reduce(state, { type: "ready", seq: 9, member_id: "ben", ready: true, all_ready: false });
  assert.deepEqual(state.party.ready, ["ben"]);
  state = reduce(state, { type: "ui.stage", stage: "lists" });
  state = reduce(state, { type: "party", seq: 10, film_title: "Heat", media_url: null, control: "everyone", reset: false });
  assert.equal(state.stage, "lists"); // only the control changed
  assert.deepEqual(state.party.ready, ["ben"]);
  state = reduce(state, { type: "countdown", seq: 11, ends_at: 9000, by: "ana", forced: true });
  state = reduce(state, { type: "party", seq: 12, film_title: "Alien", media_url: null, control: "everyone", reset: true });
  assert.deepEqual(state.party.ready, []);
  assert.equal(state.party.countdown_ends_at, null);
});

test("offline members are never shown as ready", () => {
  let state = start({ party: { film_title: "Heat", media_url: null, control: "host", playback, ready: ["ana", "ben"], countdown_ends_at: null } });
  assert.deepEqual(readyMembers(state), ["ana", "ben"]);
  state = reduce(state, { type: "presence", online: [], offline: ["ana"] });
  assert.deepEqual(readyMembers(state), ["ben"]);
});

test("playback by someone else says what they did; my own does not", () => {
  let state = start({ party: { film_title: "Heat", media_url: null, control: "everyone", playback, ready: [], countdown_ends_at: null } });
  state = reduce(state, { type: "playback", seq: 8, state: "playing", position_ms: 0, rate: 1, at: 2000, by: "ana", version: 2 });
  assert.equal(state.notice.key, "notice.played");
  state = reduce(state, { type: "playback", seq: 9, state: "playing", position_ms: 3730000, rate: 1, at: 3000, by: "ana", version: 3 });
  assert.deepEqual([state.notice.key, state.notice.params], ["notice.seeked", { name: "Ana", position_ms: 3730000 }]);
  state = reduce(state, { type: "playback", seq: 10, state: "paused", position_ms: 3731000, rate: 1, at: 4000, by: "ana", version: 4 });
  assert.deepEqual([state.notice.key, state.notice.params], ["notice.paused", { name: "Ana" }]);
  const id = state.notice.id;
  state = reduce(state, { type: "playback", seq: 11, state: "playing", position_ms: 3731000, rate: 1, at: 5000, by: "ben", version: 5 });
  assert.equal(state.notice.id, id);
  assert.equal(state.party.playback.version, 5);
});

test("the automatic countdown and the host's are told apart; an extension says so", () => {
  let state = start({ party: { film_title: "Heat", media_url: null, control: "host", playback, ready: [], countdown_ends_at: null } });
  state = reduce(state, { type: "countdown", seq: 8, ends_at: 10000, by: "ana", forced: true });
  assert.equal(state.notice.key, "notice.countdown");
  state = reduce(state, { type: "countdown", seq: 9, ends_at: 20000, by: "ana", forced: true });
  assert.equal(state.notice.key, "notice.countdown.extended");
  state = reduce(state, { type: "countdown", seq: 10, ends_at: null, by: "ana", forced: false });
  state = reduce(state, { type: "member.joined", seq: 11, member: member("cleo", "Cleo") });
  state = reduce(state, { type: "countdown", seq: 12, ends_at: 30000, by: "cleo", forced: false });
  assert.equal(state.notice.key, "notice.countdown.auto");
});

test("chat lines keep the author's name; the session ending is recorded", () => {
  let state = start();
  state = reduce(state, { type: "chat", seq: 8, member_id: "ana", text: "<b>x</b>", at: 1 });
  assert.deepEqual(state.chat.at(-1), { seq: 8, member_id: "ana", name: "Ana", text: "<b>x</b>", at: 1 });
  state = reduce(state, { type: "session.ended", seq: 9, reason: "ended_by_host" });
  assert.equal(state.ended, "ended_by_host");
});

test("unknown events change nothing", () => {
  const state = start();
  assert.equal(reduce(state, { type: "pong", t: 1, server_time: 2 }), state);
  assert.equal(reduce(state, { type: "ui.stage", stage: "nowhere" }), state);
});

test("the host's extension moves a poll's deadline and tells the others", () => {
  let state = start();
  state = reduce(state, { type: "round.started", seq: 8, round_id: "r1", mode: "poll", method: "borda", films: [HEAT, ALIEN], order: [], hidden: false, deadline: 60000, eligible: ["ana", "ben"], turn: null, turn_ends_at: null });
  state = reduce(state, { type: "round.deadline", seq: 9, round_id: "r1", deadline: 120000, by: "ana" });
  assert.equal(state.round.deadline, 120000);
  assert.deepEqual([state.notice.key, state.notice.params], ["notice.deadline", { name: "Ana" }]);
  assert.equal(reduce(state, { type: "round.deadline", seq: 10, round_id: "old", deadline: 1, by: "ana" }), state);
});
