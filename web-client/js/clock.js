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

// A film position as people write it: 0:03, 12:05, 1:02:10.
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(hours ? 2 : 1, "0");
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${minutes}:${seconds}` : `${minutes}:${seconds}`;
}

// Whole seconds left of a countdown at server time now (0 when there is none or it is over).
export function secondsLeft(endsAt, now) {
  if (!endsAt || endsAt <= now) return 0;
  return Math.ceil((endsAt - now) / 1000);
}
