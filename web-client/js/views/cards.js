// Film pictures (views/film_card.js draws them), the film's page elsewhere, and the swipe: the
// card follows the finger; past a threshold it is a yes or a no.
import { h } from "../dom.js";
import { filmLink } from "../films.js";
import { t } from "../i18n.js";
import { filmPoster } from "./film_card.js";

// Kept for the views that call it: the poster (or title card) of views/film_card.js.
export function filmPicture(film, size = "small") {
  return filmPoster(film, size);
}

export function filmLinkElement(film) {
  const link = filmLink(film);
  if (!link) return null;
  const label = link.site === "imdb" ? t("film.on_imdb") : link.site === "letterboxd" ? t("film.on_letterboxd") : t("film.more");
  return h("a", { class: "film-link", href: link.href, target: "_blank", rel: "noopener noreferrer" }, label);
}

// Pointer-driven swipe on `card`; `decide("yes" | "no")` past the threshold. Buttons and the
// arrow keys do the same (WCAG 2.5.7: no action needs a drag).
export function swipeable(card, decide) {
  let start = null;
  const threshold = () => Math.min(120, card.offsetWidth * 0.3);
  const move = (dx) => {
    card.style.setProperty("--dx", `${dx}px`);
    card.dataset.lean = dx > 20 ? "yes" : dx < -20 ? "no" : "";
  };
  card.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest("a, button")) return;
    start = { x: event.clientX, y: event.clientY, id: event.pointerId };
    card.setPointerCapture?.(event.pointerId);
    card.classList.add("dragging");
  });
  card.addEventListener("pointermove", (event) => {
    if (!start || event.pointerId !== start.id) return;
    move(event.clientX - start.x);
  });
  const end = (event) => {
    if (!start || event.pointerId !== start.id) return;
    const dx = event.clientX - start.x;
    start = null;
    card.classList.remove("dragging");
    if (event.type === "pointerup" && Math.abs(dx) >= threshold()) {
      card.dataset.gone = dx > 0 ? "yes" : "no";
      decide(dx > 0 ? "yes" : "no");
    } else {
      move(0);
    }
  };
  card.addEventListener("pointerup", end);
  card.addEventListener("pointercancel", end);
}
