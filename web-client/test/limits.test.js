import { test } from "node:test";
import assert from "node:assert/strict";
import { formatMinutes, limitsActive, limitsPhrases } from "../js/limits.js";
import { initialState, reduce } from "../js/state.js";
import { setLanguage, t } from "../js/i18n.js";

test("limits are active only when one bound is set", () => {
  assert.equal(limitsActive(null), false);
  assert.equal(limitsActive({ max_runtime_minutes: null, exclude_genres: [], year_from: null, year_to: null }), false);
  assert.equal(limitsActive({ exclude_genres: ["Horror"] }), true);
  assert.equal(limitsActive({ year_to: 2000, exclude_genres: [] }), true);
});

test("runtimes read as hours and minutes in the member's language", () => {
  assert.equal(formatMinutes(130, "en"), "2 hr 10 min");
  assert.equal(formatMinutes(120, "ru"), "2 ч");
  assert.equal(formatMinutes(45, "ru"), "45 мин");
});

test("the limits become short phrases in English and Russian", async () => {
  const limits = { max_runtime_minutes: 150, exclude_genres: ["Horror", "Drama"], year_from: 1990, year_to: null };
  await setLanguage("en");
  assert.deepEqual(limitsPhrases(limits, t, "en"), ["up to 2 hr 30 min", "1990 or later", "no horror, drama"]);
  assert.equal(t("limits.left_out", { count: 1 }), "1 film left out by the limits");
  await setLanguage("ru");
  assert.deepEqual(limitsPhrases({ ...limits, year_to: 2010 }, t, "ru"), ["не длиннее 2 ч 30 мин", "1990–2010 гг.", "без жанров: horror, drama"]);
  assert.equal(t("limits.left_out", { count: 3 }), "отсеяно 3 фильма");
  assert.equal(t("limits.left_out", { count: 5 }), "отсеяно 5 фильмов");
  assert.equal(t("limits.left_out", { count: 21 }), "отсеян 21 фильм");
  assert.deepEqual(limitsPhrases({ exclude_genres: [] }, t, "ru"), []);
  await setLanguage("en");
});

test("the welcome and the limits event put the limits in state; a round keeps its own", () => {
  const limits = { max_runtime_minutes: 100, exclude_genres: [], year_from: null, year_to: null };
  let state = reduce({ ...initialState }, {
    type: "welcome", member_id: "ben", seq: 3, resumed: false, server_time: 0,
    session: { session_id: "s", title: "Friday", state: "lobby", host_id: "ana", seq: 3, created_at: 0,
      members: [{ member_id: "ana", name: "Ana" }, { member_id: "ben", name: "Ben" }],
      party: { ready: [], playback: {} }, round: null, chat: [], limits },
  });
  assert.deepEqual(state.limits, limits);
  const tighter = { ...limits, max_runtime_minutes: 90 };
  state = reduce(state, { type: "limits", seq: 4, limits: tighter, by: "ana" });
  assert.deepEqual(state.limits, tighter);
  assert.equal(state.seq, 4);
  assert.equal(state.notice.key, "notice.limits");
  assert.deepEqual(state.notice.params, { name: "Ana" });
  state = reduce(state, { type: "round.started", seq: 5, round_id: "r", mode: "poll", films: [], eligible: ["ana", "ben"], limits: tighter });
  assert.deepEqual(state.round.limits, tighter);
  state = reduce(state, { type: "limits", seq: 6, limits: { ...limits, exclude_genres: [] }, by: "ben" });
  assert.deepEqual(state.round.limits, tighter); // the round's shortlist was made under these
  assert.equal(state.notice.params.name, "Ana"); // my own change is no news to me
});
