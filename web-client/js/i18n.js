// Translations: one catalogue per language (plain modules), plurals through Intl.PluralRules,
// times and dates through Intl.DateTimeFormat. Works in Node too (the catalogue tests).
// Only the member's language is fetched: every catalogue has every key (the tests say so),
// so no other one is needed as a fallback.
const LOADERS = {
  en: () => import("./i18n/en.js"),
  ru: () => import("./i18n/ru.js"),
};
export const LANGUAGES = Object.keys(LOADERS);
const STORAGE_KEY = "filmnight:language";
const loaded = {};

let current = "en";

// The remembered choice first, then the browser's languages in order (ru-RU → ru), else English.
export function detectLanguage(preferred = [], remembered = null) {
  if (remembered && LANGUAGES.includes(remembered)) return remembered;
  for (const tag of preferred ?? []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export function rememberedLanguage() {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}

export async function setLanguage(lang, { remember = false } = {}) {
  const next = LANGUAGES.includes(lang) ? lang : "en";
  loaded[next] ??= (await LOADERS[next]()).default;
  current = next;
  if (remember) {
    try { globalThis.localStorage?.setItem(STORAGE_KEY, current); } catch { /* private mode: not remembered */ }
  }
  if (globalThis.document) globalThis.document.documentElement.lang = current;
  return current;
}

export function language() {
  return current;
}

const pluralCache = new Map();
export function pluralCategory(count, lang = current) {
  if (!pluralCache.has(lang)) pluralCache.set(lang, new Intl.PluralRules(lang));
  return pluralCache.get(lang).select(count);
}

// t(key, {count: 3}) → "3 films" / "3 фильма". A plural entry is an object of
// Intl.PluralRules categories; {name} placeholders take params (numbers formatted per language).
export function t(key, params = {}) {
  let entry = loaded[current]?.[key];
  if (entry === undefined) return key;
  if (typeof entry === "object") {
    const category = pluralCategory(Number(params.count ?? 0));
    entry = entry[category] ?? entry.other;
  }
  return entry.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    return typeof value === "number" ? new Intl.NumberFormat(current).format(value) : String(value);
  });
}

export function has(key) {
  return key in (loaded[current] ?? {});
}

// A server error in the user's language by its stable code; the server's English message
// when this client has no text for the code.
export function errorText(error) {
  if (!error) return t("error.unknown");
  if (error.code === "rate_limited" && error.retry_after_ms) {
    return t("error.rate_limited_wait", { count: Math.max(1, Math.ceil(error.retry_after_ms / 1000)) });
  }
  const key = `error.${error.code}`;
  if (error.code && has(key)) return t(key);
  return error.message || t("error.unknown");
}

// "20:05" in Russian, "8:05 PM" in English: the language's own clock.
export function formatTime(ms, lang = current) {
  return new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit" }).format(new Date(ms));
}

export function formatDate(ms, lang = current) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));
}

// "Ana, Ben and Cleo" / "Ana, Ben и Cleo".
export function formatList(items, lang = current) {
  return new Intl.ListFormat(lang, { style: "long", type: "conjunction" }).format(items);
}
