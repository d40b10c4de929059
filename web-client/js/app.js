// Boot and route: "/" (create), "/join/{code}" (preview + join), "/s/{session_id}" (the session).
import { clear } from "./dom.js";
import { LANGUAGES, detectLanguage, language, rememberedLanguage, setLanguage, t } from "./i18n.js";
import { renderHome } from "./views/home.js";
import { renderJoin } from "./views/join.js";
import { renderLobby } from "./views/lobby.js";

const root = document.getElementById("app");
const picker = document.querySelector('[data-action="language"]');
const NAMES = { en: "English", ru: "Русский" };
let teardown = () => {};

setLanguage(detectLanguage(navigator.languages, rememberedLanguage()));

// Texts outside the routed view: the skip link and the language switch.
function relabel() {
  document.querySelector(".skip").textContent = t("app.skip");
  picker.setAttribute("aria-label", t("app.language"));
  if (!picker.options.length) {
    for (const lang of LANGUAGES) picker.append(new Option(NAMES[lang], lang));
  }
  picker.value = language();
}

picker.addEventListener("change", () => {
  setLanguage(picker.value, { remember: true });
  relabel();
  if (teardown.relabel) teardown.relabel();
  else route();
});

function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

function route() {
  teardown();
  teardown = () => {};
  clear(root);
  const path = location.pathname;
  const join = path.match(/^\/join\/([^/]+)\/?$/);
  const session = path.match(/^\/s\/([^/]+)\/?$/);
  if (join) {
    renderJoin(root, navigate, decodeURIComponent(join[1]));
  } else if (session) {
    teardown = renderLobby(root, navigate, decodeURIComponent(session[1]));
  } else {
    renderHome(root, navigate);
  }
  root.focus({ preventScroll: true });
}

window.addEventListener("popstate", route);
relabel();
route();
