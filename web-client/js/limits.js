// Limits for tonight without a DOM: whether any is set, and the phrases that say them
// ("up to 2 h", "no horror", "1990–2010"). The server applies them; the client only shows them.

export function limitsActive(limits) {
  return Boolean(limits && (limits.max_runtime_minutes != null || limits.exclude_genres?.length
    || limits.year_from != null || limits.year_to != null));
}

// Minutes as "2 h 10 min" / "2 ч 10 мин" (Intl's unit formats, in the member's language).
export function formatMinutes(minutes, lang) {
  const unit = (value, name) => new Intl.NumberFormat(lang, { style: "unit", unit: name, unitDisplay: "short" }).format(value);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (!hours) return unit(rest, "minute");
  return rest ? `${unit(hours, "hour")} ${unit(rest, "minute")}` : unit(hours, "hour");
}

// The limits as short phrases, each through the catalogue `t` (keys limits.*).
export function limitsPhrases(limits, t, lang) {
  if (!limitsActive(limits)) return [];
  const phrases = [];
  if (limits.max_runtime_minutes != null) {
    phrases.push(t("limits.runtime_phrase", { time: formatMinutes(limits.max_runtime_minutes, lang) }));
  }
  const from = limits.year_from;
  const to = limits.year_to;
  if (from != null && to != null) phrases.push(from === to ? t("limits.year_only", { year: String(from) }) : t("limits.years_phrase", { from: String(from), to: String(to) }));
  else if (from != null) phrases.push(t("limits.from_phrase", { year: String(from) }));
  else if (to != null) phrases.push(t("limits.to_phrase", { year: String(to) }));
  if (limits.exclude_genres?.length) {
    const genres = limits.exclude_genres.map((g) => g.toLocaleLowerCase(lang)).join(", ");
    phrases.push(t("limits.genres_phrase", { genres }));
  }
  return phrases;
}
