// Film helpers without a DOM: a colour from the title, and where to read about a film.

// A hue (0–359) from the title, so a film without a poster still gets its own card colour.
export function titleHue(title) {
  let hash = 2166136261;
  for (const ch of String(title)) {
    hash ^= ch.codePointAt(0);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash % 360;
}

export function posterOf(film) {
  return film.poster ?? film.poster_url ?? null;
}

// The film's page on Letterboxd (its slug) or IMDb (a tt id), when known.
export function filmLink(film) {
  if (film.url && /^https:\/\//.test(film.url)) return { site: "web", href: film.url };
  const imdb = film.imdb_id ?? (/^tt\d{5,}$/.test(film.slug ?? "") ? film.slug : null);
  if (film.slug && !imdb) return { site: "letterboxd", href: `https://letterboxd.com/film/${encodeURIComponent(film.slug)}/` };
  if (imdb) return { site: "imdb", href: `https://www.imdb.com/title/${encodeURIComponent(imdb)}/` };
  return null;
}

export function filmLabel(film) {
  return film.year ? `${film.title} (${film.year})` : film.title;
}

// ---- Film details (from the film-data provider; docs/protocol.md "Film") ----

// The title in the member's language when the provider gave one, else the list's own title.
export function filmTitle(film, lang = "en") {
  return film?.titles?.[lang] || film?.title || "";
}

// The overview in the member's language when the provider has one, else the server's.
export function filmOverview(film, lang = "en") {
  return film?.overviews?.[lang] || film?.overview || "";
}

const unitFormats = new Map();
function unit(lang, name, value) {
  const key = `${lang}|${name}`;
  if (!unitFormats.has(key)) unitFormats.set(key, new Intl.NumberFormat(lang, { style: "unit", unit: name, unitDisplay: "short" }));
  return unitFormats.get(key).format(value);
}

// 112 → "1 hr 52 min" / "1 ч 52 мин"; 45 → "45 min"; 120 → "2 hr"; nothing for no runtime.
export function formatRuntime(minutes, lang = "en") {
  if (!Number.isInteger(minutes) || minutes <= 0) return "";
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const parts = [];
  if (hours) parts.push(unit(lang, "hour", hours));
  if (rest || !hours) parts.push(unit(lang, "minute", rest));
  return parts.join(" ");
}

// The short facts of a card, in order: year, runtime, genres (at most three). `genre(name)`
// translates a genre name (the provider's are in the server's film-data language).
export function filmFacts(film, lang = "en", genre = (name) => name, { year = true } = {}) {
  const facts = [];
  if (year && film.year) facts.push(String(film.year));
  const runtime = formatRuntime(film.runtime_minutes, lang);
  if (runtime) facts.push(runtime);
  const genres = (film.genres ?? []).slice(0, 3).map(genre);
  if (genres.length) facts.push(genres.join(", "));
  return facts;
}

// Whether the provider said anything about the film beyond the list's title and year.
export function hasDetails(film) {
  return Boolean(film.poster_url || film.runtime_minutes || film.genres?.length || film.directors?.length || film.overview);
}

// The film the party watches, when it is one the session knows: the party names it only by
// title (the host's "watch together" copies the winner's), so the round's winner comes first.
export function partyFilm(state) {
  return filmByTitle(state, state.party?.film_title);
}

// A film the session knows by the list's title (the round's winner, its films, the candidates).
export function filmByTitle(state, title) {
  if (!title) return null;
  const round = state.round;
  const pool = [round?.winner, ...(round?.films ?? []), ...(state.candidates?.candidates ?? []).map((c) => c.film)];
  return pool.find((film) => film && film.title === title) ?? null;
}
