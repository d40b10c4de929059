// Server time from ping/pong: keep the last 8 samples and trust the one with the smallest round trip.
export class ClockOffsetEstimator {
  constructor(window = 8) {
    this.window = window;
    this.samples = [];
  }

  add(t0, serverTime, t1) {
    const rtt = t1 - t0;
    if (rtt < 0) return;
    this.samples.push({ rtt, offset: serverTime - (t0 + t1) / 2 });
    if (this.samples.length > this.window) this.samples.shift();
  }

  get best() {
    return this.samples.reduce((a, b) => (a && a.rtt <= b.rtt ? a : b), null);
  }

  get offsetMs() {
    return this.best ? this.best.offset : 0;
  }

  serverNow() {
    return Date.now() + this.offsetMs;
  }
}

// Where playback is at server time t (the same formula on every client).
export function positionAt(playback, t) {
  if (playback.state !== "playing" || t <= playback.at) return playback.position_ms;
  return playback.position_ms + (t - playback.at) * playback.rate;
}

// How to bring a local player back in line: nothing, a small rate nudge, or a seek.
export function driftCorrection(localMs, targetMs, rate = 1) {
  const drift = localMs - targetMs;
  if (Math.abs(drift) > 1000) return { action: "seek", seekMs: targetMs };
  if (Math.abs(drift) > 60) return { action: "rate", rate: rate * (drift > 0 ? 0.95 : 1.05) };
  return { action: "none", rate };
}
