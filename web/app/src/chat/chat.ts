import {
  ApiError,
  Connection,
  NetworkError,
  newClientMsgId,
  type Channel,
  type ConnectionState,
  type Member,
  type RestClient,
  type User,
  type WsMessage,
} from '@signalink/client';
import { gatewayUrl } from '../config';
import { openChannel } from '../route';
import { showError } from '../toast';
import { Emitter } from './emitter';
import { MessageStore } from './messages';
import { Notifications } from './notifications';
import { TypingUsers } from './typing';

export type Role = Member['role'];

export interface ChannelEntry {
  channel: Channel;
  member: boolean;
  role: Role | null;
  unread: number;
}

export interface ConnInfo {
  /** When the next reconnect attempt starts (ms since epoch), while reconnecting. */
  retryAt?: number;
}

/** The channel on screen: its messages, thread, typists and members. */
export class OpenChannel extends Emitter {
  readonly typing = new TypingUsers();
  thread: MessageStore | null = null;
  members: Member[] | null = null;
  /** The list is scrolled to the bottom (so new messages are being read). */
  atBottom = true;

  constructor(
    readonly id: string,
    readonly store: MessageStore,
  ) {
    super();
  }
}

const MARK_READ_DELAY_MS = 400;
// The gateway allows 100 subscriptions per socket; the open channel needs one more.
const MAX_BACKGROUND = 99;

function entryOf(channel: Channel): ChannelEntry {
  const role = channel.viewer_role;
  return { channel, member: role !== null, role, unread: role !== null ? channel.unread_count : 0 };
}

/** Everything of a logged-in user: REST client, WebSocket connection, channels and notifications. */
export class Chat extends Emitter {
  readonly conn: Connection;
  readonly notifications: Notifications;
  readonly presence = new Map<string, string>();
  entries: ChannelEntry[] = [];
  channelsLoaded = false;
  connState: ConnectionState = 'idle';
  connInfo: ConnInfo = {};
  open: OpenChannel | null = null;
  private readonly offs: Array<() => void> = [];
  private readonly readTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly readSeq = new Map<string, number>();
  /** Member channels subscribed for their unread counts (the open one may be another). */
  private readonly background = new Set<string>();
  private disposed = false;

  constructor(
    readonly rest: RestClient,
    readonly me: User,
  ) {
    super();
    this.notifications = new Notifications(rest);
    this.conn = new Connection({ url: gatewayUrl, ticket: () => rest.wsTicket() });
    const c = this.conn;
    this.offs.push(
      c.on('state', (s, info) => {
        this.connState = s;
        this.connInfo = { retryAt: info.delayMs !== undefined ? Date.now() + info.delayMs : undefined };
        document.body.dataset.conn = s;
        if (s !== 'open') {
          // Whoever went offline or stopped typing while we were away sent no frame to us;
          // the resubscribe after reconnecting brings a fresh presence snapshot.
          this.presence.clear();
          this.open?.typing.clear();
          this.open?.emit();
        }
        this.emit();
      }),
      c.on('message', (m) => this.onMessage(m)),
      c.on('updated', (m) => {
        if (this.open?.id !== m.channel_id) return;
        this.open.store.update(m.message_id, m.content);
        this.open.thread?.update(m.message_id, m.content);
      }),
      c.on('deleted', (m) => {
        if (this.open?.id !== m.channel_id) return;
        this.open.store.remove(m.message_id, m.parent_id);
        this.open.thread?.remove(m.message_id, m.parent_id);
      }),
      c.on('subscribed', (e) => {
        if (e.recovered !== false) return;
        // Too far behind for a replay: the history and the unread count come from REST again.
        if (this.open?.id === e.channel_id) void this.open.store.loadLatest().catch(showError);
        void this.refreshChannel(e.channel_id);
      }),
      c.on('typing', (e) => {
        if (this.open?.id === e.channel_id) this.open.typing.set(e.user_id, e.username, e.is_typing);
      }),
      c.on('presence', (e) => {
        this.presence.set(e.user_id, e.status);
        this.open?.emit();
      }),
      c.on('notification', (n) => {
        this.notifications.receive(n);
        // Added to a channel since the list was loaded: show it in the sidebar too.
        if (this.channelsLoaded && !this.entry(n.channel_id)) void this.onJoined(n.channel_id);
      }),
      c.on('joined', (e) => void this.onJoined(e.channel_id)),
      c.on('membership', (e) => this.onMembership(e)),
      c.on('error', (e) => showError(e)),
    );
    const onVisible = () => {
      // In another tab the open channel is not being looked at: mentions in it notify.
      if (this.open && this.entry(this.open.id)) this.subscribeChannel(this.open.id);
      this.maybeMarkRead();
    };
    document.addEventListener('visibilitychange', onVisible);
    this.offs.push(() => document.removeEventListener('visibilitychange', onVisible));
  }

