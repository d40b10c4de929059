// The session socket: hello, resume by last_seq, reconnect with back-off, pings (clock sync).
import { ClockOffsetEstimator } from "./clock.js";

// The longest chat message; tests/realtime/test_protocol.py keeps it equal to the protocol's.
export const CHAT_MAX_LENGTH = 500;

// Close codes after which reconnecting is pointless (the view says why, by code).
const TERMINAL = new Set([4401, 4403, 4410]);

// The window (ms) a restart's close names: 1012 with {"reason": "restart", "retry_ms": [low, high]}.
export function restartWindow(event) {
  if (event.code !== 1012) return null;
  try {
    const [low, high] = JSON.parse(event.reason).retry_ms;
    if (Number.isFinite(low) && Number.isFinite(high) && low >= 0 && low <= high && high <= 60000) return [low, high];
  } catch { /* no hint: back off as usual */ }
  return null;
}

// The ceiling (ms) of the jittered back-off before reconnect `attempt` (1, 2, ...):
// doubling up to 10 s, but at most 500 ms for 20 attempts while a restarting server
// (a 1012 close) is expected back, so a refused reconnect does not wait for seconds.
export function reconnectCeiling(attempt, restarting) {
  const cap = restarting && attempt <= 20 ? 500 : 10000;
  return Math.min(cap, 250 * 2 ** attempt);
}

export class LiveSession {
  constructor(sessionId, token, handlers) {
    this.sessionId = sessionId;
    this.token = token;
    this.handlers = handlers;
    this.lastSeq = null;
    this.attempt = 0;
    this.restarting = false;
    this.stopped = false;
    this.socket = null;
    this.pingTimer = null;
    this.pending = new Map();
    this.nextId = 1;
    this.clock = new ClockOffsetEstimator();
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    window.clearInterval(this.pingTimer);
    if (this.socket) this.socket.close(1000, "bye");
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/v1/sessions/${this.sessionId}`);
    this.socket = socket;
    this.handlers.status?.(this.attempt ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", token: this.token, last_seq: this.lastSeq }));
      // A short burst first, so the clock offset is good before anyone presses play.
      for (let i = 0; i < 5; i += 1) window.setTimeout(() => this.ping(), i * 150);
      window.clearInterval(this.pingTimer);
      this.pingTimer = window.setInterval(() => this.ping(), 10000);
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (event) => this.closed(event));
  }

  ping() {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "ping", t: Date.now() }));
    }
  }

  send(command) {
    if (this.socket?.readyState !== WebSocket.OPEN) {
      return Promise.reject({ code: "offline", message: "" });
    }
    const id = `w${Date.now().toString(36)}-${this.nextId++}`;
    this.socket.send(JSON.stringify({ ...command, id }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      window.setTimeout(() => {
        if (this.pending.delete(id)) reject({ code: "no_answer", message: "" });
      }, 10000);
    });
  }

  receive(raw) {
    let event;
    try { event = JSON.parse(raw); } catch { return; }
    if (event.type === "pong") {
      this.clock.add(event.t, event.server_time, Date.now());
      return;
    }
    if (event.type === "welcome") {
      this.attempt = 0;
      this.restarting = false;
      // The position the protocol gives: the snapshot's, or (resumed) the last_seq we
      // sent, which the replay that follows advances.
      this.lastSeq = event.seq;
      this.handlers.status?.("connected");
      this.handlers.welcome?.(event);
      return;
    }
    if ((event.type === "ack" || event.type === "error") && event.id && this.pending.has(event.id)) {
      const { resolve, reject } = this.pending.get(event.id);
      this.pending.delete(event.id);
      (event.type === "ack" ? resolve : reject)(event);
      return;
    }
    if (typeof event.seq === "number" && event.type !== "ack") {
      if (this.lastSeq !== null && event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
    }
    this.handlers.event?.(event);
  }

  closed(event) {
    window.clearInterval(this.pingTimer);
    for (const { reject } of this.pending.values()) reject({ code: "offline", message: "" });
    this.pending.clear();
    if (this.stopped) return;
    if (TERMINAL.has(event.code)) {
      this.stopped = true;
      this.handlers.gone?.(event.code);
      return;
    }
    this.handlers.status?.("reconnecting");
    // A restarting server (1012) names a window to come back in: a random moment in
    // it, so its members do not all return at once. Otherwise: jittered back-off.
    const window_ = restartWindow(event);
    let delay;
    if (window_) {
      this.attempt = 0;
      this.restarting = true;
      delay = window_[0] + Math.random() * (window_[1] - window_[0]);
    } else {
      this.attempt += 1;
      const ceiling = reconnectCeiling(this.attempt, this.restarting);
      delay = ceiling / 2 + Math.random() * (ceiling / 2);
    }
    window.setTimeout(() => { if (!this.stopped) this.open(); }, delay);
  }
}
