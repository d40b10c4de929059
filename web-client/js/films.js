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
