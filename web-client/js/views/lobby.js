// "/s/{session_id}": the session. State comes from reduce() over the socket's events; the view
// is a stage bar (Invite → Lists → Pick → Watch), the current stage, and chat and members beside
// it (under it on a phone). Host tools live in a drawer.
import { api } from "../api.js";
import { announce, clear, h } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { LiveSession } from "../live.js";
import { forgetSeat, getSeat, updateSeat } from "../seats.js";
import { STAGES, filmSet, initialState, isHost, member, nameOf, reduce } from "../state.js";
import { filmByTitle, posterOf } from "../films.js";
import { filmPicture } from "./cards.js";
import { CandidatesPanel } from "./candidates.js";
import { factsOf, titleOf } from "./film_card.js";
import { FilmDetailsStatus } from "./film_status.js";
import { ChatPanel } from "./chat.js";
import { HostDrawer } from "./host.js";
import { ImportPanel } from "./imports.js";
import { LimitsBar, LimitsPanel } from "./limits.js";
import { MemberList } from "./members.js";
import { PartyPanel } from "./party.js";
import { RoundPanel, RoundStarter } from "./rounds.js";
import { StreamingPanel } from "./streaming.js";
import { formatDuration } from "../clock.js";

const PAGE = 30;
const NOTICE_MS = 6000;

function typing(target) {
  return target instanceof HTMLElement && (target.closest("input, textarea, select, [contenteditable]") !== null);
}

export function renderLobby(root, navigate, sessionId) {
  const seat = getSeat(sessionId);
  if (!seat) {
    root.append(h("section", { class: "panel stack narrow" },
      h("h1", {}, t("lobby.not_member")),
      h("p", {}, t("lobby.not_member_hint")),
      h("a", { href: "/", class: "button" }, t("lobby.own_night"))));
    return () => {};
  }

  let state = { ...initialState, me: seat.member_id };
  let view = null;
  let connection = "connecting";
  let shown = PAGE;
  let finished = false;

  const live = new LiveSession(sessionId, seat.token, {
    status(value) {
      connection = value;
      view?.setConnection(value);
      if (value === "reconnecting") announce(t("connection.lost"));
    },
    welcome(event) {
      dispatch(event);
      if (!event.resumed) {
        view.imports.restore(member(state, state.me));
        refreshCandidates();
      }
    },
    event(event) {
      if (event.type === "member.joined") announce(t("members.joined", { name: event.member.name }));
      if (event.type === "member.left") announce(t("members.left", { name: nameOf(state, event.member_id) ?? t("someone") }));
      dispatch(event);
      if (event.type.startsWith("import.")) view.imports.apply(event);
      if (event.type === "reaction") view.chat.reaction(event.emoji, nameOf(state, event.member_id) ?? "");
      if (event.type === "member.joined" && view.drawer?.dialog.open) view.drawer.refresh();
      // An import's look-up done: films it linked across lists (an IMDb row and a Letterboxd
      // row of one film) now count as one, so the ranking is read again.
      if (event.type === "films.enriched" && event.remaining === 0 && event.enriched > 0) refreshCandidates();
    },
    gone(code) {
      gone(t(`gone.${code}`));
    },
  });

  function dispatch(event) {
    const prev = state;
    state = reduce(state, event);
    if (state.ended && !finished) { gone(t("lobby.ended")); return; }
    view.update(state, prev, event);
  }

  async function refreshCandidates() {
    const result = await api("GET", `/api/v1/sessions/${sessionId}/candidates?limit=${Math.max(shown, 100)}`, { token: seat.token });
    if (result.ok) dispatch({ type: "ui.candidates", ...result.data });
  }

  function mount() {
    view?.destroy();
    clear(root);
    view = new SessionView({
      root, sessionId, seat, live, dispatch: (e) => dispatch(e),
      loadMore: () => { shown += PAGE; refreshCandidates(); },
      shown: () => shown,
      leave, ended: () => gone(t("lobby.you_ended"), true),
    });
    view.setConnection(connection);
    if (state.sessionId) {
      view.update(state, null, null);
      view.imports.restore(member(state, state.me));
    }
  }

  // The member's own action ("you left", "you ended it") names the end even when the
  // server's event or close code came first; otherwise the first reason stays.
  function gone(message, own = false) {
    if (finished && !own) return;
    finished = true;
    live.stop();
    view?.destroy();
    forgetSeat(sessionId);
    clear(root);
    root.append(h("section", { class: "panel stack narrow" }, h("h1", {}, t("lobby.bye")), h("p", { role: "alert" }, message), h("a", { href: "/", class: "button primary" }, t("lobby.new_night"))));
  }

  async function leave(button) {
    button.disabled = true;
    const result = await api("DELETE", `/api/v1/sessions/${sessionId}/members/me`, { token: seat.token });
    if (!result.ok && result.status !== 401) {
      button.disabled = false;
      announce(errorText(result.error));
      return;
    }
    gone(t("lobby.you_left"), true);
  }

  mount();
  live.start();
  const teardown = () => { finished = true; live.stop(); view?.destroy(); };
  // A language switch redraws the view from the same state; the socket stays open.
  teardown.relabel = () => { if (!finished) mount(); };
  return teardown;
}

