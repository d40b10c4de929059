// The session as the browser knows it: a pure reduce(state, event) over the protocol's events
// (docs/protocol.md), starting from the welcome snapshot. No DOM here: views render from the
// state, and web-client/test/state.test.js runs this module in Node.
//
// Besides the protocol's events, the client dispatches a few of its own, all "ui.*":
// ui.stage (the member opened a stage), ui.vote and ui.ballot (optimistic, undone by
// ui.vote.undo), ui.candidates (the HTTP listing), ui.streaming* (where to stream:
// streaming-state.js).
// Limits for tonight: state.limits (the welcome's, then each "limits" event) and round.limits.

import { STREAMING_EVENTS, reduceStreaming } from "./streaming-state.js";

export const STAGES = ["invite", "lists", "pick", "watch"];
const CHAT_KEEP = 200;

export const initialState = Object.freeze({
  me: null,
  sessionId: null,
  title: "",
  hostId: null,
  seq: 0,
  members: [],
  party: null,
  round: null,
  chat: [],
  candidates: null,
  stage: "invite",
  notice: null,
  ended: null,
  lastStrike: null,
  streaming: null,
  limits: null,
  // Film details (films.enriched): the server's provider, and each import's look-up counts.
  filmData: "none",
  enrichment: null,
});

export function member(state, id) {
  return state.members.find((m) => m.member_id === id) ?? null;
}

export function nameOf(state, id) {
  return member(state, id)?.name ?? null;
}

export function isHost(state) {
  return state.me !== null && state.hostId === state.me;
}

// A film is set once it has a title or a video: only then do the ready check and the countdown exist.
export function filmSet(party) {
  return Boolean(party && (party.film_title || party.media_url));
}

// Who is ready, as shown: online members only (an offline member is never counted as ready).
export function readyMembers(state) {
  const ready = new Set(state.party?.ready ?? []);
  return state.members.filter((m) => m.online && ready.has(m.member_id)).map((m) => m.member_id);
}

// Lists imported and members, for "everyone" against "all N lists so far".
export function listCounts(state) {
  const c = state.candidates;
  if (c) {
    const lists = c.lists ?? c.member_count ?? 0;
    return { lists, members: c.members ?? lists + (c.waiting?.length ?? 0) };
  }
  const lists = state.members.filter((m) => m.films !== null && m.films !== undefined).length;
  return { lists, members: state.members.length };
}

// Where a member lands on a fresh welcome: the running round, the party once a film is set,
// the invite while the host is alone, else the lists.
export function defaultStage(state) {
  if (state.round?.status === "open") return "pick";
  if (filmSet(state.party)) return "watch";
  if (state.round) return "pick";
  if (state.members.length <= 1 && isHost(state)) return "invite";
  return "lists";
}

function notice(state, key, params = {}) {
  return { id: (state.notice?.id ?? 0) + 1, key, params };
}

function withMember(state, id, patch) {
  return { ...state, members: state.members.map((m) => (m.member_id === id ? { ...m, ...patch } : m)) };
}

function freshRound(event) {
  return {
    round_id: event.round_id,
    mode: event.mode,
    method: event.method ?? null,
    status: "open",
    films: event.films,
    eligible: event.eligible,
    order: event.order ?? [],
    hidden: event.hidden ?? false,
    deadline: event.deadline ?? null,
    voted: 0,
    eligible_count: event.eligible.length,
    turn: event.turn ?? null,
    turn_ends_at: event.turn_ends_at ?? null,
    remaining: event.mode === "veto" ? event.films.map((f) => f.id) : null,
    standings: null,
    winner: null,
    tied: [],
    explanation: null,
    my_votes: {},
    my_ballot: null,
    answered: {},
    limits: event.limits ?? null,
  };
}

