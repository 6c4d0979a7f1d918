// The chat page: zocket's TypeScript client, typed by the router type that
// the Rust `#[zocket::router]` module generates (`./chat-router.ts`).
// Plain DOM, no framework; every user-supplied string goes in as text.

import { createZocketClient, isRpcError, ReadyState, type ZocketClient } from "@zocket/client";
import type { ChatRouter, RoomsOnMessage } from "./chat-router.js";

type Entry =
  | { kind: "message"; user: string; content: string; at: string; mine: boolean }
  | { kind: "notice"; text: string; at: string; error?: boolean };

interface Room {
  id: string;
  entries: Entry[];
  members: string[];
  unread: number;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

const ui = {
  login: $("login"),
  loginForm: $<HTMLFormElement>("login-form"),
  nameInput: $<HTMLInputElement>("name-input"),
  roomInput: $<HTMLInputElement>("room-input"),
  app: $("app"),
  meAvatar: $("me-avatar"),
  meName: $("me-name"),
  statusDot: $("status-dot"),
  statusText: $("status-text"),
  rooms: $<HTMLUListElement>("rooms"),
  joinForm: $<HTMLFormElement>("join-form"),
  joinInput: $<HTMLInputElement>("join-input"),
  roomTitle: $("room-title"),
  roomSubtitle: $("room-subtitle"),
  leaveButton: $<HTMLButtonElement>("leave-button"),
  messages: $<HTMLOListElement>("messages"),
  members: $<HTMLUListElement>("members"),
  memberCount: $("member-count"),
  composer: $<HTMLFormElement>("composer"),
  messageInput: $<HTMLInputElement>("message-input"),
  sendButton: $<HTMLButtonElement>("send-button"),
};

/** Joined rooms, in the order they were joined. */
const rooms = new Map<string, Room>();
let current: string | null = null;
let me = "";
let client: ZocketClient<ChatRouter> | null = null;
/** Rooms joined by this page whose own `onJoin` has not come back yet. */
const pendingJoins = new Set<string>();

// ---- helpers ---------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  node.append(...children);
  return node;
}

function hue(name: string): number {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)!) % 360;
  return h;
}

function avatar(name: string, small = false): HTMLSpanElement {
  const a = el("span", { className: small ? "avatar small" : "avatar", text: initials(name) });
  a.style.background = `hsl(${hue(name)} 60% 48%)`;
  a.title = name;
  return a;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0]![0]! + parts[1]![0]! : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

function timeEl(iso: string): HTMLTimeElement {
  const t = el("time", {
    text: new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
  });
  t.dateTime = iso;
  t.title = new Date(iso).toLocaleString();
  return t;
}

const now = () => new Date().toISOString();

function room(id: string): Room | undefined {
  return rooms.get(id);
}

function add(roomId: string, entry: Entry): void {
  const r = room(roomId);
  if (!r) return;
  r.entries.push(entry);
  if (r.entries.length > 500) r.entries.splice(0, r.entries.length - 500);
  if (roomId === current) {
    ui.messages.append(renderEntry(entry));
    scrollToEnd();
  } else {
    r.unread += entry.kind === "message" ? 1 : 0;
    renderRooms();
  }
}

