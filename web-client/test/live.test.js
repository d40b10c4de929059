import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveSession, reconnectCeiling } from "../js/live.js";

test("the back-off ceiling doubles to 10 s, and stays at 500 ms while a restart is expected", () => {
  assert.equal(reconnectCeiling(1, false), 500);
  assert.equal(reconnectCeiling(6, false), 10000);
  assert.equal(reconnectCeiling(6, true), 500);
  assert.equal(reconnectCeiling(21, true), 10000); // the server did not come back: as usual
});

test("refused reconnects after a 1012 restart are retried within 500 ms, not seconds", () => {
  const delays = [];
  globalThis.window = { clearInterval() {}, setTimeout(_fn, delay) { delays.push(delay); } };
  try {
    const live = new LiveSession("s", "t", {});
    live.closed({ code: 1012, reason: JSON.stringify({ reason: "restart", retry_ms: [100, 200] }) });
    for (let i = 0; i < 8; i += 1) live.closed({ code: 1006, reason: "" }); // refused
    assert.ok(delays[0] >= 100 && delays[0] <= 200);
    assert.ok(delays.slice(1).every((d) => d <= 500), String(delays));
    // after a welcome, a plain drop backs off as usual again
    live.receive(JSON.stringify({ type: "welcome", seq: 0 }));
    for (let i = 0; i < 6; i += 1) live.closed({ code: 1006, reason: "" });
    assert.ok(delays.at(-1) > 500, String(delays));
  } finally {
    delete globalThis.window;
  }
});
