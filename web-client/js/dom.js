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

// A re-render replaces elements, and the browser drops focus to <body> when the focused one goes:
// another member's vote or a join would throw a keyboard user out of the deck or off the Play button.
// Run draw, then focus the element that took the old one's place (same tag, class and film; the same
// label where there is one, since Play turns into Pause). Focus that draw placed itself is left alone.
export function keepFocus(root, draw) {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || active === root || !root.contains(active)) {
    draw();
    return;
  }
  const before = focusSlot(active);
  draw();
  if (document.activeElement && document.activeElement !== document.body) return;
  const same = [...root.querySelectorAll(active.tagName)].filter((el) => focusSlot(el).place === before.place);
  const target = same.find((el) => focusSlot(el).label === before.label) ?? same[0];
  if (target && !target.disabled) target.focus();
}

function focusSlot(el) {
  return {
    place: `${el.className}|${el.closest("[data-film-id]")?.dataset.filmId ?? ""}`,
    label: el.getAttribute("aria-label") ?? el.textContent,
  };
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
