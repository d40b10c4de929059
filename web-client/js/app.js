// Boot and route: "/" (create), "/join/{code}" (preview + join), "/s/{session_id}" (lobby).
import { clear } from "./dom.js";
import { renderHome } from "./views/home.js";
import { renderJoin } from "./views/join.js";
import { renderLobby } from "./views/lobby.js";

const root = document.getElementById("app");
let teardown = () => {};

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
route();