class SessionView {
  constructor({ root, sessionId, seat, live, dispatch, loadMore, shown, leave, ended }) {
    this.live = live;
    this.dispatch = dispatch;
    this.shown = shown;
    this.state = null;
    const send = (command) => live.send(command);

    this.title = h("h1", { class: "session-title", dir: "auto" }, "…");
    this.connection = h("span", { class: "connection", role: "status" });
    this.hostButton = h("button", { type: "button", class: "ghost small", "data-action": "host-tools", hidden: true, "aria-haspopup": "dialog" }, t("host.open"));
    this.tabs = new Map();
    const nav = h("nav", { class: "stages", "aria-label": t("stages.label") },
      h("ol", {}, STAGES.map((stage, index) => {
        const hint = h("span", { class: "tab-hint" });
        const button = h("button", { type: "button", "data-stage-tab": stage, onclick: () => this.open(stage) },
          h("span", { class: "tab-number", "aria-hidden": "true" }, String(index + 1)),
          h("span", { class: "tab-label" }, t(`stage.${stage}`)), hint);
        this.tabs.set(stage, { button, hint });
        return h("li", {}, button);
      })));
    this.notice = h("p", { class: "notice", role: "status" });

    // Invite
    this.inviteInput = h("input", { id: "invite-link", readonly: true, value: seat.invite_url || "", "aria-label": t("invite.link_label"), dir: "ltr" });
    this.copyButton = h("button", { type: "button", class: "primary", onclick: () => this.copy() }, t("invite.copy"));
    // On a phone, the system's share sheet reaches the group chat in one tap.
    this.shareButton = typeof navigator.share === "function"
      ? h("button", { type: "button", onclick: () => navigator.share({ title: document.title, url: this.inviteInput.value }).catch(() => {}) }, t("invite.share"))
      : null;
    this.invitePanel = h("section", { class: "panel stack", "aria-labelledby": "invite-heading" },
      h("h2", { id: "invite-heading", tabindex: -1 }, t("invite.heading")),
      h("p", { class: "lede" }, t("invite.lede")),
      h("div", { class: "row invite-row" }, this.inviteInput, this.copyButton, this.shareButton),
      h("p", { class: "muted small" }, t("invite.hint")),
      h("button", { type: "button", class: "ghost next", onclick: () => this.open("lists") }, t("invite.next")));

    // Lists
    this.imports = new ImportPanel({ sessionId, token: seat.token, me: seat.member_id, onNext: () => this.open("pick") });
    this.candidates = new CandidatesPanel({ loadMore });
    this.streaming = new StreamingPanel({ sessionId, token: seat.token, dispatch });
    this.limits = new LimitsPanel({ sessionId, token: seat.token });
    this.filmStatus = new FilmDetailsStatus();
    this.candidates.summary.after(this.filmStatus.root);
    this.listsPanel = h("div", { class: "stack" }, this.imports.root, this.limits.root, this.streaming.root, this.candidates.root);

    // Pick
    this.starter = new RoundStarter({ sessionId, token: seat.token, send });
    this.rounds = new RoundPanel({
      clock: live.clock,
      send, dispatch,
      watch: (film) => send({ type: "party.setup", film_title: film.title, media_url: this.state.party?.media_url ?? null, control: this.state.party?.control ?? "host" })
        .catch((failure) => announce(errorText(failure))),
    });
    this.waiting = h("section", { class: "panel stack" }, h("h2", { id: "waiting-heading", tabindex: -1 }, t("pick.heading")), h("p", { class: "lede waiting-text" }));
    this.roundLimits = new LimitsBar({ id: "round-limits" });
    this.pickPanel = h("div", { class: "stack" }, this.roundLimits.root, this.rounds.root, this.waiting, this.starter.root);

    // Watch
    this.party = new PartyPanel({ send, clock: live.clock });

    this.panels = { invite: this.invitePanel, lists: this.listsPanel, pick: this.pickPanel, watch: this.party.root };
    this.stage = h("div", { class: "stage", "data-stage": "invite" }, Object.entries(this.panels).map(([name, panel]) => {
      panel.dataset.panel = name;
      return panel;
    }));

    this.members = new MemberList();
    this.chat = new ChatPanel({ send });
    const leaveButton = h("button", { type: "button", class: "ghost small", onclick: () => leave(leaveButton) }, t("lobby.leave"));
    // The film-data provider's credit, as its terms ask (only when one is configured).
    this.filmAbout = h("p", { class: "film-about", hidden: true });

    this.celebration = h("dialog", { class: "celebration", "data-celebration": "", "aria-labelledby": "celebration-heading" });
    this.drawer = null;
    this.hostButton.addEventListener("click", () => {
      if (!this.drawer) {
        this.drawer = new HostDrawer({ sessionId, token: seat.token, onEnded: ended, onInvite: (url) => {
          this.inviteInput.value = url;
          updateSeat(sessionId, { invite_url: url });
        } });
        this.drawer.dialog.addEventListener("close", () => this.hostButton.focus());
        root.append(this.drawer.dialog);
      }
      this.drawer.open();
    });

    root.append(
      h("header", { class: "session-head" },
        h("div", { class: "head-title" }, h("p", { class: "eyebrow" }, t("lobby.eyebrow")), this.title),
        h("div", { class: "head-tools" }, this.connection, this.hostButton)),
      nav,
      this.notice,
      h("div", { class: "session-body" }, this.stage, h("aside", { class: "side stack", "aria-label": t("lobby.side") }, this.chat.root, this.members.root)),
      h("footer", { class: "lobby-foot" }, this.filmAbout, leaveButton),
      this.celebration);

    this.keys = (event) => this.key(event);
    document.addEventListener("keydown", this.keys);
    this.noticeTimer = null;
  }