  start(): void {
    this.conn.connect();
    void this.loadChannels().catch(showError);
    void this.notifications.load().catch(showError);
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.offs) off();
    for (const t of this.readTimers.values()) clearTimeout(t);
    this.open?.typing.clear();
    this.conn.close();
    document.body.dataset.conn = 'closed';
  }

  entry(id: string): ChannelEntry | undefined {
    return this.entries.find((e) => e.channel.id === id);
  }

  private setEntry(id: string, patch: Partial<ChannelEntry>): void {
    this.entries = this.entries.map((e) => (e.channel.id === id ? { ...e, ...patch } : e));
    this.emit();
  }

  private async allChannels(): Promise<Channel[]> {
    const all: Channel[] = [];
    for (let skip = 0; skip < 2000; skip += 100) {
      const page = await this.rest.listChannels({ skip, limit: 100 });
      all.push(...page);
      if (page.length < 100) break;
    }
    return all;
  }

  async loadChannels(): Promise<void> {
    const channels = await this.allChannels();
    if (this.disposed) return;
    this.entries = channels.map(entryOf);
    this.channelsLoaded = true;
    for (const e of this.entries) if (e.member) this.watch(e.channel.id, e.channel.last_seq);
    this.emit();
  }

  /** Keeps the unread count of a member channel live, while there is room for its subscription. */
  private watch(id: string, sinceSeq: number): void {
    if (this.background.size >= MAX_BACKGROUND && !this.background.has(id)) return;
    this.background.add(id);
    this.subscribeChannel(id, sinceSeq);
  }

  private unwatch(id: string): void {
    this.background.delete(id);
    this.conn.unsubscribe(id);
  }

  /**
   * (Re)subscribes a channel as it is now: the open channel with presence, and viewing
   * while the tab is visible; any other in the background (viewing:false), so that the
   * user is still notified of mentions there.
   */
  private subscribeChannel(id: string, sinceSeq?: number): void {
    const open = this.open?.id === id;
    this.conn.subscribe(id, { presence: open, viewing: open && document.visibilityState === 'visible', sinceSeq });
  }

  private async refreshChannel(id: string): Promise<void> {
    try {
      const channel = await this.rest.getChannel(id);
      const e = this.entry(id);
      if (e) this.setEntry(id, { channel, unread: e.member ? channel.unread_count : 0 });
    } catch (err) {
      if (!(err instanceof ApiError)) showError(err);
    }
  }

  private onMessage(m: WsMessage): void {
    const e = this.entry(m.channel_id);
    if (e && m.seq > e.channel.last_seq) e.channel = { ...e.channel, last_seq: m.seq };
    const open = this.open?.id === m.channel_id ? this.open : null;
    if (open) {
      open.store.receive(m);
      open.thread?.receive(m);
      if (m.user_id !== this.me.id) open.typing.set(m.user_id, m.username, false);
    }
    if (!e?.member) return;
    if (open && this.reading(open)) {
      this.markRead(m.channel_id, m.seq);
    } else if (m.user_id !== this.me.id) {
      this.setEntry(m.channel_id, { unread: e.unread + 1 });
    }
  }

  /**
   * This user became a member of a channel: joined it here or in another tab, or someone
   * added them (a private channel this tab has never listed). Only that channel is fetched,
   * so the live unread counts of the others stay as they are.
   */
  private async onJoined(id: string): Promise<void> {
    if (this.entry(id)?.member) return;
    try {
      const channel = await this.rest.getChannel(id);
      if (this.disposed || this.entry(id)?.member) return;
      const e = entryOf(channel);
      this.entries = this.entry(id) ? this.entries.map((x) => (x.channel.id === id ? e : x)) : [...this.entries, e];
      if (e.member) this.watch(id, channel.last_seq);
      this.emit();
    } catch (err) {
      // Removed again before the fetch (403/404): nothing to show.
      if (!(err instanceof ApiError)) showError(err);
    }
  }

  private onMembership(e: Record<string, unknown>): void {
    const id = typeof e.channel_id === 'string' ? e.channel_id : null;
    if (!id) return;
    const name = this.entry(id)?.channel.name;
    const reason = e.reason === 'deleted' ? 'was deleted' : 'is no longer available to you';
    this.forget(id);
    showError(`#${name ?? 'channel'} ${reason}`);
  }

  /** Drops a channel this user can no longer see: from the list, the subscriptions and the screen. */
  private forget(id: string): void {
    this.entries = this.entries.filter((x) => x.channel.id !== id);
    this.unwatch(id);
    if (this.open?.id === id) openChannel(null);
    this.emit();
  }

  private reading(open: OpenChannel): boolean {
    return open.atBottom && document.visibilityState === 'visible';
  }

  /** Called by the list when it reaches (or stays at) the bottom. */
  maybeMarkRead(): void {
    const open = this.open;
    if (!open || !this.reading(open) || !this.entry(open.id)?.member) return;
    const seq = Math.max(open.store.lastSeq, this.entry(open.id)!.channel.last_seq);
    if (seq > 0) this.markRead(open.id, seq);
  }

  /** Marks read up to seq: the badge clears at once, the PUT is debounced. */
  private markRead(id: string, seq: number): void {
    const e = this.entry(id);
    if (e && e.unread !== 0) this.setEntry(id, { unread: 0 });
    if ((this.readSeq.get(id) ?? 0) >= seq) return;
    this.readSeq.set(id, seq);
    clearTimeout(this.readTimers.get(id));
    this.readTimers.set(
      id,
      setTimeout(() => {
        this.readTimers.delete(id);
        this.rest.markRead(id, seq).catch((err: unknown) => {
          // Best effort: the next message read (or the next visit) sends it again.
          if (this.readSeq.get(id) === seq) this.readSeq.delete(id);
          if (!(err instanceof NetworkError)) showError(err);
        });
      }, MARK_READ_DELAY_MS),
    );
  }

  /** Shows a channel (from the hash route); null closes it. */
  async select(id: string | null): Promise<void> {
    if (this.open?.id === id) return;
    const prev = this.open;
    this.open = null;
    if (prev) {
      prev.typing.clear();
      if (this.background.has(prev.id)) this.subscribeChannel(prev.id);
      else this.conn.unsubscribe(prev.id);
    }
    // Only the open channel asks for presence: statuses of other channels' members would go stale.
    this.presence.clear();
    this.emit();
    if (!id) return;
    const open = new OpenChannel(id, new MessageStore(this.rest, id, null));
    this.open = open;
    this.emit();
    let e = this.entry(id);
    if (!e) {
      try {
        const channel = await this.rest.getChannel(id);
        if (this.open !== open) return;
        e = entryOf(channel);
        if (!this.entry(id)) this.entries = [...this.entries, e];
      } catch (err) {
        if (this.open === open) this.open = null;
        showError(err);
        openChannel(null);
        this.emit();
        return;
      }
    }
    this.subscribeChannel(id, e.channel.last_seq);
    this.emit();
    await Promise.all([open.store.loadLatest().catch(showError), this.loadMembers(open)]);
  }

  async loadMembers(open: OpenChannel): Promise<void> {
    try {
      open.members = await this.rest.members(open.id);
      const mine = open.members.find((m) => m.user_id === this.me.id);
      const e = this.entry(open.id);
      if (e && (e.role ?? null) !== (mine?.role ?? null)) this.setEntry(open.id, { role: mine?.role ?? null, member: !!mine });
      open.emit();
    } catch (err) {
      showError(err);
    }
  }

  async createChannel(b: { name: string; description?: string; is_private: boolean }): Promise<Channel> {
    const channel = await this.rest.createChannel(b);
    this.entries = [...this.entries, { channel, member: true, role: 'owner', unread: 0 }];
    this.watch(channel.id, channel.last_seq);
    this.emit();
    return channel;
  }

  async join(id: string): Promise<void> {
    const m = await this.rest.joinChannel(id);
    const e = this.entry(id);
    if (e) this.setEntry(id, { member: true, role: m.role });
    this.watch(id, e?.channel.last_seq ?? 0);
    if (this.open?.id === id) await this.loadMembers(this.open);
  }

  async leave(id: string): Promise<void> {
    await this.rest.leaveChannel(id, this.me.id);
    const e = this.entry(id);
    this.background.delete(id);
    if (e?.channel.is_private) {
      this.forget(id);
      return;
    }
    if (e) this.setEntry(id, { member: false, role: null, unread: 0 });
    if (this.open?.id === id) await this.loadMembers(this.open);
    else this.conn.unsubscribe(id);
  }

  async addMember(id: string, username: string): Promise<void> {
    const user = await this.rest.getUser(username);
    await this.rest.addMember(id, user.id);
    if (this.open?.id === id) await this.loadMembers(this.open);
  }

  /** Sends over the WebSocket; the row shows at once as pending. */
  send(store: MessageStore, content: string): void {
    const clientMsgId = newClientMsgId();
    store.addPending(clientMsgId, content, this.me);
    this.conn
      .send(store.channelId, content, { parentId: store.parentId, clientMsgId })
      .then((ack) => store.ack(clientMsgId, ack.message_id, ack.seq))
      .catch((err: unknown) => {
        store.dropPending(clientMsgId);
        showError(err);
      });
  }

  async edit(id: string, content: string): Promise<void> {
    const m = await this.rest.editMessage(id, content);
    this.open?.store.update(id, m.content);
    this.open?.thread?.update(id, m.content);
  }

  async remove(id: string, parentId: string | null): Promise<void> {
    await this.rest.deleteMessage(id);
    this.open?.store.remove(id, parentId);
    this.open?.thread?.remove(id, parentId);
  }

  openThread(parentId: string | null): void {
    const open = this.open;
    if (!open) return;
    open.thread = parentId ? new MessageStore(this.rest, open.id, parentId) : null;
    open.emit();
    void open.thread?.loadLatest().catch(showError);
  }
}