function welcome(state, event) {
  const snap = event.session;
  const online = new Map(snap.members.map((m) => [m.member_id, m.online]));
  if (event.resumed && state.sessionId === snap.session_id) {
    // Keep the state and let the replay advance it; take what no event carries (presence).
    return {
      ...state,
      title: snap.title,
      filmData: snap.film_data ?? state.filmData,
      members: state.members.map((m) => (online.has(m.member_id) ? { ...m, online: online.get(m.member_id) } : m)),
    };
  }
  const next = {
    ...state,
    me: event.member_id,
    sessionId: snap.session_id,
    title: snap.title,
    hostId: snap.host_id,
    seq: snap.seq,
    members: snap.members.map((m) => ({ ...m })),
    party: { ...snap.party, ready: [...snap.party.ready] },
    round: snap.round ? { ...snap.round, my_votes: { ...(snap.round.my_votes ?? {}) }, answered: { ...(snap.round.answered ?? {}) } } : null,
    chat: (snap.chat ?? []).map((line) => ({ ...line })),
    limits: snap.limits ?? null,
    ended: snap.state === "ended" ? "ended" : null,
    notice: state.notice,
    lastStrike: null,
    filmData: snap.film_data ?? "none",
  };
  // A reconnect that could not resume keeps the member where they were.
  next.stage = state.sessionId === snap.session_id && state.stage ? state.stage : defaultStage(next);
  return next;
}

function playback(state, event) {
  const before = state.party.playback;
  const after = { state: event.state, position_ms: event.position_ms, rate: event.rate, at: event.at, by: event.by, version: event.version };
  let next = { ...state, party: { ...state.party, playback: after } };
  if (event.by === state.me || !event.by) return next;
  const name = nameOf(state, event.by) ?? "";
  if (before.state === "playing" && after.state === "paused") {
    next = { ...next, notice: notice(state, "notice.paused", { name }) };
  } else if (before.state === "paused" && after.state === "playing") {
    // A start the countdown scheduled is announced by the countdown itself.
    const scheduled = state.party.countdown_ends_at && Math.abs(state.party.countdown_ends_at - after.at) < 1000;
    if (!scheduled) next = { ...next, notice: notice(state, "notice.played", { name }) };
  } else if (before.rate !== after.rate) {
    next = { ...next, notice: notice(state, "notice.rate", { name, rate: after.rate }) };
  } else if (before.position_ms !== after.position_ms && before.state === after.state) {
    next = { ...next, notice: notice(state, "notice.seeked", { name, position_ms: after.position_ms }) };
  }
  return next;
}

function tally(round, event) {
  const next = { ...round, voted: event.voted, eligible_count: event.eligible };
  if (event.standings !== undefined && event.standings !== null) next.standings = event.standings;
  if (event.answered && Object.keys(event.answered).length) next.answered = { ...event.answered };
  if (event.turn !== undefined) next.turn = event.turn;
  if (event.remaining) next.remaining = [...event.remaining];
  if (event.turn_ends_at !== undefined) next.turn_ends_at = event.turn_ends_at;
  return next;
}

