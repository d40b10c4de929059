// Where we can all watch it: each member's region and streaming services (a picker), the line of
// services on a candidate, and the filter "only films all of us can stream". The server counts
// (GET /streaming); this view asks it again when the films, the members or someone's services
// change, and renders what state.streaming holds (streaming-state.js).
import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { errorText, formatList, language, t } from "../i18n.js";
import { filmsToAsk, streamingOf, visibleCandidates } from "../streaming-state.js";

const ASK_DELAY_MS = 250;

// "Netflix · 2 of 2 of you", then rent and buy apart: the line under a candidate's title.
export function serviceText(state, filmId) {
  const found = streamingOf(state, filmId);
  if (!found || !found.known) return null;
  const total = state.streaming?.members ?? 0;
  const parts = found.streams.map((s) => t("streaming.count", { name: s.name, count: s.members, total }));
  const lines = [];
  if (parts.length) lines.push(parts.join(" · "));
  else if (found.other.length) lines.push(t("streaming.other", { names: formatList(found.other) }));
  const paid = [];
  if (found.rent.length) paid.push(t("streaming.rent", { names: formatList(found.rent) }));
  if (found.buy.length) paid.push(t("streaming.buy", { names: formatList(found.buy) }));
  if (paid.length) lines.push(paid.join(" · "));
  // "Not streaming" only where the viewer said where they watch; else nothing is claimed.
  if (!lines.length && state.streaming?.mine?.region) lines.push(t("streaming.nowhere"));
  if (!lines.length) return null;
  return { everyone: found.everyone, lines };
}

// The element for a candidate row (null: nothing known), and a key that changes when it does.
export function serviceLine(state, film) {
  const text = serviceText(state, film.id);
  if (!text) return null;
  return h("span", { class: `services${text.everyone ? " everyone" : ""}`, dataset: { services: "" } },
    text.lines.map((line, i) => h("span", { class: i === 0 ? "services-main" : "services-paid" }, line)));
}

export function serviceKey(state, filmId) {
  const text = serviceText(state, filmId);
  return text ? `${text.everyone}|${text.lines.join("|")}` : "";
}

function regionName(code, fallback) {
  try {
    return new Intl.DisplayNames([language()], { type: "region" }).of(code) ?? fallback;
  } catch {
    return fallback;
  }
}

function guessRegion(codes) {
  for (const tag of globalThis.navigator?.languages ?? []) {
    const region = String(tag).split("-")[1]?.toUpperCase();
    if (region && codes.includes(region)) return region;
  }
  return codes.includes("US") ? "US" : codes[0] ?? "";
}

export class StreamingPanel {
  constructor({ sessionId, token, dispatch }) {
    this.sessionId = sessionId;
    this.token = token;
    this.dispatch = dispatch;
    this.timer = null;
    this.asked = -1;
    this.regions = null;
    this.services = new Map();
    this.chosen = new Set();

    this.summary = h("p", { class: "muted streaming-summary" });
    this.filter = h("input", { type: "checkbox", id: "streaming-filter", onchange: () => this.dispatch({ type: "ui.streaming.filter", on: this.filter.checked }) });
    this.filterHint = h("span", { class: "muted small", id: "streaming-filter-hint" });
    this.filterRow = h("div", { class: "streaming-filter" },
      h("label", { for: "streaming-filter", class: "check" }, this.filter, h("span", {}, t("streaming.filter"))), this.filterHint);
    this.filter.setAttribute("aria-describedby", "streaming-filter-hint");

    this.region = h("select", { id: "streaming-region", onchange: () => this.loadServices(this.region.value) });
    this.search = h("input", { type: "search", id: "streaming-search", autocomplete: "off", placeholder: t("streaming.search_placeholder"), oninput: () => this.applySearch() });
    this.list = h("ul", { class: "service-list", id: "streaming-services" });
    this.listBox = h("div", { class: "service-box", role: "group", "aria-labelledby": "streaming-services-label" }, this.list);
    this.error = h("p", { class: "form-error", role: "alert" });
    this.save = h("button", { type: "submit", class: "primary", id: "streaming-save" }, t("streaming.save"));
    this.form = h("form", { class: "stack streaming-form", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      h("label", { for: "streaming-region" }, t("streaming.region")), this.region,
      h("label", { for: "streaming-search", id: "streaming-services-label" }, t("streaming.services")), this.search,
      this.listBox, this.error, h("div", { class: "row" }, this.save));
    this.mine = h("span", { class: "streaming-mine" });
    this.picker = h("details", { class: "streaming-picker", ontoggle: () => { if (this.picker.open) this.openPicker(); } },
      h("summary", {}, h("span", {}, t("streaming.yours")), this.mine), this.form);
    this.credit = h("p", { class: "muted small credit" }, t("streaming.credit"));
    this.body = h("div", { class: "stack" }, this.summary, this.picker, this.filterRow, this.credit);
    this.root = h("section", { class: "panel stack streaming", "aria-labelledby": "streaming-heading" },
      h("h2", { id: "streaming-heading" }, t("streaming.heading")), this.body);
  }

  destroy() {
    window.clearTimeout(this.timer);
  }

  // Ask again when the films shown, the members or anyone's services changed (debounced: an
  // import's enrichment sends a burst of batches).
  update(state, prev, event) {
    this.state = state;
    const s = state.streaming;
    const candidatesChanged = !prev || state.candidates !== prev.candidates;
    const membersChanged = prev && state.members.length !== prev.members.length;
    const servicesChanged = prev && (s?.changed ?? 0) !== (prev.streaming?.changed ?? 0);
    const enriched = event?.type === "films.enriched";
    const off = s?.status === "streaming_needs_tmdb"; // a server's film data does not change live
    if (state.candidates && !off && (candidatesChanged || membersChanged || servicesChanged || enriched || this.asked < 0)) this.askSoon();
    this.render(state);
  }

  askSoon() {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.ask(), this.asked < 0 ? 0 : ASK_DELAY_MS);
    this.asked = Math.max(this.asked, 0);
  }

