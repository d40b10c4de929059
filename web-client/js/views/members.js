// Who's here: a keyed list updated in place, so a presence tick changes a class and a word,
// never rebuilds the list (focus and scroll stay).
import { avatar, h } from "../dom.js";
import { t } from "../i18n.js";
import { readyMembers } from "../state.js";

function importBadge(member) {
  switch (member.import_state) {
    case "running": return ["importing", t("badge.importing")];
    case "done": return member.films != null ? ["films", t("badge.films", { count: member.films })] : null;
    case "failed": return ["failed", t("badge.import_failed")];
    default: return ["waiting", t("badge.no_list")];
  }
}

export class MemberList {
  constructor() {
    this.items = new Map();
    this.count = h("span", { class: "count" });
    this.list = h("ul", { class: "members", "aria-labelledby": "members-heading" });
    this.root = h("section", { class: "panel stack members-panel", "aria-labelledby": "members-heading" },
      h("h2", { id: "members-heading" }, t("members.heading"), " ", this.count), this.list);
  }

  update(state) {
    const ready = new Set(readyMembers(state));
    this.count.textContent = `(${state.members.length})`;
    const seen = new Set();
    state.members.forEach((m, index) => {
      seen.add(m.member_id);
      let item = this.items.get(m.member_id);
      if (!item) {
        item = {
          li: h("li", { dataset: { memberId: m.member_id } }),
          name: h("span", { class: "name", dir: "auto" }),
          badges: h("span", { class: "badges" }),
          presence: h("span", { class: "presence" }),
          key: "",
        };
        item.li.append(avatar(m.name, m.member_id), h("span", { class: "member-main" }, item.name, item.badges), item.presence);
        this.items.set(m.member_id, item);
      }
      const cls = `member ${m.online ? "online" : "offline"}`;
      if (item.li.className !== cls) item.li.className = cls;
      if (item.name.textContent !== m.name) { item.name.textContent = m.name; item.name.title = m.name; }
      const badges = [];
      if (m.member_id === state.me) badges.push(["you", t("badge.you")]);
      if (m.member_id === state.hostId || m.host) badges.push(["host", t("badge.host")]);
      if (m.bot) badges.push(["bot", t("badge.bot")]);
      if (ready.has(m.member_id)) badges.push(["ready", t("badge.ready")]);
      const list = importBadge(m);
      if (list) badges.push(list);
      const key = JSON.stringify(badges);
      if (key !== item.key) {
        item.key = key;
        item.badges.replaceChildren(...badges.map(([kind, text]) => h("span", { class: `badge ${kind}` }, text)));
      }
      const presence = m.online ? t("members.online") : t("members.offline");
      if (item.presence.textContent !== presence) item.presence.textContent = presence;
      if (this.list.children[index] !== item.li) this.list.insertBefore(item.li, this.list.children[index] ?? null);
    });
    for (const [id, item] of this.items) {
      if (!seen.has(id)) { item.li.remove(); this.items.delete(id); }
    }
  }
}
