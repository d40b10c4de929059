// Boot and route: "/" (create), "/join/{code}" (preview + join), "/s/{session_id}" (the session).
// Each route's view is loaded when it is opened: an invite link fetches the join form's
// modules first, the session's after joining.
import { clear } from "./dom.js";
import { LANGUAGES, detectLanguage, language, rememberedLanguage, setLanguage, t } from "./i18n.js";

const root = document.getElementById("app");
const picker = document.querySelector('[data-action="language"]');
const NAMES = { en: "English", ru: "Русский" };
let teardown = () => {};
let routing = 0;

await setLanguage(detectLanguage(navigator.languages, rememberedLanguage()));

// Texts outside the routed view: the skip link and the language switch.
function relabel() {
  document.querySelector(".skip").textContent = t("app.skip");
  picker.setAttribute("aria-label", t("app.language"));
  if (!picker.options.length) {
    for (const lang of LANGUAGES) picker.append(new Option(NAMES[lang], lang));
  }
  picker.value = language();
}

picker.addEventListener("change", async () => {
  await setLanguage(picker.value, { remember: true });
  relabel();
  if (teardown.relabel) teardown.relabel();
  else route();
});

function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

async function route() {
  const turn = ++routing;
  teardown();
  teardown = () => {};
  const path = location.pathname;
  const join = path.match(/^\/join\/([^/]+)\/?$/);
  const session = path.match(/^\/s\/([^/]+)\/?$/);
  const view = join ? await import("./views/join.js") : session ? await import("./views/lobby.js") : await import("./views/home.js");
  if (turn !== routing) return; // a newer navigation won
  clear(root);
  if (join) {
    view.renderJoin(root, navigate, decodeURIComponent(join[1]));
  } else if (session) {
    teardown = view.renderLobby(root, navigate, decodeURIComponent(session[1]));
  } else {
    view.renderHome(root, navigate);
  }
  root.focus({ preventScroll: true });
}

window.addEventListener("popstate", route);
relabel();
route();
