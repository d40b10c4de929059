// The Watch stage: the film (and its video), one clock for everyone, the ready check and the
// countdown (only once a film is set, never while it plays), the host's party settings.
import { driftCorrection, formatDuration, positionAt, secondsLeft } from "../clock.js";
import { h, keepFocus } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { partyFilm } from "../films.js";
import { filmSet, isHost, readyMembers } from "../state.js";
import { filmCard, titleOf } from "./film_card.js";

const EXTEND_S = 10;

export class PartyPanel {
  constructor({ send, clock }) {
    this.send = send;
    this.clock = clock;
    this.state = null;
    this.error = h("p", { class: "form-error", role: "alert" });
    this.film = h("p", { class: "party-film", dir: "auto" });
    // The film's card (poster, facts, overview) when the party's film is one the session knows.
    this.filmInfo = h("div", { class: "party-film-card", hidden: true });
    this.timer = h("output", { class: "timer", "aria-live": "off", id: "party-timer" }, "0:00");
    this.status = h("p", { class: "muted small", id: "party-status" });
    this.countdown = h("p", { class: "countdown" });
    this.startNow = h("p", { class: "start-now", role: "status" });
    this.video = h("video", { id: "party-video", playsinline: true, muted: true, preload: "auto", hidden: true });
    this.video.muted = true;
    this.controls = h("div", { class: "row wrap controls" });
    this.readyRow = h("div", { class: "row wrap ready-row" });
    this.countdownRow = h("div", { class: "row wrap countdown-row" });
    this.empty = h("p", { class: "lede empty" });
    this.setup = h("div", { class: "stack" });
    this.root = h("section", { class: "panel stack party", "aria-labelledby": "party-heading" },
      h("h2", { id: "party-heading", tabindex: -1 }, t("party.heading")),
      this.film, this.filmInfo, this.empty, this.video, this.timer, this.startNow, this.countdown, this.status,
      this.controls, this.readyRow, this.countdownRow, this.error, this.setup);
    this.tick = window.setInterval(() => this.sync(), 200);
    this.phase = null;
  }

  destroy() {
    window.clearInterval(this.tick);
    this.video.pause();
  }

  async command(command) {
    this.error.textContent = "";
    try { await this.send(command); } catch (failure) { this.error.textContent = errorText(failure); }
  }

  // "counting" while a countdown runs, "playing" once the film plays, else "paused".
  phaseAt(now) {
    const party = this.state.party;
    if (secondsLeft(party.countdown_ends_at, now) > 0) return "counting";
    return party.playback.state === "playing" ? "playing" : "paused";
  }

  update(state) {
    this.state = state;
    if (!state.party) return;
    keepFocus(this.root, () => this.draw());
  }

  draw() {
    const state = this.state;
    const party = state.party;
    const now = this.clock.serverNow();
    const phase = this.phaseAt(now);
    this.phase = phase;
    const hasFilm = filmSet(party);
    const host = isHost(state);
    const me = state.me;
    if ((party.media_url || "") !== (this.video.getAttribute("src") || "")) {
      if (party.media_url) this.video.setAttribute("src", party.media_url); else this.video.removeAttribute("src");
    }
    this.video.hidden = !party.media_url;
    const known = hasFilm ? partyFilm(state) : null;
    const shownTitle = known ? titleOf(known) : party.film_title;
    this.shownTitle = shownTitle;
    this.film.textContent = hasFilm ? t("party.tonight", { film: shownTitle || t("party.video") }) : "";
    const infoKey = JSON.stringify([known, state.filmData]);
    if (infoKey !== this.infoKey) {
      this.infoKey = infoKey;
      this.filmInfo.replaceChildren(known ? filmCard(known, { size: "medium", year: "facts", overview: "inline", credit: state.filmData, titleClass: null }) : "");
      this.filmInfo.hidden = !known;
    }
    this.film.hidden = !hasFilm;
    this.empty.hidden = hasFilm;
    this.empty.textContent = hasFilm ? "" : host ? t("party.no_film_host") : t("party.no_film_guest");
    this.timer.hidden = !hasFilm;

    const ready = readyMembers(state);
    const online = state.members.filter((m) => m.online);
    const film = party.film_title ? t("party.now_showing", { film: shownTitle }) : t("party.no_film");
    const who = party.control === "everyone" ? t("party.control_everyone") : t("party.control_host");
    this.status.textContent = `${film} · ${t("party.ready_count", { count: ready.length, total: online.length })} · ${who}`;

    // The buttons are rebuilt only when what they do changed (a presence tick leaves them be).
    const controller = party.control === "everyone" || host;
    const allReady = online.length > 0 && online.every((m) => ready.includes(m.member_id));
    const key = JSON.stringify([hasFilm, host, controller, phase, party.playback.state, party.playback.version, ready.includes(me), allReady]);
    if (key !== this.buttonsKey) {
      this.buttonsKey = key;
      this.drawButtons({ party, hasFilm, host, controller, phase, ready, me, allReady });
    }
    this.drawSetup(host);
    this.sync();
  }