  destroy() {
    this.streaming.destroy();
    this.party.destroy();
    this.rounds.destroy();
    document.removeEventListener("keydown", this.keys);
    window.clearTimeout(this.noticeTimer);
    window.clearTimeout(this.startTimer);
  }

  setConnection(value) {
    this.connection.textContent = t(`connection.${value}`);
    this.connection.dataset.state = value;
  }

  open(stage) {
    this.dispatch({ type: "ui.stage", stage });
    this.focusStage();
  }

  focusStage() {
    const stage = this.state?.stage;
    if (!stage) return;
    const target = stage === "pick" ? this.rounds.focusTarget() ?? this.pickPanel.querySelector("h2:not([hidden])") : this.panels[stage].querySelector("h2");
    target?.focus({ preventScroll: false });
  }

  update(state, prev, event) {
    this.state = state;
    if (this.title.textContent !== state.title) {
      this.title.textContent = state.title;
      document.title = `${state.title} · filmnight`;
    }
    const host = isHost(state);
    this.hostButton.hidden = !host;
    if (!host && this.drawer?.dialog.open) this.drawer.dialog.close();

    // Stage bar and the visible stage.
    this.updateTabs(state);
    this.stage.dataset.stage = state.stage;
    for (const [name, panel] of Object.entries(this.panels)) panel.hidden = name !== state.stage;

    this.members.update(state);
    this.chat.update(state);
    this.streaming.update(state, prev, event);
    this.candidates.update(state, this.shown());
    this.limits.update(state, host);
    // A round shows the limits its shortlist respected (a reload's snapshot does not carry
    // them: tonight's limits then); before a round, tonight's limits.
    const roundLimits = state.round && state.round.limits !== undefined ? state.round.limits : state.limits;
    this.roundLimits.update(roundLimits, state.round ? 0 : state.candidates?.left_out ?? 0);
    this.filmStatus.update(state);
    const about = state.filmData === "tmdb" || state.filmData === "kinopoisk" ? t(`film.about.${state.filmData}`) : "";
    if (this.filmAbout.textContent !== about) this.filmAbout.textContent = about;
    this.filmAbout.hidden = !about;
    const roundOpen = state.round?.status === "open";
    this.starter.root.hidden = !host || roundOpen;
    this.waiting.hidden = Boolean(state.round) || host;
    this.waiting.querySelector(".waiting-text").textContent = t("pick.waiting", { name: nameOf(state, state.hostId) ?? t("someone") });
    // Redraw a panel only when what it shows changed: a chat line must not replace the Play
    // button under a member's pointer (a click that starts on one element and ends on its
    // replacement is lost).
    if (!prev || state.round !== prev.round || state.candidates !== prev.candidates || state.members !== prev.members || state.hostId !== prev.hostId || state.party?.film_title !== prev.party?.film_title) {
      this.rounds.update(state);
    }
    // The party shows the film's card too: details arriving for it redraw it.
    if (!prev || state.party !== prev.party || state.members !== prev.members || state.hostId !== prev.hostId || state.round !== prev.round || state.candidates !== prev.candidates) {
      this.party.update(state);
    }

    if (state.notice && state.notice.id !== prev?.notice?.id) this.showNotice(state.notice);
    if (!prev || !event || event.type === "welcome") return;
    // Focus follows new content, unless the member is typing somewhere.
    if (typing(document.activeElement) && !this.stage.contains(document.activeElement)) {
      if (event.type === "round.result" && event.mode === "match" && event.winner) this.celebrate(event.winner);
      return;
    }
    if (event.type === "round.result") {
      if (event.mode === "match" && event.winner) this.celebrate(event.winner);
      else this.rounds.focusTarget()?.focus();
    } else if (event.type === "round.started" || (event.type === "round.tally" && state.lastStrike !== prev.lastStrike)) {
      this.rounds.focusTarget()?.focus();
    } else if (event.type !== "ui.stage" && state.stage !== prev.stage) {
      this.focusStage();
    }
  }

