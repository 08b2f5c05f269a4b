import type { Message, RestClient, WsMessage } from '@signalink/client';
import { Emitter } from './emitter';

/** One row of a message list: a stored message, or an own send not yet acknowledged. */
export interface Row {
  /** Stable across the pending -> stored transition, so the windowed list keeps its measurement. */
  key: string;
  id: string | null;
  seq: number | null;
  user_id: string;
  username: string;
  content: string;
  created_at: string;
  is_edited: boolean;
  parent_id: string | null;
  client_msg_id: string | null;
  reply_count: number;
  pending: boolean;
}

export const PAGE = 50;

export function rowFromMessage(m: Message): Row {
  return {
    key: m.id,
    id: m.id,
    seq: m.seq,
    user_id: m.user_id,
    username: m.user?.username ?? m.username ?? 'unknown',
    content: m.content,
    created_at: m.created_at,
    is_edited: m.is_edited,
    parent_id: m.parent_id,
    client_msg_id: m.client_msg_id,
    reply_count: m.reply_count,
    pending: false,
  };
}

function rowFromWs(m: WsMessage): Row {
  return {
    key: m.message_id,
    id: m.message_id,
    seq: m.seq,
    user_id: m.user_id,
    username: m.username,
    content: m.content,
    created_at: m.created_at,
    is_edited: false,
    parent_id: m.parent_id,
    client_msg_id: m.client_msg_id,
    reply_count: 0,
    pending: false,
  };
}

/**
 * The loaded messages of one list: a channel's top-level messages (parentId null) or one
 * thread's replies. Stored rows are kept in seq order, own unacknowledged sends after them;
 * a send is matched to its stored message by client_msg_id, so it is never shown twice.
 */
export class MessageStore extends Emitter {
  private stored: Row[] = [];
  private pending: Row[] = [];
  private readonly byId = new Map<string, Row>();
  /** Replies already counted into their parent's reply_count, so a replay counts nothing twice. */
  private readonly countedReplies = new Set<string>();
  /** Deleted ids: an own delete and its message.deleted frame must change the counts once. */
  private readonly removed = new Set<string>();
  rows: Row[] = [];
  loading = false;
  loaded = false;
  /** True once the oldest message is loaded (nothing before it). */
  atStart = false;
  /** Bumped whenever the list is replaced rather than extended (history reload). */
  generation = 0;
  /** Bumped by every history load; a load that is no longer the latest drops its answer. */
  private request = 0;

  constructor(
    private readonly rest: RestClient,
    readonly channelId: string,
    readonly parentId: string | null,
  ) {
    super();
  }

  get lastSeq(): number {
    return this.stored.at(-1)?.seq ?? 0;
  }

  private accepts(parentId: string | null): boolean {
    return parentId === this.parentId;
  }

  private commit(): void {
    this.rows = this.pending.length ? this.stored.concat(this.pending) : this.stored;
    this.emit();
  }

  private index(rows: Row[]): void {
    for (const r of rows) if (r.id) this.byId.set(r.id, r);
  }

  /** Loads the newest page (or the whole thread), replacing what is loaded. */
  async loadLatest(): Promise<void> {
    const request = ++this.request;
    this.loading = true;
    this.emit();
    try {
      const messages = this.parentId
        ? await this.rest.replies(this.parentId)
        : await this.rest.history(this.channelId, { limit: PAGE });
      if (request !== this.request) return;
      const rows = messages
        .filter((m) => !m.is_deleted && !this.removed.has(m.id) && this.accepts(m.parent_id))
        .map(rowFromMessage);
      // Live rows received while the history was in flight are newer than all of it, and the
      // connection never delivers them again: keep them.
      const top = messages.reduce((max, m) => Math.max(max, m.seq), 0);
      const fetched = new Set(rows.map((r) => r.id));
      const live = this.stored.filter((r) => (r.seq ?? 0) > top && !fetched.has(r.id));
      // A send acknowledged while the history was in flight is in both: keep the stored one.
      const known = new Set(rows.map((r) => r.client_msg_id).filter(Boolean));
      this.pending = this.pending.filter((p) => !known.has(p.client_msg_id));
      this.stored = rows.concat(live);
      this.byId.clear();
      this.index(this.stored);
      this.atStart = this.parentId !== null || messages.length < PAGE || (messages[0]?.seq ?? 1) <= 1;
      this.loaded = true;
      this.generation++;
    } finally {
      if (request === this.request) {
        this.loading = false;
        this.commit();
      }
    }
  }

