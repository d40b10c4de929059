// A tiny element builder. Strings always become text nodes: user data is never parsed as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const live = () => document.getElementById("announcer");

// Screen-reader announcements for joins, leaves and connection changes.
export function announce(text) {
  const region = live();
  if (!region) return;
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 30);
}

const PALETTE = ["#e4572e", "#f3a712", "#29bf12", "#00a5cf", "#9b5de5", "#f15bb5", "#00bbf9", "#fee440"];

export function avatar(name, id) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const initials = [...name.trim()].filter((c) => /\p{L}|\p{N}/u.test(c)).slice(0, 2).join("").toUpperCase() || "?";
  const el = h("span", { class: "avatar", "aria-hidden": "true" }, initials);
  el.style.setProperty("--avatar", PALETTE[hash % PALETTE.length]);
  return el;
}