function scrollToEnd(): void {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

// ---- rendering -------------------------------------------------------------

function renderEntry(entry: Entry): HTMLLIElement {
  if (entry.kind === "notice") {
    const li = el("li", { className: entry.error ? "notice error" : "notice", text: entry.text });
    li.append(timeEl(entry.at));
    return li;
  }
  return el(
    "li",
    { className: entry.mine ? "message mine" : "message" },
    avatar(entry.user),
    el(
      "div",
      {},
      el("div", { className: "meta" }, el("span", { className: "author", text: entry.user }), timeEl(entry.at)),
      el("p", { className: "content", text: entry.content }),
    ),
  );
}

function renderRooms(): void {
  ui.rooms.replaceChildren(
    ...[...rooms.values()].map((r) => {
      const li = el("li", { className: r.id === current ? "active" : "" });
      li.dataset.room = r.id;
      li.append(el("span", { text: "#" }), el("span", { className: "name", text: r.id }));
      if (r.unread > 0) li.append(el("span", { className: "badge", text: String(r.unread) }));
      li.addEventListener("click", () => select(r.id));
      return li;
    }),
  );
}

function renderMembers(): void {
  const r = current ? room(current) : undefined;
  const members = r?.members ?? [];
  ui.memberCount.textContent = String(members.length);
  ui.members.replaceChildren(
    ...members.map((name) => {
      const li = el("li", {}, avatar(name, true), el("span", { className: "name", text: name }));
      if (name === me) li.append(el("span", { className: "you", text: "(you)" }));
      return li;
    }),
  );
  ui.roomSubtitle.textContent = r
    ? `${members.length} ${members.length === 1 ? "member" : "members"}`
    : "Join a room to start talking";
}

function renderCurrent(): void {
  const r = current ? room(current) : undefined;
  ui.roomTitle.textContent = r ? `# ${r.id}` : "No room";
  ui.leaveButton.disabled = !r;
  ui.messageInput.disabled = !r;
  ui.sendButton.disabled = !r;
  ui.messageInput.placeholder = r ? `Message #${r.id}` : "Join a room first";
  if (!r) {
    ui.messages.replaceChildren(el("li", { className: "empty", text: "You are in no room. Join one on the left." }));
  } else if (r.entries.length === 0) {
    ui.messages.replaceChildren();
  } else {
    ui.messages.replaceChildren(...r.entries.map(renderEntry));
  }
  renderMembers();
  renderRooms();
  scrollToEnd();
}

function setStatus(state: "connecting" | "open" | "closed", text: string): void {
  ui.statusDot.className = `dot ${state}`;
  ui.statusText.textContent = text;
  document.body.dataset.connection = state;
}

// ---- actions ---------------------------------------------------------------

function select(roomId: string): void {
  const r = room(roomId);
  if (!r) return;
  current = roomId;
  r.unread = 0;
  renderCurrent();
  ui.messageInput.focus();
}

function join(roomId: string): void {
  roomId = roomId.trim();
  if (!roomId || !client) return;
  if (!rooms.has(roomId)) {
    rooms.set(roomId, { id: roomId, entries: [], members: [], unread: 0 });
    pendingJoins.add(roomId);
    // While connecting, onOpen sends the joins of every room.
    if (client.readyState === ReadyState.OPEN) requestJoin(client, roomId);
  }
  select(roomId);
}

function leave(roomId: string): void {
  if (!rooms.delete(roomId) || !client) return;
  pendingJoins.delete(roomId);
  if (client.readyState === ReadyState.OPEN) client.send.rooms.leave({ roomId });
  current = rooms.keys().next().value ?? null;
  renderCurrent();
}

/** Joins as a request: a refusal (name too long, too many rooms) comes
 * back as the call's typed error rather than as a stray error frame. */
function requestJoin(c: ZocketClient<ChatRouter>, roomId: string): void {
  c.call.rooms.join({ roomId }).catch((e: unknown) => {
    pendingJoins.delete(roomId);
    const why = isRpcError(e, c.call.rooms.join) ? e.message : String(e);
    add(roomId, { kind: "notice", text: `Could not join #${roomId}: ${why}`, at: now(), error: true });
  });
}

/** Asks for the member list; the reply is the sorted roster. */
function refreshMembers(roomId: string): void {
  if (client?.readyState !== ReadyState.OPEN) return;
  client.call.rooms.members({ roomId }).then(
    ({ members }) => {
      const r = room(roomId);
      if (!r) return;
      r.members = members;
      if (roomId === current) renderMembers();
    },
    // Not a member any more (left meanwhile) or disconnected: the next
    // join or leave notice asks again.
    () => {},
  );
}

function start(name: string, firstRoom: string): void {
  me = name;
  ui.login.hidden = true;
  ui.app.hidden = false;
  ui.meName.textContent = me;
  ui.meAvatar.replaceWith(Object.assign(avatar(me), { id: "me-avatar" }));
  document.title = `${me} · zocket chat`;
  setStatus("connecting", "Connecting…");

  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
  const c = createZocketClient<ChatRouter>(url, { headers: { "user-name": me } });
  client = c;

  // A server that forgets rooms when a connection drops needs every room
  // joined again on every open (onOpen runs before anything queued is
  // sent). A server that keeps sessions (the chat does, unless started
  // with `--no-resume`) says so in its first frame, which gives the client
  // its id; after a reconnect it then says whether the session was recovered (rooms and
  // missed messages kept) or is new and must rejoin.
  const rejoin = (): void => {
    for (const id of rooms.keys()) {
      pendingJoins.add(id);
      requestJoin(c, id);
    }
  };
  let opened = false;
  c.onOpen(() => {
    setStatus("open", "Connected");
    const first = !opened;
    opened = true;
    if (first || c.clientId === null) rejoin();
  });
  c.onResumed(({ recovered }) => {
    const text = recovered
      ? "Reconnected: same session, nothing missed"
      : "Reconnected as a new session: rejoined, messages sent meanwhile are lost";
    for (const id of rooms.keys()) add(id, { kind: "notice", text, at: now(), error: !recovered });
    if (!recovered) rejoin();
  });
  c.onClose((info) => {
    setStatus(
      info.willReconnect ? "connecting" : "closed",
      info.willReconnect ? `Reconnecting in ${Math.ceil((info.delayMs ?? 0) / 1000)} s…` : "Disconnected",
    );
    if (opened && info.willReconnect) {
      for (const id of rooms.keys()) add(id, { kind: "notice", text: "Connection lost; reconnecting…", at: now() });
    }
  });
  c.onError((e) => {
    const target = current ?? rooms.keys().next().value;
    if (target) add(target, { kind: "notice", text: `Server refused ${e.for ?? "a message"}: ${e.message}`, at: now(), error: true });
  });

  c.on.rooms.onJoin(({ roomId, userName }) => {
    if (!rooms.has(roomId)) return;
    const mine = userName === me && pendingJoins.delete(roomId);
    add(roomId, { kind: "notice", text: mine ? `You joined #${roomId}` : `${userName} joined`, at: now() });
    refreshMembers(roomId);
  });
  c.on.rooms.onLeave(({ roomId, userName }) => {
    if (!rooms.has(roomId)) return;
    add(roomId, { kind: "notice", text: `${userName} left`, at: now() });
    refreshMembers(roomId);
  });
  c.on.rooms.onMessage((m: RoomsOnMessage) => {
    add(m.roomId, { kind: "message", user: m.userName, content: m.content, at: m.timestamp, mine: m.userName === me });
  });

  join(firstRoom);
}

// ---- wiring ----------------------------------------------------------------

ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.nameInput.value.trim();
  if (name) start(name, ui.roomInput.value.trim() || "general");
});

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  join(ui.joinInput.value);
  ui.joinInput.value = "";
});

ui.leaveButton.addEventListener("click", () => {
  if (current) leave(current);
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const content = ui.messageInput.value.trim();
  if (!content || !current || !client) return;
  client.send.rooms.message({ roomId: current, content });
  ui.messageInput.value = "";
});

// `/?name=Alice&room=general` skips the form.
const params = new URLSearchParams(location.search);
const preset = params.get("name")?.trim();
if (preset) start(preset, params.get("room")?.trim() || "general");
else ui.nameInput.focus();