  /** Loads the page before the oldest loaded message (channel lists only). */
  async loadOlder(): Promise<void> {
    if (this.loading || this.atStart || this.parentId) return;
    const first = this.stored[0]?.seq;
    if (first === undefined || first === null) return;
    const request = ++this.request;
    this.loading = true;
    this.emit();
    try {
      const messages = await this.rest.history(this.channelId, { limit: PAGE, before_seq: first });
      // A reload started meanwhile replaced the rows this page was to go before.
      if (request !== this.request) return;
      const rows = messages
        .filter((m) => !m.is_deleted && this.accepts(m.parent_id) && !this.byId.has(m.id))
        .map(rowFromMessage);
      this.index(rows);
      this.stored = rows.concat(this.stored);
      this.atStart = messages.length < PAGE || (messages[0]?.seq ?? 1) <= 1;
    } finally {
      if (request === this.request) {
        this.loading = false;
        this.commit();
      }
    }
  }

  /** A message.receive of this channel (any thread). */
  receive(m: WsMessage): void {
    if (!this.accepts(m.parent_id)) {
      if (this.parentId === null && m.parent_id) this.countReply(m.parent_id, m.message_id);
      return;
    }
    const existing = this.byId.get(m.message_id);
    if (existing) return;
    const pendingIndex = m.client_msg_id ? this.pending.findIndex((p) => p.client_msg_id === m.client_msg_id) : -1;
    const row = rowFromWs(m);
    if (pendingIndex >= 0) {
      row.key = this.pending[pendingIndex]!.key;
      this.pending.splice(pendingIndex, 1);
    }
    this.insert(row);
    this.commit();
  }

  private insert(row: Row): void {
    this.byId.set(row.id!, row);
    const seq = row.seq ?? 0;
    let i = this.stored.length;
    while (i > 0 && (this.stored[i - 1]!.seq ?? 0) > seq) i--;
    // A new array, so views holding the old one see a change.
    this.stored = this.stored.slice(0, i).concat(row, this.stored.slice(i));
  }

  private countReply(parentId: string, replyId: string): void {
    const parent = this.byId.get(parentId);
    if (!parent || this.countedReplies.has(replyId)) return;
    this.countedReplies.add(replyId);
    this.replace(parent, { reply_count: parent.reply_count + 1 });
  }

  private replace(row: Row, patch: Partial<Row>): void {
    const next = { ...row, ...patch };
    if (next.id) this.byId.set(next.id, next);
    this.stored = this.stored.map((r) => (r === row ? next : r));
    this.commit();
  }

  /** message.updated, or the answer of an own edit. */
  update(id: string, content: string): void {
    const row = this.byId.get(id);
    if (row && (row.content !== content || !row.is_edited)) this.replace(row, { content, is_edited: true });
  }

  /** message.deleted, or an own delete: the row disappears. */
  remove(id: string, parentId: string | null): void {
    if (this.removed.has(id)) return;
    this.removed.add(id);
    if (parentId && this.parentId === null) {
      const parent = this.byId.get(parentId);
      if (parent && parent.reply_count > 0) this.replace(parent, { reply_count: parent.reply_count - 1 });
    }
    const row = this.byId.get(id);
    if (!row) return;
    this.byId.delete(id);
    this.stored = this.stored.filter((r) => r !== row);
    this.commit();
  }

  /** Shows an own send at once, marked pending until ack() or receive() confirms it. */
  addPending(clientMsgId: string, content: string, me: { id: string; username: string }): void {
    this.pending = this.pending.concat({
      key: `c:${clientMsgId}`,
      id: null,
      seq: null,
      user_id: me.id,
      username: me.username,
      content,
      created_at: new Date().toISOString(),
      is_edited: false,
      parent_id: this.parentId,
      client_msg_id: clientMsgId,
      reply_count: 0,
      pending: true,
    });
    this.commit();
  }

  /** The ack of an own send: the row becomes the stored message (unless receive() already did it). */
  ack(clientMsgId: string, messageId: string, seq: number): void {
    const i = this.pending.findIndex((p) => p.client_msg_id === clientMsgId);
    if (i < 0) return;
    const row = { ...this.pending[i]!, id: messageId, seq, pending: false };
    this.pending = this.pending.filter((_, j) => j !== i);
    if (!this.byId.has(messageId)) this.insert(row);
    this.commit();
  }

  /** A send the server refused: the row goes away (the caller reports the error). */
  dropPending(clientMsgId: string): void {
    this.pending = this.pending.filter((p) => p.client_msg_id !== clientMsgId);
    this.commit();
  }

  row(id: string): Row | undefined {
    return this.byId.get(id);
  }
}