  updateTabs(state) {
    for (const [stage, { button, hint }] of this.tabs) {
      if (stage === state.stage) button.setAttribute("aria-current", "step"); else button.removeAttribute("aria-current");
      const text = this.hintFor(stage, state);
      if (hint.textContent !== text) hint.textContent = text;
    }
    // A scheduled start passes without an event: say "playing" once it has.
    window.clearTimeout(this.startTimer);
    const playback = state.party?.playback;
    const wait = playback?.state === "playing" ? playback.at - this.live.clock.serverNow() : 0;
    if (wait > 0) this.startTimer = window.setTimeout(() => this.updateTabs(this.state), wait + 50);
  }

  hintFor(stage, state) {
    switch (stage) {
      case "invite": return t("members.count", { count: state.members.length });
      case "lists": {
        const lists = state.members.filter((m) => m.films != null).length;
        return t("stage.lists_hint", { count: lists, total: state.members.length });
      }
      case "pick":
        if (state.round?.status === "open") return t("stage.pick_open");
        if (state.round?.winner) return titleOf(state.round.winner);
        return "";
      case "watch":
        if (!filmSet(state.party)) return "";
        if (state.party.playback.state !== "playing") return state.party.film_title ?? "";
        // A start the countdown scheduled has not happened yet.
        return state.party.playback.at > this.live.clock.serverNow() ? t("stage.watch_starting") : t("stage.watch_playing");
      default: return "";
    }
  }

  showNotice(notice) {
    const params = { ...notice.params };
    if ("position_ms" in params) params.time = formatDuration(params.position_ms);
    // Notices name a film by the list's title: the member reads it in their language.
    const known = params.film ? filmByTitle(this.state, params.film) : null;
    if (known) params.film = titleOf(known);
    this.notice.textContent = t(notice.key, params);
    this.notice.classList.add("shown");
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => this.notice.classList.remove("shown"), NOTICE_MS);
  }

  // A match: a full-screen moment for everyone; the host can go straight to the party.
  celebrate(winner) {
    const dialog = this.celebration;
    const close = h("button", { type: "button", class: isHost(this.state) ? "ghost" : "primary", onclick: () => dialog.close() }, t("celebrate.details"));
    const watch = isHost(this.state)
      ? h("button", { type: "button", class: "primary", onclick: () => {
        dialog.close();
        this.live.send({ type: "party.setup", film_title: winner.title, media_url: this.state.party?.media_url ?? null, control: this.state.party?.control ?? "host" })
          .catch((failure) => announce(errorText(failure)));
      } }, t("result.watch"))
      : null;
    dialog.replaceChildren(h("div", { class: "celebration-body" },
      h("p", { class: "eyebrow" }, t("result.match_eyebrow")),
      // a poster if there is one; a title card would only repeat the title below
      posterOf(winner) ? filmPicture(winner, "large") : null,
      h("h2", { id: "celebration-heading", dir: "auto" }, titleOf(winner)),
      h("p", { class: "muted" }, factsOf(winner).join(" · ")),
      h("p", { class: "lede" }, t("result.match", { film: titleOf(winner) })),
      h("div", { class: "row wrap center" }, watch, close)));
    dialog.addEventListener("close", () => this.rounds.focusTarget()?.focus(), { once: true });
    if (!dialog.open) dialog.showModal();
    (watch ?? close).focus();
  }

  // ← → judge the card anywhere in the Pick stage, except while typing or in a dialog.
  key(event) {
    const round = this.state?.round;
    if (!round || round.status !== "open" || round.mode !== "match" || this.state.stage !== "pick") return;
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "ArrowRight") { event.preventDefault(); this.stage.querySelector(".deck .yes")?.click(); }
    if (event.key === "ArrowLeft") { event.preventDefault(); this.stage.querySelector(".deck .no")?.click(); }
  }

  async copy() {
    const input = this.inviteInput;
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.focus();
      input.select();
    }
    this.copyButton.textContent = t("invite.copied");
    announce(t("invite.copied_announce"));
    window.setTimeout(() => { this.copyButton.textContent = t("invite.copy"); }, 1500);
  }
}