export function reduce(state, event) {
  switch (event.type) {
    case "welcome":
      return welcome(state, event);
    case "member.joined": {
      const known = member(state, event.member.member_id);
      const joined = { ...event.member, online: known?.online ?? event.member.online };
      const members = known
        ? state.members.map((m) => (m.member_id === joined.member_id ? joined : m))
        : [...state.members, joined];
      const next = { ...state, members, seq: event.seq ?? state.seq };
      if (!known && joined.member_id !== state.me) next.notice = notice(state, "members.joined", { name: joined.name });
      return next;
    }
    case "member.left": {
      let next = { ...state, members: state.members.filter((m) => m.member_id !== event.member_id), seq: event.seq ?? state.seq };
      if (event.new_host_id) {
        next = { ...next, hostId: event.new_host_id, members: next.members.map((m) => ({ ...m, host: m.member_id === event.new_host_id })) };
      }
      if (next.party) next.party = { ...next.party, ready: next.party.ready.filter((id) => id !== event.member_id) };
      return next;
    }
    case "presence": {
      const on = new Set(event.online);
      const off = new Set(event.offline);
      return {
        ...state,
        members: state.members.map((m) => (on.has(m.member_id) ? { ...m, online: true } : off.has(m.member_id) ? { ...m, online: false } : m)),
      };
    }
    case "chat": {
      const line = { seq: event.seq, member_id: event.member_id, name: nameOf(state, event.member_id) ?? "", text: event.text, at: event.at };
      return { ...state, chat: [...state.chat, line].slice(-CHAT_KEEP), seq: event.seq ?? state.seq };
    }
    case "import.progress":
      return withMember(state, event.member_id, { import_state: "running" });
    case "import.done":
      return withMember(state, event.member_id, { import_state: "done", films: event.films, import_reason: null });
    case "import.failed": {
      const patch = { import_state: "failed", import_reason: event.reason };
      if (event.reason === "unreadable") patch.films = null;
      return withMember(state, event.member_id, patch);
    }
    case "candidates":
    case "ui.candidates": {
      const { type: _type, seq: _seq, ...data } = event;
      return { ...state, candidates: data };
    }
    // Limits for tonight: the host bounds the candidates (a candidates event follows).
    case "limits": {
      const next = { ...state, limits: event.limits, seq: event.seq ?? state.seq };
      if (event.by !== state.me) next.notice = notice(state, "notice.limits", { name: nameOf(state, event.by) ?? "" });
      return next;
    }
    case "round.started": {
      const host = nameOf(state, state.hostId) ?? "";
      return { ...state, round: freshRound(event), stage: "pick", lastStrike: null, notice: notice(state, `notice.round.${event.mode}`, { name: host }) };
    }
    case "round.tally": {
      if (!state.round || state.round.round_id !== event.round_id) return state;
      const next = { ...state, round: tally(state.round, event) };
      if (event.struck) next.lastStrike = { film: event.struck, by: event.by, seq: event.seq ?? null };
      return next;
    }
    case "round.deadline": {
      if (!state.round || state.round.round_id !== event.round_id) return state;
      const next = { ...state, round: { ...state.round, deadline: event.deadline }, seq: event.seq ?? state.seq };
      if (event.by !== state.me) next.notice = notice(state, "notice.deadline", { name: nameOf(state, event.by) ?? "" });
      return next;
    }
    case "round.result": {
      if (!state.round || state.round.round_id !== event.round_id) return state;
      const round = { ...state.round, status: "closed", winner: event.winner, tied: event.tied, explanation: event.explanation };
      const key = event.winner ? (event.mode === "match" ? "notice.result.match" : "notice.result.winner") : "notice.result.none";
      return { ...state, round, stage: "pick", notice: notice(state, key, { film: event.winner?.title ?? "" }) };
    }
    case "ready": {
      if (!state.party) return state;
      const ready = new Set(state.party.ready);
      if (event.ready) ready.add(event.member_id); else ready.delete(event.member_id);
      return { ...state, party: { ...state.party, ready: [...ready] } };
    }
    case "countdown": {
      if (!state.party) return state;
      const running = state.party.countdown_ends_at;
      const next = { ...state, party: { ...state.party, countdown_ends_at: event.ends_at } };
      if (event.by !== state.me && event.ends_at) {
        const name = nameOf(state, event.by) ?? "";
        const extended = running && event.ends_at > running;
        // The host starts a countdown by hand; the automatic one is everyone being ready.
        const key = extended ? "notice.countdown.extended" : event.by === state.hostId ? "notice.countdown" : "notice.countdown.auto";
        next.notice = notice(state, key, { name });
      }
      return next;
    }
    case "playback":
      return state.party ? playback(state, event) : state;
    case "party": {
      if (!state.party) return state;
      const party = { ...state.party, film_title: event.film_title, media_url: event.media_url, control: event.control };
      if (event.reset) Object.assign(party, { ready: [], countdown_ends_at: null });
      const next = { ...state, party };
      // A new film (the server says `reset`; an older one only changes the film) moves everyone to Watch.
      const newFilm = event.reset ?? (party.film_title !== state.party.film_title || party.media_url !== state.party.media_url);
      if (newFilm && filmSet(party)) {
        next.stage = "watch";
        next.notice = notice(state, "notice.party", { name: nameOf(state, state.hostId) ?? "", film: party.film_title ?? "" });
      }
      return next;
    }
    case "session.ended":
      return { ...state, ended: event.reason };
    case "films.enriched":
      return filmsEnriched(state, event);
    case "ui.stage":
      return STAGES.includes(event.stage) ? { ...state, stage: event.stage } : state;
    case "ui.vote": {
      if (!state.round) return state;
      return { ...state, round: { ...state.round, my_votes: { ...state.round.my_votes, [event.film_id]: event.choice } } };
    }
    case "ui.vote.undo": {
      if (!state.round) return state;
      const { [event.film_id]: _gone, ...rest } = state.round.my_votes;
      return { ...state, round: { ...state.round, my_votes: rest } };
    }
    case "ui.ballot":
      return state.round ? { ...state, round: { ...state.round, my_ballot: [...event.ranking] } } : state;
    default:
      return STREAMING_EVENTS.includes(event.type) ? reduceStreaming(state, event) : state;
  }
}

