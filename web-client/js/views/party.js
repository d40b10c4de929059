// The watch party panel: film and video, ready check, countdown, the shared clock.
import { driftCorrection, positionAt } from "../clock.js";
import { clear, h, keepFocus } from "../dom.js";

function formatTime(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(hours ? 2 : 1, "0");
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${minutes}:${seconds}` : `${minutes}:${seconds}`;
}

export class PartyPanel {
  constructor({ live, me, isHost, onError }) {
    this.live = live;
    this.me = me;
    this.isHost = isHost;
    this.onError = onError;
    this.party = null;
    this.present = new Set();
    this.error = h("p", { class: "form-error", role: "alert" });
    this.timer = h("output", { class: "timer", "aria-live": "off", id: "party-timer" }, "0:00");
    this.status = h("p", { class: "muted small", id: "party-status" });
    this.countdown = h("p", { class: "countdown", role: "status" });
    this.video = h("video", { id: "party-video", playsinline: true, muted: true, preload: "auto", hidden: true });
    this.video.muted = true;
    this.controls = h("div", { class: "row wrap controls" });
    this.readyButton = h("button", { type: "button", onclick: () => this.send({ type: "ready", ready: !this.isReady() }) });
    this.setup = h("div", { class: "stack" });
    this.root = h("section", { class: "card stack party", "aria-labelledby": "party-heading" },
      h("h2", { id: "party-heading" }, "Watch party"),
      this.video, this.timer, this.status, this.controls, this.countdown,
      h("div", { class: "row wrap" }, this.readyButton),
      this.setup, this.error);
    this.tick = window.setInterval(() => this.sync(), 200);
  }

  destroy() {
    window.clearInterval(this.tick);
    this.video.pause();
  }

  isReady() {
    return this.party?.ready.includes(this.me) ?? false;
  }

  canControl() {
    return this.party && (this.party.control === "everyone" || this.isHost());
  }

  async send(command) {
    this.error.textContent = "";
    try {
      await this.live.send(command);
    } catch (error) {
      this.error.textContent = error.message;
    }
  }

  setParty(party) {
    this.party = { ...party, ready: [...party.ready] };
    this.render();
  }

  apply(event) {
    if (!this.party) return;
    if (event.type === "playback") {
      const { state, position_ms, rate, at, by, version } = event;
      this.party.playback = { state, position_ms, rate, at, by, version };
    } else if (event.type === "party") {
      Object.assign(this.party, { film_title: event.film_title, media_url: event.media_url, control: event.control });
      // A new film: nobody is ready for it yet (its reset clock comes as a playback event).
      if (event.reset) Object.assign(this.party, { ready: [], countdown_ends_at: null });
    } else if (event.type === "ready") {
      const ready = new Set(this.party.ready);
      if (event.ready) ready.add(event.member_id); else ready.delete(event.member_id);
      this.party.ready = [...ready];
    } else if (event.type === "countdown") {
      this.party.countdown_ends_at = event.ends_at;
    }
    this.render();
  }

  render() {
    if (this.party) keepFocus(this.root, () => this.draw());
  }

  draw() {
    const party = this.party;
    if ((party.media_url || "") !== (this.video.getAttribute("src") || "")) {
      if (party.media_url) this.video.setAttribute("src", party.media_url); else this.video.removeAttribute("src");
    }
    this.video.hidden = !party.media_url;
    this.readyButton.textContent = this.isReady() ? "I'm not ready" : "I'm ready";
    this.readyButton.classList.toggle("primary", !this.isReady());
    const film = party.film_title ? `Now showing: ${party.film_title}` : "No film set yet";
    const who = party.control === "everyone" ? "Everyone controls playback." : "The host controls playback.";
    this.status.textContent = `${film} · ${party.ready.length} ready · ${who}`;

    clear(this.controls);
    if (this.canControl()) {
      const version = party.playback.version;
      const playing = party.playback.state === "playing";
      const here = () => Math.round(positionAt(party.playback, this.live.clock.serverNow()));
      this.controls.append(
        h("button", { type: "button", class: "primary", onclick: () => this.send({ type: "playback", action: playing ? "pause" : "play", base_version: version }) }, playing ? "Pause" : "Play"),
        h("button", { type: "button", onclick: () => this.send({ type: "playback", action: "seek", position_ms: Math.max(0, here() - 10000), base_version: version }) }, "−10 s"),
        h("button", { type: "button", onclick: () => this.send({ type: "playback", action: "seek", position_ms: here() + 10000, base_version: version }) }, "+10 s"),
      );
    }
    this.renderSetup();
  }

  renderSetup() {
    if (!this.isHost()) {
      clear(this.setup);
      this.form = null;
      return;
    }
    const party = this.party;
    if (!this.form) {
      this.countdownRow = h("div", { class: "row wrap" });
      this.fields = {
        title: h("input", { id: "party-film", maxlength: 200, placeholder: "Alien (1979)" }),
        media: h("input", { id: "party-media", type: "url", placeholder: "https://… (optional: a video everyone's browser can play)" }),
        control: h("select", { id: "party-control" },
          h("option", { value: "host" }, "Only I control playback"),
          h("option", { value: "everyone" }, "Everyone controls playback")),
      };
      const { title, media, control } = this.fields;
      this.form = h("form", { class: "stack", onsubmit: (event) => {
        event.preventDefault();
        this.send({ type: "party.setup", film_title: title.value || null, media_url: media.value || null, control: control.value });
      } },
        h("label", { for: "party-film" }, "Film"), title,
        h("label", { for: "party-media" }, "Video address"), media,
        h("label", { for: "party-control" }, "Control"), control,
        h("button", { type: "submit" }, "Save party settings"));
      clear(this.setup);
      this.setup.append(this.countdownRow, this.form);
    }
    // Refresh the fields only when the shared settings changed (never while typing).
    const shared = JSON.stringify([party.film_title, party.media_url, party.control]);
    if (shared !== this.sharedSetup) {
      this.sharedSetup = shared;
      const { title, media, control } = this.fields;
      if (document.activeElement !== title) title.value = party.film_title || "";
      if (document.activeElement !== media) media.value = party.media_url || "";
      if (document.activeElement !== control) control.value = party.control;
    }
    const allReady = this.present.size > 0 && [...this.present].every((id) => party.ready.includes(id));
    const counting = party.countdown_ends_at && party.countdown_ends_at > this.live.clock.serverNow();
    clear(this.countdownRow);
    this.countdownRow.append(counting
      ? h("button", { type: "button", onclick: () => this.send({ type: "countdown", action: "cancel" }) }, "Cancel countdown")
      : h("button", { type: "button", onclick: () => this.send({ type: "countdown", action: "start", force: !allReady }) }, allReady ? "Start countdown" : "Start anyway"));
  }

  sync() {
    const party = this.party;
    if (!party) return;
    const now = this.live.clock.serverNow();
    const target = positionAt(party.playback, now);
    this.timer.textContent = formatTime(target);
    this.timer.dataset.positionMs = String(Math.round(target));
    this.timer.dataset.state = party.playback.state;
    const ends = party.countdown_ends_at;
    this.countdown.textContent = ends && ends > now ? `Starting in ${Math.ceil((ends - now) / 1000)}…` : "";
    if (!party.media_url || this.video.readyState < 1) return;
    const shouldPlay = party.playback.state === "playing" && now >= party.playback.at;
    if (shouldPlay) {
      const fix = driftCorrection(this.video.currentTime * 1000, target, party.playback.rate);
      if (fix.action === "seek") this.video.currentTime = fix.seekMs / 1000;
      this.video.playbackRate = fix.action === "seek" ? party.playback.rate : fix.rate;
      if (this.video.paused) this.video.play().catch(() => { this.status.textContent = "Press play on the video to join in (the browser blocked autoplay)."; });
    } else {
      if (!this.video.paused) this.video.pause();
      if (Math.abs(this.video.currentTime * 1000 - target) > 100) this.video.currentTime = target / 1000;
    }
  }
}
