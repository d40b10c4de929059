import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LANGUAGES, detectLanguage, errorText, formatTime, language, pluralCategory, setLanguage, t } from "../js/i18n.js";
import en from "../js/i18n/en.js";
import ru from "../js/i18n/ru.js";

const catalogues = { en, ru };

const JS = new URL("../js/", import.meta.url).pathname;

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "i18n" ? [] : sources(path);
    return name.endsWith(".js") ? [path] : [];
  });
}

test("every language has a catalogue here", () => {
  assert.deepEqual(Object.keys(catalogues).sort(), [...LANGUAGES].sort());
});

test("every catalogue has exactly the keys of every other", () => {
  const names = Object.keys(catalogues);
  for (const a of names) {
    for (const b of names) {
      const missing = Object.keys(catalogues[a]).filter((key) => !(key in catalogues[b]));
      assert.deepEqual(missing, [], `${b} lacks keys that ${a} has`);
    }
  }
});

test("plural entries have every form their language needs", () => {
  for (const [lang, catalogue] of Object.entries(catalogues)) {
    const needed = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
    for (const [key, entry] of Object.entries(catalogue)) {
      if (typeof entry !== "object") continue;
      for (const category of needed) assert.ok(category in entry, `${lang} ${key} lacks "${category}"`);
    }
  }
});

test("every key the client uses is in the English catalogue", () => {
  const used = new Set();
  for (const file of sources(JS)) {
    for (const match of readFileSync(file, "utf8").matchAll(/\bt\("([a-z0-9_.]+)"/g)) used.add(match[1]);
  }
  assert.ok(used.size > 100);
  assert.deepEqual([...used].filter((key) => !(key in catalogues.en)), []);
});

test("the language follows the browser, a remembered choice wins", () => {
  assert.equal(detectLanguage(["ru-RU", "en-US"]), "ru");
  assert.equal(detectLanguage(["de-DE", "ru"]), "ru");
  assert.equal(detectLanguage(["de-DE"]), "en");
  assert.equal(detectLanguage(["ru-RU"], "en"), "en");
  assert.equal(detectLanguage([], "xx"), "en");
});

test("Russian plurals: фильм, фильма, фильмов", async () => {
  await setLanguage("ru");
  assert.equal(language(), "ru");
  assert.equal(t("badge.films", { count: 1 }), "1 фильм");
  assert.equal(t("badge.films", { count: 3 }), "3 фильма");
  assert.equal(t("badge.films", { count: 5 }), "5 фильмов");
  assert.equal(t("badge.films", { count: 11 }), "11 фильмов");
  assert.equal(t("badge.films", { count: 21 }), "21 фильм");
  assert.equal(t("badge.films", { count: 1234 }).replace(/\s/g, " "), "1 234 фильма");
  assert.equal(pluralCategory(22, "ru"), "few");
  await setLanguage("en");
  assert.equal(t("badge.films", { count: 1 }), "1 film");
  assert.equal(t("badge.films", { count: 2 }), "2 films");
});

test("times: 24-hour in Russian, the English clock in English", () => {
  const evening = new Date(2026, 0, 2, 20, 5).getTime();
  assert.equal(formatTime(evening, "ru"), "20:05");
  assert.match(formatTime(evening, "en"), /^8:05\sPM$/);
});

test("server errors by code in the member's language, the server's message as fallback", async () => {
  await setLanguage("ru");
  assert.equal(errorText({ code: "no_film", message: "Set a film first." }), "Сначала выберите фильм.");
  assert.equal(errorText({ code: "brand_new_code", message: "A new server message." }), "A new server message.");
  assert.equal(errorText({ code: "rate_limited", message: "x", retry_after_ms: 2500 }), "Слишком много попыток: попробуйте через 3 секунды.");
  await setLanguage("en");
  assert.equal(errorText({ code: "no_film", message: "x" }), "Choose a film first.");
  assert.equal(errorText(null), "Something went wrong.");
});

test("placeholders are filled, unknown ones left visible, missing keys fall back to the key", async () => {
  await setLanguage("en");
  assert.equal(t("notice.paused", { name: "Ana" }), "Paused by Ana");
  assert.equal(t("notice.paused"), "Paused by {name}");
  assert.equal(t("no.such.key"), "no.such.key");
});