// ---- Film details (films.enriched) ----
// Details arrive in batches after an import: every copy of a film the state holds (candidates,
// the round's films and winner) takes the new fields by id, so cards fill in where they are.
export function mergeFilms(state, films) {
  if (!films?.length) return state;
  const byId = new Map(films.map((f) => [f.id, f]));
  const merged = (film) => (film && byId.has(film.id) ? { ...film, ...byId.get(film.id) } : film);
  const next = { ...state };
  const c = state.candidates;
  if (c?.candidates?.some((x) => byId.has(x.film.id))) {
    next.candidates = { ...c, candidates: c.candidates.map((x) => (byId.has(x.film.id) ? { ...x, film: merged(x.film) } : x)) };
  }
  const r = state.round;
  if (r && (r.films.some((f) => byId.has(f.id)) || byId.has(r.winner?.id))) {
    next.round = { ...r, films: r.films.map(merged), winner: merged(r.winner) };
  }
  return next;
}

// Each import's counts, by import id. A run that starts once every earlier one has finished
// starts the tally afresh, so "120 of 1,500" is about this import, not the evening's.
function filmsEnriched(state, event) {
  const key = event.import_id ?? "";
  const counts = {
    enriched: event.enriched, unlinked: event.unlinked, skipped: event.skipped, failed: event.failed,
    remaining: event.remaining, failure: event.failure ?? null,
  };
  const runs = state.enrichment?.runs ?? {};
  const allDone = Object.values(runs).every((run) => run.remaining === 0);
  const fresh = !(key in runs) && allDone;
  const enrichment = { runs: { ...(fresh ? {} : runs), [key]: counts } };
  return { ...mergeFilms(state, event.films), enrichment };
}

// What the status line says: films looked up of how many, still running or done, the skipped
// count and the provider's failure (null: nothing to say).
export function enrichmentProgress(state) {
  const runs = Object.values(state.enrichment?.runs ?? {});
  if (!runs.length) return null;
  const sum = (field) => runs.reduce((total, run) => total + run[field], 0);
  const looked = sum("enriched") + sum("unlinked") + sum("skipped") + sum("failed");
  const remaining = sum("remaining");
  const failures = runs.map((run) => run.failure).filter(Boolean);
  return {
    done: remaining === 0,
    looked,
    total: looked + remaining,
    enriched: sum("enriched"),
    unlinked: sum("unlinked"),
    skipped: sum("skipped"),
    failed: sum("failed"),
    failure: failures.at(-1) ?? null,
  };
}