  async ask() {
    const ids = filmsToAsk(this.state);
    const result = await api("GET", `/api/v1/sessions/${this.sessionId}/streaming?films=${ids.join(",")}`, { token: this.token });
    if (result.ok) this.dispatch({ type: "ui.streaming", ...result.data });
    else this.dispatch({ type: "ui.streaming.unavailable", code: result.error.code });
  }

  render(state) {
    const s = state.streaming;
    const off = s?.status === "streaming_needs_tmdb";
    this.picker.hidden = off;
    this.filterRow.hidden = off;
    this.credit.hidden = off;
    if (!s || s.status === "loading") { this.summary.textContent = t("streaming.loading"); return; }
    if (off) { this.summary.textContent = t("streaming.needs_tmdb"); return; }
    if (s.status === "error") { this.summary.textContent = t("error.streaming_unavailable"); return; }
    this.summary.textContent = s.choosing
      ? t("streaming.choosing", { count: s.choosing, total: s.members })
      : t("streaming.nobody");
    this.mine.textContent = s.mine && s.mine.services.length
      ? `${formatList(s.mine.services.map((x) => x.name))} · ${regionName(s.mine.region, s.mine.region)}`
      : t("streaming.none_yet");
    this.filter.checked = Boolean(s.filter);
    this.filter.disabled = s.choosing === 0;
    const shown = visibleCandidates(state, state.candidates?.candidates ?? []).length;
    this.filterHint.textContent = s.choosing === 0 ? t("streaming.filter_off")
      : s.filter ? t("streaming.filter_count", { count: shown }) : t("streaming.filter_hint");
  }

  async openPicker() {
    if (this.regions) return;
    this.error.textContent = "";
    const result = await api("GET", `/api/v1/sessions/${this.sessionId}/streaming/regions`, { token: this.token });
    if (!result.ok) { this.error.textContent = errorText(result.error); return; }
    const collator = new Intl.Collator(language());
    this.regions = result.data.regions
      .map((r) => ({ code: r.code, name: regionName(r.code, r.name) }))
      .sort((a, b) => collator.compare(a.name, b.name));
    this.region.replaceChildren(...this.regions.map((r) => new Option(r.name, r.code)));
    const mine = this.state?.streaming?.mine;
    const codes = this.regions.map((r) => r.code);
    this.region.value = mine?.region && codes.includes(mine.region) ? mine.region : guessRegion(codes);
    this.chosen = new Set(mine?.region === this.region.value ? mine.services.map((x) => x.id) : []);
    await this.loadServices(this.region.value);
  }

  async loadServices(region) {
    if (!region) return;
    this.error.textContent = "";
    const mine = this.state?.streaming?.mine;
    if (mine?.region === region && !this.services.has(region)) this.chosen = new Set(mine.services.map((x) => x.id));
    let services = this.services.get(region);
    if (!services) {
      const result = await api("GET", `/api/v1/sessions/${this.sessionId}/streaming/services?region=${encodeURIComponent(region)}`, { token: this.token });
      if (!result.ok) { this.error.textContent = errorText(result.error); return; }
      services = result.data.services;
      this.services.set(region, services);
    }
    if (this.region.value !== region) return; // another region was picked meanwhile
    this.list.replaceChildren(...services.map((service) => {
      const id = `streaming-service-${service.id}`;
      const box = h("input", { type: "checkbox", id, value: String(service.id), checked: this.chosen.has(service.id),
        onchange: () => { if (box.checked) this.chosen.add(service.id); else this.chosen.delete(service.id); } });
      return h("li", { dataset: { name: service.name.toLowerCase() } }, h("label", { for: id, class: "check" }, box, h("span", {}, service.name)));
    }));
    this.applySearch();
  }

  applySearch() {
    const query = this.search.value.trim().toLowerCase();
    for (const li of this.list.children) {
      const box = li.querySelector("input");
      li.hidden = Boolean(query) && !li.dataset.name.includes(query) && !box.checked;
    }
  }

  async submit() {
    const region = this.region.value;
    const services = [...this.list.querySelectorAll("input:checked")].map((box) => Number(box.value));
    this.save.disabled = true;
    this.error.textContent = "";
    const result = await api("PUT", `/api/v1/sessions/${this.sessionId}/streaming/me`, { token: this.token, body: { region, services } });
    this.save.disabled = false;
    if (!result.ok) { this.error.textContent = errorText(result.error); return; }
    this.chosen = new Set(services);
    announce(t("streaming.saved"));
    this.picker.open = false;
    this.picker.querySelector("summary").focus();
    this.ask();
  }
}
