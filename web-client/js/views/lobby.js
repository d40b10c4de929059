// "/s/{session_id}": the lobby — who is here, live; invites; leave/end; chat.
import { api } from "../api.js";
import { announce, avatar, clear, h } from "../dom.js";
import { CHAT_MAX_LENGTH, LiveSession } from "../live.js";
import { forgetSeat, getSeat, updateSeat } from "../seats.js";
import { CandidatesPanel } from "./candidates.js";
import { ImportPanel, importBadge } from "./imports.js";
import { PartyPanel } from "./party.js";
import { RoundPanel } from "./rounds.js";

const EXPIRY_CHOICES = [
  ["", "Never expires"],
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "1 week"],
];

export function renderLobby(root, navigate, sessionId) {
  const seat = getSeat(sessionId);
  if (!seat) {
    root.append(h("section", { class: "card stack" },
      h("h1", {}, "You're not in this session"),
      h("p", {}, "Open the invite link your host shared to join."),
      h("a", { href: "/", class: "button" }, "Start your own film night")));
    return () => {};
  }

  const state = { session: null, members: new Map(), me: seat.member_id, refreshInvites: null };
  let party = null;
  let candidates = null;
  let rounds = null;
  const imports = new ImportPanel({ sessionId, token: seat.token, me: seat.member_id });
  const pickSlot = h("div", { class: "grid pick" });
  const roundSlot = h("div", { class: "round-slot" });
  const partySlot = h("div", { class: "party-slot" });
  const title = h("h1", { class: "session-title" }, "…");
  const connection = h("span", { class: "connection", role: "status" }, "Connecting…");
  const memberList = h("ul", { class: "members", "aria-label": "Members" });
  const count = h("span", { class: "count" });
  const hostPanel = h("section", { class: "card stack host-panel", hidden: true, "aria-labelledby": "host-heading" });
  const chatLog = h("ol", { class: "chat-log", "aria-label": "Chat", "aria-live": "polite" });
  const chatError = h("p", { class: "form-error", role: "alert" });

  const inviteInput = h("input", { id: "invite-link", readonly: true, value: seat.invite_url || "", "aria-label": "Invite link" });
  const copyButton = h("button", { type: "button", onclick: () => copy(inviteInput, copyButton) }, "Copy invite link");

  const leaveButton = h("button", { type: "button", class: "ghost", onclick: () => leave() }, "Leave");

  const chatInput = h("input", { id: "chat-input", maxlength: CHAT_MAX_LENGTH, autocomplete: "off", placeholder: "Say something…", "aria-label": "Chat message" });
  const chatForm = h("form", { class: "chat-form", onsubmit: async (event) => {
    event.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    chatError.textContent = "";
    try {
      await live.send({ type: "chat", text });
      chatInput.value = "";
    } catch (error) {
      chatError.textContent = error.message;
    }
  } }, chatInput, h("button", { type: "submit" }, "Send"));

  const reactionBar = h("div", { class: "reactions", role: "group", "aria-label": "Reactions" },
    ["🍿", "😂", "😮", "😢", "👏", "❤️", "🔥"].map((emoji) => h("button", {
      type: "button", class: "ghost small", "aria-label": `React ${emoji}`,
      onclick: () => live.send({ type: "reaction", emoji }).catch((error) => { chatError.textContent = error.message; }),
    }, emoji)));
  const reactionStage = h("div", { class: "reaction-stage", "aria-hidden": "true" });

  root.append(
    h("header", { class: "lobby-head" }, h("div", {}, h("p", { class: "eyebrow" }, "Lobby"), title), connection),
    h("section", { class: "card stack invite" },
      h("label", { for: "invite-link" }, "Invite your friends"),
      h("div", { class: "row" }, inviteInput, copyButton),
      h("p", { class: "muted small" }, "Anyone with this link can join until it expires or the host revokes it.")),
    h("div", { class: "grid" },
      h("section", { class: "card stack", "aria-labelledby": "members-heading" },
        h("h2", { id: "members-heading" }, "Who's here ", count),
        memberList),
      h("section", { class: "card stack chat", "aria-labelledby": "chat-heading" },
        h("h2", { id: "chat-heading" }, "Chat"), chatLog, reactionStage, chatForm, reactionBar, chatError)),
    pickSlot,
    roundSlot,
    partySlot,
    hostPanel,
    h("footer", { class: "lobby-foot" }, leaveButton),
  );

  function renderMembers() {
    clear(memberList);
    const members = [...state.members.values()];
    count.textContent = `(${members.length})`;
    for (const member of members) {
      const badges = [];
      if (member.member_id === state.me) badges.push(h("span", { class: "badge you" }, "you"));
      if (member.host) badges.push(h("span", { class: "badge host" }, "host"));
      if (member.bot) badges.push(h("span", { class: "badge bot" }, "bot"));
      if (party?.party?.ready.includes(member.member_id)) badges.push(h("span", { class: "badge ready" }, "ready"));
      badges.push(importBadge(member));
      memberList.append(h("li", { class: `member ${member.online ? "online" : "offline"}`, dataset: { memberId: member.member_id } },
        avatar(member.name, member.member_id),
        h("span", { class: "name" }, member.name),
        ...badges,
        h("span", { class: "presence" }, member.online ? "online" : "offline")));
    }
    const isHost = state.members.get(state.me)?.host === true;
    hostPanel.hidden = !isHost;
    if (party) {
      party.present = new Set(members.filter((m) => m.online).map((m) => m.member_id));
      party.render();
    }
    if (isHost && !hostPanel.dataset.ready) buildHostPanel();
    candidates?.render();
  }

  function nameOf(memberId) {
    return state.members.get(memberId)?.name ?? "Someone";
  }

  function addChat(event) {
    const when = new Date(event.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    // A history line names its author, who may have left since.
    const who = state.members.get(event.member_id)?.name || event.name || nameOf(event.member_id);
    chatLog.append(h("li", {}, h("span", { class: "who" }, who), " ", h("span", { class: "text" }, event.text), " ", h("time", { class: "muted small" }, when)));
    chatLog.scrollTop = chatLog.scrollHeight;
  }

  function setOnline(online) {
    for (const member of state.members.values()) member.online = online.has(member.member_id);
  }

  const live = new LiveSession(sessionId, seat.token, {
    status(value) {
      connection.textContent = { connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…" }[value];
      connection.dataset.state = value;
      if (value === "reconnecting") announce("Connection lost, reconnecting");
    },
    welcome(welcome) {
      if (!welcome.resumed) {
        state.session = welcome.session;
        state.members = new Map(welcome.session.members.map((m) => [m.member_id, { ...m }]));
        clear(chatLog);
        // A fresh welcome carries the recent conversation: a reload keeps the chat.
        for (const line of welcome.session.chat ?? []) addChat(line);
      }
      title.textContent = welcome.session.title;
      document.title = `${welcome.session.title} · filmnight`;
      const onlineNow = new Set(welcome.session.members.filter((m) => m.online).map((m) => m.member_id));
      setOnline(onlineNow);
      party.setParty(welcome.session.party);
      if (!welcome.resumed) {
        imports.restore(state.members.get(state.me));
        rounds.setRound(welcome.session.round ?? null);
        candidates.refresh();
      }
      renderMembers();
    },
    event(event) {
      switch (event.type) {
        case "member.joined":
          state.members.set(event.member.member_id, { ...event.member, online: state.members.get(event.member.member_id)?.online ?? event.member.online });
          announce(`${event.member.name} joined`);
          state.refreshInvites?.();
          break;
        case "member.left": {
          const name = nameOf(event.member_id);
          state.members.delete(event.member_id);
          if (event.new_host_id && state.members.has(event.new_host_id)) {
            for (const member of state.members.values()) member.host = member.member_id === event.new_host_id;
          }
          announce(`${name} left`);
          break;
        }
        case "presence":
          for (const id of event.online) if (state.members.has(id)) state.members.get(id).online = true;
          for (const id of event.offline) if (state.members.has(id)) state.members.get(id).online = false;
          if (event.online.length + event.offline.length === 1) {
            const id = event.online[0] ?? event.offline[0];
            announce(`${nameOf(id)} is ${event.online.length ? "online" : "offline"}`);
          }
          break;
        case "chat":
          addChat(event);
          return;
        case "reaction": {
          const bubble = h("span", { class: "reaction", title: nameOf(event.member_id) }, event.emoji);
          reactionStage.append(bubble);
          window.setTimeout(() => bubble.remove(), 2500);
          return;
        }
        case "session.ended":
          gone("This session has ended.");
          return;
        case "playback":
        case "party":
        case "countdown":
          party.apply(event);
          return;
        case "ready":
          party.apply(event);
          break;
        case "import.progress":
        case "import.done":
        case "import.failed": {
          imports.apply(event);
          const member = state.members.get(event.member_id);
          if (member) {
            member.import_state = event.type === "import.progress" ? "running" : event.type === "import.done" ? "done" : "failed";
            if (event.type === "import.done") member.films = event.films;
            if (event.type === "import.failed") { member.import_reason = event.reason; if (event.reason === "unreadable") member.films = null; }
          }
          break;
        }
        case "candidates":
          candidates.apply(event);
          return;
        case "round.started":
        case "round.tally":
        case "round.result":
          rounds.apply(event);
          return;
        default:
          return;
      }
      renderMembers();
    },
    gone(_code, message) {
      gone(message);
    },
  });
  party = new PartyPanel({
    live,
    me: state.me,
    isHost: () => state.members.get(state.me)?.host === true,
  });
  partySlot.append(party.root);
  const isHost = () => state.members.get(state.me)?.host === true;
  candidates = new CandidatesPanel({ sessionId, token: seat.token, live, isHost, nameOf });
  rounds = new RoundPanel({
    live,
    me: state.me,
    isHost,
    nameOf,
    watch: (film) => live.send({ type: "party.setup", film_title: film.title, media_url: party.party?.media_url ?? null, control: party.party?.control ?? "host" }).catch(() => {}),
  });
  pickSlot.append(imports.root, candidates.root);
  roundSlot.append(rounds.root);
  live.start();

  function gone(message) {
    live.stop();
    party.destroy();
    forgetSeat(sessionId);
    clear(root);
    root.append(h("section", { class: "card stack" }, h("h1", {}, "See you next time"), h("p", { role: "alert" }, message), h("a", { href: "/", class: "button primary" }, "Start a new film night")));
  }

  async function leave() {
    leaveButton.disabled = true;
    const result = await api("DELETE", `/api/v1/sessions/${sessionId}/members/me`, { token: seat.token });
    if (!result.ok && result.status !== 401) {
      leaveButton.disabled = false;
      announce(result.error.message);
      return;
    }
    gone("You left this session.");
  }

  function buildHostPanel() {
    hostPanel.dataset.ready = "1";
    const expiry = h("select", { id: "invite-expiry" }, EXPIRY_CHOICES.map(([value, label]) => h("option", { value }, label)));
    const cap = h("input", { id: "invite-cap", type: "number", min: 1, max: 10000, inputmode: "numeric", placeholder: "No limit" });
    const inviteError = h("p", { class: "form-error", role: "alert" });
    const invites = h("ul", { class: "invites", "aria-label": "Invites" });
    const created = new Map();

    async function refresh() {
      const result = await api("GET", `/api/v1/sessions/${sessionId}/invites`, { token: seat.token });
      if (!result.ok) return;
      clear(invites);
      for (const invite of result.data) {
        const bits = [invite.expires_at ? `expires ${new Date(invite.expires_at).toLocaleString()}` : "never expires"];
        if (invite.max_members) bits.push(`${invite.uses}/${invite.max_members} used`); else bits.push(`${invite.uses} joined`);
        const url = created.get(invite.invite_id);
        invites.append(h("li", { class: invite.revoked ? "revoked" : "" },
          h("span", {}, invite.revoked ? "Revoked · " : "", bits.join(" · ")),
          url ? h("input", { readonly: true, value: url, "aria-label": "New invite link" }) : null,
          invite.revoked ? null : h("button", { type: "button", class: "ghost small", onclick: async () => {
            const revoked = await api("DELETE", `/api/v1/sessions/${sessionId}/invites/${invite.invite_id}`, { token: seat.token });
            if (!revoked.ok) inviteError.textContent = revoked.error.message;
            refresh();
          } }, "Revoke")));
      }
    }

    const createForm = h("form", { class: "row wrap", onsubmit: async (event) => {
      event.preventDefault();
      inviteError.textContent = "";
      const body = { expires_in_s: expiry.value ? Number(expiry.value) : null, max_members: cap.value ? Number(cap.value) : null };
      const result = await api("POST", `/api/v1/sessions/${sessionId}/invites`, { token: seat.token, body });
      if (!result.ok) {
        inviteError.textContent = result.error.message;
        return;
      }
      created.set(result.data.invite_id, result.data.invite_url);
      inviteInput.value = result.data.invite_url;
      updateSeat(sessionId, { invite_url: result.data.invite_url });
      announce("New invite link ready");
      refresh();
    } },
      h("label", { for: "invite-expiry" }, "Expiry"), expiry,
      h("label", { for: "invite-cap" }, "Member limit"), cap,
      h("button", { type: "submit" }, "New invite link"));

    const endButton = h("button", { type: "button", class: "danger" }, "End session…");
    const confirmRow = h("div", { class: "row", hidden: true },
      h("span", {}, "End it for everyone? Every list is deleted."),
      h("button", { type: "button", class: "danger", onclick: async () => {
        const result = await api("DELETE", `/api/v1/sessions/${sessionId}`, { token: seat.token });
        if (!result.ok && result.status !== 401) {
          inviteError.textContent = result.error.message;
          return;
        }
        gone("You ended the session.");
      } }, "Yes, end it"),
      h("button", { type: "button", class: "ghost", onclick: () => { confirmRow.hidden = true; endButton.hidden = false; endButton.focus(); } }, "Keep going"));
    endButton.addEventListener("click", () => {
      endButton.hidden = true;
      confirmRow.hidden = false;
      confirmRow.querySelector("button").focus();
    });

    hostPanel.append(h("h2", { id: "host-heading" }, "Host controls"), createForm, inviteError, invites, h("div", { class: "row" }, endButton, confirmRow));
    state.refreshInvites = refresh;
    refresh();
  }

  return () => {
    live.stop();
    party.destroy();
  };
}

async function copy(input, button) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.focus();
    input.select();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  announce("Invite link copied");
  window.setTimeout(() => { button.textContent = label; }, 1500);
}