  drawButtons({ party, hasFilm, host, controller, phase, ready, me, allReady }) {
    // Playback controls: for controllers, once there is a film.
    this.controls.replaceChildren();
    if (hasFilm && controller) {
      const version = party.playback.version;
      const playing = party.playback.state === "playing";
      const here = () => Math.round(positionAt(party.playback, this.clock.serverNow()));
      this.controls.append(
        h("button", { type: "button", class: "primary", onclick: () => this.command({ type: "playback", action: playing ? "pause" : "play", base_version: version }) }, playing ? t("party.pause") : t("party.play")),
        h("button", { type: "button", title: t("party.back_label"), onclick: () => this.command({ type: "playback", action: "seek", position_ms: Math.max(0, here() - 10000), base_version: version }) }, t("party.back")),
        h("button", { type: "button", title: t("party.forward_label"), onclick: () => this.command({ type: "playback", action: "seek", position_ms: here() + 10000, base_version: version }) }, t("party.forward")));
    }

    // The ready check: a film is set and it is not playing yet.
    this.readyRow.replaceChildren();
    if (hasFilm && phase !== "playing") {
      const mine = ready.includes(me);
      this.readyRow.append(
        h("button", { type: "button", class: mine ? "" : "primary", onclick: () => this.command({ type: "ready", ready: !mine }) }, mine ? t("party.not_ready") : t("party.ready")));
    }

    // The host's countdown: start (or start anyway), cancel, more time; hidden while playing.
    this.countdownRow.replaceChildren();
    if (host && hasFilm && phase !== "playing") {
      if (phase === "counting") {
        this.countdownRow.append(
          h("button", { type: "button", onclick: () => this.command({ type: "countdown", action: "extend", seconds: EXTEND_S }) }, t("party.extend", { count: EXTEND_S })),
          h("button", { type: "button", class: "ghost", onclick: () => this.command({ type: "countdown", action: "cancel" }) }, t("party.cancel_countdown")));
      } else {
        this.countdownRow.append(h("button", { type: "button", onclick: () => this.command({ type: "countdown", action: "start", force: !allReady }) }, allReady ? t("party.start_countdown") : t("party.start_anyway")));
      }
    }
  }

  drawSetup(host) {
    if (!host) { this.setup.replaceChildren(); this.form = null; return; }
    const party = this.state.party;
    if (!this.form) {
      this.fields = {
        title: h("input", { id: "party-film", maxlength: 200, placeholder: t("party.film_placeholder"), dir: "auto" }),
        media: h("input", { id: "party-media", type: "url", placeholder: t("party.media_placeholder"), dir: "ltr" }),
        control: h("select", { id: "party-control" },
          h("option", { value: "host" }, t("party.control_host_option")),
          h("option", { value: "everyone" }, t("party.control_everyone_option"))),
      };
      const { title, media, control } = this.fields;
      this.form = h("form", { class: "stack", onsubmit: (event) => {
        event.preventDefault();
        this.command({ type: "party.setup", film_title: title.value || null, media_url: media.value || null, control: control.value });
      } },
        h("label", { for: "party-film" }, t("party.film_label")), title,
        h("label", { for: "party-media" }, t("party.media_label")), media,
        h("label", { for: "party-control" }, t("party.control_label")), control,
        h("button", { type: "submit" }, t("party.save")));
      this.details = h("details", { class: "party-setup" }, h("summary", {}, t("party.settings")), this.form);
      this.setup.replaceChildren(this.details);
    }
    if (!filmSet(party)) this.details.open = true;
    // Refresh the fields only when the shared settings changed (never while typing).
    const shared = JSON.stringify([party.film_title, party.media_url, party.control]);
    if (shared !== this.sharedSetup) {
      this.sharedSetup = shared;
      const { title, media, control } = this.fields;
      if (document.activeElement !== title) title.value = party.film_title || "";
      if (document.activeElement !== media) media.value = party.media_url || "";
      if (document.activeElement !== control) control.value = party.control;
    }
  }

  sync() {
    const party = this.state?.party;
    if (!party) return;
    const now = this.clock.serverNow();
    if (this.phaseAt(now) !== this.phase) { this.update(this.state); return; }
    const target = positionAt(party.playback, now);
    this.timer.textContent = formatDuration(target);
    this.timer.dataset.positionMs = String(Math.round(target));
    this.timer.dataset.state = party.playback.state;
    const left = secondsLeft(party.countdown_ends_at, now);
    const counting = left > 0 ? t("party.starting_in", { count: left }) : "";
    if (this.countdown.textContent !== counting) this.countdown.textContent = counting;
    // At zero with no video: everyone starts their own copy now.
    const started = party.playback.state === "playing" && now >= party.playback.at && now - party.playback.at < 10000;
    const startNow = !party.media_url && filmSet(party) && started ? t("party.start_now", { film: this.shownTitle || party.film_title || "" }) : "";
    if (this.startNow.textContent !== startNow) this.startNow.textContent = startNow;
    if (!party.media_url || this.video.readyState < 1) return;
    const shouldPlay = party.playback.state === "playing" && now >= party.playback.at;
    if (shouldPlay) {
      const fix = driftCorrection(this.video.currentTime * 1000, target, party.playback.rate);
      if (fix.action === "seek") this.video.currentTime = fix.seekMs / 1000;
      this.video.playbackRate = fix.action === "seek" ? party.playback.rate : fix.rate;
      if (this.video.paused) this.video.play().catch(() => { this.status.textContent = t("party.autoplay_blocked"); });
    } else {
      if (!this.video.paused) this.video.pause();
      if (Math.abs(this.video.currentTime * 1000 - target) > 100) this.video.currentTime = target / 1000;
    }
  }
}
