import { test } from "node:test";
import assert from "node:assert/strict";
import { ClockOffsetEstimator, driftCorrection, formatDuration, positionAt, secondsLeft } from "../js/clock.js";

test("the offset comes from the sample with the smallest round trip", () => {
  const clock = new ClockOffsetEstimator(3);
  clock.add(0, 1100, 200); // rtt 200, offset 1000
  clock.add(1000, 2060, 1020); // rtt 20, offset 1050
  clock.add(2000, 3000, 2500); // rtt 500
  assert.equal(clock.offsetMs, 1050);
  clock.add(3000, 3000, 2000); // negative rtt: ignored
  assert.equal(clock.samples.length, 3);
  clock.add(4000, 5000, 4100);
  clock.add(5000, 6000, 5100);
  clock.add(6000, 7000, 6100); // the best sample has left the window
  assert.equal(clock.offsetMs, 950);
});

test("position: paused stays, a scheduled start waits, playing advances by the rate", () => {
  const paused = { state: "paused", position_ms: 5000, rate: 1, at: 1000 };
  assert.equal(positionAt(paused, 99999), 5000);
  const playing = { state: "playing", position_ms: 5000, rate: 1.5, at: 1000 };
  assert.equal(positionAt(playing, 500), 5000);
  assert.equal(positionAt(playing, 3000), 8000);
});

test("drift: nothing, a nudge, or a seek", () => {
  assert.equal(driftCorrection(1000, 1030).action, "none");
  assert.deepEqual(driftCorrection(1200, 1000), { action: "rate", rate: 0.95 });
  assert.deepEqual(driftCorrection(1000, 1200), { action: "rate", rate: 1.05 });
  assert.deepEqual(driftCorrection(0, 5000), { action: "seek", seekMs: 5000 });
});

test("durations read as people write them", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(3999), "0:03");
  assert.equal(formatDuration(725000), "12:05");
  assert.equal(formatDuration(3730000), "1:02:10");
  assert.equal(formatDuration(-5), "0:00");
});

test("countdown seconds round up and stop at zero", () => {
  assert.equal(secondsLeft(null, 0), 0);
  assert.equal(secondsLeft(5000, 0), 5);
  assert.equal(secondsLeft(5000, 4001), 1);
  assert.equal(secondsLeft(5000, 5000), 0);
});
