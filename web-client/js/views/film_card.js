// What every view shows of a film: the poster (or a title card when there is none), the title in
// the member's language, the facts line (year · runtime · genres), directors, the overview, and
// the provider's credit. One place, so candidates, round cards, results and the party agree.
//
// Other features add a line to a card with one call: addCardLine(body, text or element) puts it
// in the card's `.film-lines` slot (under the facts), e.g. where the film streams.
import { h } from "../dom.js";
import { filmFacts, filmOverview, filmTitle, posterOf, titleHue } from "../films.js";
import { has, language, t } from "../i18n.js";

// CSS pixels of each poster size at 2:3 (the attributes reserve the space before the file comes).
const SIZES = { small: [40, 60], medium: [56, 84], large: [342, 513] };

export function titleOf(film) {
  return filmTitle(film, language());
}

// Genre names come in the server's film-data language; the catalogue translates the common ones.
export function genreName(name) {
  const key = `genre.${String(name).toLowerCase()}`;
  return has(key) ? t(key) : name;
}

export function factsOf(film, options) {
  return filmFacts(film, language(), genreName, options);
}

// No poster: the film's own colour (from its title) and, on a thumbnail, its initial; a large one
// writes the title and year.
function titleCard(film, size) {
  const initial = [...titleOf(film).replace(/^(the|a|an)\s+/i, "")].find((ch) => /[\p{L}\p{N}]/u.test(ch)) ?? "";
  const card = h("span", { class: `poster title-card ${size}`, "aria-hidden": "true" },
    size === "large" ? null : h("span", { class: "tc-mono" }, initial.toUpperCase()),
    h("span", { class: "tc-title", dir: "auto" }, titleOf(film)),
    film.year ? h("span", { class: "tc-year" }, String(film.year)) : null);
  // CSSOM, not a style attribute: the CSP forbids inline styles.
  card.style.setProperty("--hue", String(titleHue(film.title)));
  return card;
}

// The poster from our own origin, lazy, its box reserved; a title card without one (or when the
// file fails to load). `described`: the poster stands alone (a match card, the winner), so it
// gets alt text; a thumbnail beside the written title is decoration (alt="": read once, not twice).
export function filmPoster(film, size = "small", { described = size === "large" } = {}) {
  const src = posterOf(film);
  if (!src) return titleCard(film, size);
  const [width, height] = SIZES[size] ?? SIZES.small;
  const img = h("img", {
    class: `poster ${size}`, src, width, height, loading: "lazy", decoding: "async", referrerpolicy: "no-referrer",
    alt: described ? t("film.poster_alt", { film: titleOf(film) }) : "",
  });
  img.addEventListener("error", () => img.replaceWith(titleCard(film, size)), { once: true });
  return img;
}

// "Details: TMDB" under film details; nothing without a provider.
export function providerCredit(filmData) {
  if (filmData !== "tmdb" && filmData !== "kinopoisk") return null;
  return h("p", { class: "film-credit" }, t(`film.credit.${filmData}`));
}

// The text of a card. Options: `tag` of the title ("span", "p", "h3"), `year`: "title" (after
// the title), "facts" (first in the facts line) or false (a title card already shows it), `overview`: "none" | "inline" (clamped, on a match card) | "details"
// (behind a disclosure, on a candidate row), `credit`: the session's film-data provider, `lines`:
// extra lines for the slot.
export function filmBody(film, { tag = "span", year = "title", overview = "none", credit = null, titleClass = "film-title", lines = [] } = {}) {
  const facts = factsOf(film, { year: year === "facts" });
  // titleClass null: the title is written just above the card already.
  const title = titleClass === null ? null : h(tag, { class: titleClass, dir: "auto" }, titleOf(film),
    year === "title" && film.year ? h("span", { class: "film-year" }, ` ${film.year}`) : null);
  const slot = h("div", { class: "film-lines" });
  const body = h("div", { class: "film-body" }, title,
    facts.length ? h("p", { class: "film-facts" }, facts.join(" · ")) : null,
    slot);
  for (const line of lines) addCardLine(body, line);
  const summary = filmOverview(film, language());
  const directors = film.directors?.length ? t("film.directors", { names: film.directors.slice(0, 3).join(", "), count: film.directors.length }) : "";
  if (overview === "inline") {
    if (directors) body.append(h("p", { class: "film-directors" }, directors));
    if (summary) body.append(h("p", { class: "film-overview", dir: "auto" }, summary));
    const creditLine = directors || summary ? providerCredit(credit) : null;
    if (creditLine) body.append(creditLine);
  } else if (overview === "details" && (directors || summary)) {
    body.append(h("details", { class: "film-more" },
      h("summary", {}, t("film.details")),
      directors ? h("p", { class: "film-directors" }, directors) : null,
      summary ? h("p", { class: "film-overview", dir: "auto" }, summary) : null,
      providerCredit(credit)));
  }
  return body;
}

// One line more on a card (a string or an element), under the facts. Returns the line.
export function addCardLine(card, content) {
  const slot = card.querySelector(".film-lines") ?? card;
  const line = content instanceof Node ? content : h("p", { class: "film-line" }, String(content));
  slot.append(line);
  return line;
}

// A whole card: poster and text side by side (rows) or stacked (`stacked: true`).
export function filmCard(film, { size = "medium", stacked = false, ...options } = {}) {
  return h("div", { class: `film-card${stacked ? " stacked" : ""}`, dataset: { filmId: film.id } },
    filmPoster(film, size), filmBody(film, options));
}
