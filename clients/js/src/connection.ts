import { Backoff } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { ServerError } from './errors.js';
import type { Ack, Notification, WsMessage } from './types.js';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionOptions {
  /** `ws://host:port/ws` without a ticket, or a function giving it (called before every attempt). */
  url: string | (() => string | Promise<string>);
  /** A fresh single-use ticket, e.g. `() => rest.wsTicket()`; called before every (re)connect. */
  ticket: () => Promise<string>;
  /** Default globalThis.WebSocket; under Node pass the `ws` package's WebSocket. */
  WebSocket?: typeof globalThis.WebSocket;
  backoff?: BackoffOptions;
  /** Source of the backoff jitter, in [0, 1); for tests. */
  random?: () => number;
  /** 25000: a ping every this often; no frame back before the next one closes and reconnects. Also the deadline of the opening handshake. */
  pingIntervalMs?: number;
  /** 0 (default): a queued send waits for its ack forever; rejected only by close(). */
  sendTimeoutMs?: number;
}

export interface StateInfo {
  /** The connection attempt (1, 2, ...) since the socket was last open; at 'open', how many it took. */
  attempt: number;
  /** Set while waiting before the next attempt: how long. */
  delayMs?: number;
  /** The close code of the socket that just dropped (1006 when it failed without one). */
  closeCode?: number;
  /** 'unauthorized' on the final 'closed' when the ticket request was refused (401/403): log in again. */
  reason?: 'unauthorized';
}

export interface ConnectionEvents {
  /** Every state change, and every new attempt or wait within 'connecting'/'reconnecting'. */
  state: (s: ConnectionState, info: StateInfo) => void;
  /** message.receive, at most once per message_id per Connection, in seq order per channel. */
  message: (m: WsMessage) => void;
  updated: (m: WsMessage) => void;
  deleted: (m: WsMessage) => void;
  /** A subscribe succeeded. After a reconnect, anything but recovered:true means: reload the history over REST. */
  subscribed: (e: { channel_id: string; recovered: boolean | undefined }) => void;
  typing: (e: { channel_id: string; user_id: string; username: string; is_typing: boolean }) => void;
  /** presence.update; the server does not say which subscription it is for, so channel_id is usually absent. */
  presence: (e: { user_id: string; status: string; channel_id?: string }) => void;
  notification: (n: Notification) => void;
  /** channel.joined: the user just became a member of the channel (joined, or was added); subscribing is up to the app. */
  joined: (e: { channel_id: string }) => void;
  /** channel.unsubscribed (`channel_id`, `reason`): the subscription ended and is forgotten. */
  membership: (e: Record<string, unknown>) => void;
  /** Error frames not tied to a send, and the final 'unauthorized'. */
  error: (e: ServerError) => void;
}

export interface SubscribeOptions {
  /** Ask for presence.update frames of the channel's members. Default false. */
  presence?: boolean;
  /** Replay from this seq until a message of the channel has been received; pass the last seq of the history loaded. */
  sinceSeq?: number;
  /**
   * Default true: the user is looking at the channel, so the server notifies them of
   * nothing in it. False for a background subscription (unread counts): mentions in
   * the channel still bring `notification` events.
   */
  viewing?: boolean;
}

interface Subscription {
  presence: boolean;
  viewing: boolean;
  sinceSeq: number | undefined;
}

interface PendingSend {
  frame: Record<string, unknown>;
  promise: Promise<Ack>;
  resolve: (a: Ack) => void;
  reject: (e: ServerError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

type Frame = Record<string, unknown>;

const OPEN = 1; // WebSocket.OPEN, the same in browsers and `ws`
const SEEN_LIMIT = 100_000; // message ids remembered for de-duplication

/**
 * One logical WebSocket to the gateway that survives disconnects: it
 * reconnects with backoff, resubscribes from the last seq seen and re-sends
 * unacknowledged messages under their client_msg_id (the server stores each
 * one once).
 */
export class Connection {
  private readonly opts: ConnectionOptions;
  private readonly events = new Emitter<ConnectionEvents>();
  private readonly backoff: Backoff;
  private readonly pingIntervalMs: number;
  private readonly sendTimeoutMs: number;
  private currentState: ConnectionState = 'idle';
  private socket: WebSocket | null = null;
  // Bumped whenever a socket or an attempt is abandoned, so that its late
  // callbacks (or an awaited ticket) are recognised and ignored.
  private generation = 0;
  private attempt = 0;
  private everOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private heardSincePing = true;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly seqs = new Map<string, number>();
  private readonly seen = new Set<string>();
  private readonly pending = new Map<string, PendingSend>();

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff, opts.random);
    this.pingIntervalMs = opts.pingIntervalMs ?? 25_000;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? 0;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Starts connecting and keeps reconnecting until close(); does nothing unless 'idle'. */
  connect(): void {
    if (this.currentState !== 'idle') return;
    void this.tryConnect();
  }

  /** Final: no more reconnects; pending sends are rejected with code 'closed'. */
  close(): void {
    if (this.currentState === 'closed') return;
    this.shutDown('closed');
  }

  /**
   * Remembered and re-sent after every reconnect, from the last seq seen (or opts.sinceSeq
   * before any). Subscribing a subscribed channel again replaces its flags (omitted ones
   * take their defaults) and re-sends it from the last seq seen, so nothing is missed in
   * between; a sinceSeq given before is kept unless a new one is given.
   */
  subscribe(channelId: string, opts: SubscribeOptions = {}): void {
    this.subscriptions.set(channelId, {
      presence: opts.presence ?? false,
      viewing: opts.viewing ?? true,
      sinceSeq: opts.sinceSeq ?? this.subscriptions.get(channelId)?.sinceSeq,
    });
    if (this.currentState === 'open') this.transmit(this.subscribeFrame(channelId));
  }

  unsubscribe(channelId: string): void {
    if (!this.subscriptions.delete(channelId)) return;
    if (this.currentState === 'open') this.transmit({ type: 'channel.unsubscribe', channel_id: channelId });
  }

  /** The highest seq of the channel received on this Connection. */
  lastSeq(channelId: string): number | undefined {
    return this.seqs.get(channelId);
  }

  /**
   * Sends now, or when the socket is next open; re-sent with the same
   * client_msg_id after every reconnect until acknowledged. Resolves with the
   * ack; rejects with a ServerError (the server's code, or 'timeout',
   * 'closed', 'unauthorized'). Sending an id still pending returns its promise.
   */
  send(channelId: string, content: string, opts: { parentId?: string | null; clientMsgId?: string } = {}): Promise<Ack> {
    const clientMsgId = opts.clientMsgId ?? newClientMsgId();
    const existing = this.pending.get(clientMsgId);
    if (existing) return existing.promise;
    if (this.currentState === 'closed') {
      return Promise.reject(new ServerError('closed', 'the connection is closed', clientMsgId));
    }
    const frame: Frame = { type: 'message.send', channel_id: channelId, content, client_msg_id: clientMsgId };
    if (opts.parentId) frame['parent_id'] = opts.parentId;
    let resolve!: (a: Ack) => void;
    let reject!: (e: ServerError) => void;
    const promise = new Promise<Ack>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: PendingSend = { frame, promise, resolve, reject, timer: undefined };
    if (this.sendTimeoutMs > 0) {
      entry.timer = setTimeout(() => {
        this.settle(clientMsgId)?.reject(new ServerError('timeout', 'no acknowledgement in time', clientMsgId));
      }, this.sendTimeoutMs);
    }
    this.pending.set(clientMsgId, entry);
    if (this.currentState === 'open') this.transmit(frame);
    return promise;
  }

  /** typing.start / typing.stop; dropped when not open (it would be stale by then). */
  typing(channelId: string, isTyping: boolean): void {
    if (this.currentState !== 'open') return;
    this.transmit({ type: isTyping ? 'typing.start' : 'typing.stop', channel_id: channelId });
  }

  on<K extends keyof ConnectionEvents>(event: K, fn: ConnectionEvents[K]): () => void {
    return this.events.on(event, fn);
  }

  private setState(s: ConnectionState, info: StateInfo): void {
    this.currentState = s;
    this.events.emit('state', s, info);
  }

  private get waitingState(): ConnectionState {
    return this.everOpened ? 'reconnecting' : 'connecting';
  }

  private async tryConnect(): Promise<void> {
    const gen = ++this.generation;
    this.attempt += 1;
    this.setState(this.waitingState, { attempt: this.attempt });
    let url: string;
    try {
      const base = typeof this.opts.url === 'function' ? await this.opts.url() : this.opts.url;
      const ticket = await this.opts.ticket();
      url = `${base}${base.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}`;
    } catch (err) {
      if (gen !== this.generation) return;
      if (isAuthRefusal(err)) this.shutDown('unauthorized');
      else this.retryLater(undefined);
      return;
    }
    if (gen !== this.generation) return;
    const WS = this.opts.WebSocket ?? globalThis.WebSocket;
    let ws: WebSocket;
    try {
      ws = new WS(url);
    } catch {
      this.retryLater(undefined);
      return;
    }
    this.socket = ws;
    ws.onopen = () => {
      if (gen === this.generation) this.onOpen();
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (gen === this.generation) this.onFrame(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (gen !== this.generation) return;
      this.dropSocket();
      this.retryLater(ev.code);
    };
    // An error is always followed by a close, which does the work.
    ws.onerror = ignore;
    this.openTimer = setTimeout(() => {
      if (gen !== this.generation) return;
      this.dropSocket();
      this.retryLater(undefined);
    }, this.pingIntervalMs);
  }

  private retryLater(closeCode: number | undefined): void {
    const delayMs = this.backoff.next();
    const info: StateInfo = { attempt: this.attempt + 1, delayMs };
    if (closeCode !== undefined) info.closeCode = closeCode;
    this.setState(this.waitingState, info);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.tryConnect();
    }, delayMs);
  }

  private onOpen(): void {
    clearTimeout(this.openTimer);
    this.openTimer = undefined;
    this.everOpened = true;
    this.backoff.reset();
    const attempt = this.attempt;
    this.attempt = 0;
    // Resubscribe and re-send before telling listeners, so that what they
    // send from the 'open' handler goes out after the recovery frames.
    this.currentState = 'open';
    for (const channelId of this.subscriptions.keys()) this.transmit(this.subscribeFrame(channelId));
    for (const p of this.pending.values()) this.transmit(p.frame);
    this.heardSincePing = true;
    this.pingTimer = setInterval(() => this.heartbeat(), this.pingIntervalMs);
    this.setState('open', { attempt });
  }

  private heartbeat(): void {
    if (!this.heardSincePing) {
      // The socket looks open but nothing comes back: a dead link. Do not wait
      // for its close handshake, which may never finish.
      this.dropSocket();
      this.retryLater(undefined);
      return;
    }
    this.heardSincePing = false;
    this.transmit({ type: 'ping' });
  }

  /** Forgets the current socket (closing it if needed); its late callbacks are ignored. */
  private dropSocket(): void {
    this.generation += 1;
    clearTimeout(this.openTimer);
    this.openTimer = undefined;
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    const ws = this.socket;
    this.socket = null;
    if (this.currentState === 'open') this.currentState = 'reconnecting';
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    // Node's `ws` reports a close during the opening handshake as an 'error'
    // event, which crashes the process when nobody listens.
    ws.onerror = ignore;
    try {
      ws.close(1000);
    } catch {
      // Closing a socket that failed to open may throw; it is gone either way.
    }
  }

  private shutDown(reason: 'closed' | 'unauthorized'): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dropSocket();
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(new ServerError(reason, reason === 'closed' ? 'the connection is closed' : 'the server refused the credentials', id));
    }
    const info: StateInfo = { attempt: this.attempt };
    if (reason === 'unauthorized') info.reason = 'unauthorized';
    this.setState('closed', info);
    if (reason === 'unauthorized') this.events.emit('error', new ServerError('unauthorized', 'the server refused the credentials'));
  }

  private subscribeFrame(channelId: string): Frame {
    const sub = this.subscriptions.get(channelId);
    const frame: Frame = { type: 'channel.subscribe', channel_id: channelId };
    const since = this.seqs.get(channelId) ?? sub?.sinceSeq;
    if (since !== undefined) frame['since_seq'] = since;
    if (sub?.presence) frame['presence'] = true;
    // true is the server's default; only a background subscription says so.
    if (sub?.viewing === false) frame['viewing'] = false;
    return frame;
  }

  private transmit(frame: Frame): void {
    const ws = this.socket;
    if (!ws || ws.readyState !== OPEN) return;
    ws.send(JSON.stringify(frame));
  }

  /** Removes a pending send and its timer; returns it if it was still pending. */
  private settle(clientMsgId: string): PendingSend | undefined {
    const p = this.pending.get(clientMsgId);
    if (!p) return undefined;
    this.pending.delete(clientMsgId);
    clearTimeout(p.timer);
    return p;
  }

  private onFrame(data: unknown): void {
    this.heardSincePing = true;
    let frame: unknown;
    try {
      frame = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      return; // the server sends only JSON text; anything else is not ours to handle
    }
    if (typeof frame !== 'object' || frame === null) return;
    this.dispatch(frame as Frame);
  }

  private dispatch(f: Frame): void {
    switch (f['type']) {
      case 'success':
        this.onSuccess(f);
        return;
      case 'error':
        this.onError(f);
        return;
      case 'message.ack':
        this.onAck(f);
        return;
      case 'message.receive':
        this.onReceive(toWsMessage(f));
        return;
      case 'message.updated':
        this.events.emit('updated', toWsMessage(f));
        return;
      case 'message.deleted':
        this.events.emit('deleted', toWsMessage(f));
        return;
      case 'typing.indicator':
        this.events.emit('typing', {
          channel_id: str(f['channel_id']),
          user_id: str(f['user_id']),
          username: str(f['username']),
          is_typing: f['is_typing'] === true,
        });
        return;
      case 'presence.update': {
        const e: { user_id: string; status: string; channel_id?: string } = { user_id: str(f['user_id']), status: str(f['status']) };
        if (typeof f['channel_id'] === 'string') e.channel_id = f['channel_id'];
        this.events.emit('presence', e);
        return;
      }
      case 'notification.new':
        this.events.emit('notification', f['notification'] as Notification);
        return;
      case 'channel.joined':
        this.events.emit('joined', { channel_id: str(f['channel_id']) });
        return;
      case 'channel.unsubscribed':
        this.subscriptions.delete(str(f['channel_id']));
        this.events.emit('membership', f);
        return;
      default:
        return; // pong, and frame types newer than this client
    }
  }

  private onSuccess(f: Frame): void {
    const message = f['message'];
    if (typeof message !== 'string' || !message.startsWith('Subscribed')) return;
    const data = (f['data'] ?? {}) as Frame;
    const recovered = typeof data['recovered'] === 'boolean' ? data['recovered'] : undefined;
    this.events.emit('subscribed', { channel_id: str(data['channel_id']), recovered });
  }

  private onError(f: Frame): void {
    const clientMsgId = typeof f['client_msg_id'] === 'string' ? f['client_msg_id'] : null;
    const err = new ServerError(str(f['code']), str(f['error']), clientMsgId);
    const p = clientMsgId === null ? undefined : this.settle(clientMsgId);
    if (p) p.reject(err);
    else this.events.emit('error', err);
  }

  private onAck(f: Frame): void {
    const clientMsgId = f['client_msg_id'];
    if (typeof clientMsgId !== 'string') return;
    this.settle(clientMsgId)?.resolve({
      client_msg_id: clientMsgId,
      message_id: str(f['message_id']),
      channel_id: str(f['channel_id']),
      seq: Number(f['seq']),
    });
  }

  private onReceive(m: WsMessage): void {
    if (this.seen.has(m.message_id)) return;
    this.seen.add(m.message_id);
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = this.seen.values().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    if (m.seq > (this.seqs.get(m.channel_id) ?? -1)) this.seqs.set(m.channel_id, m.seq);
    this.events.emit('message', m);
  }
}

function ignore(): void {
  // Nothing to do: see where it is installed.
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function toWsMessage(f: Frame): WsMessage {
  return {
    message_id: str(f['message_id']),
    channel_id: str(f['channel_id']),
    user_id: str(f['user_id']),
    username: str(f['username']),
    content: str(f['content']),
    message_type: str(f['message_type']),
    metadata: (f['metadata'] ?? null) as Record<string, unknown> | null,
    created_at: str(f['created_at']),
    seq: Number(f['seq']),
    parent_id: typeof f['parent_id'] === 'string' ? f['parent_id'] : null,
    client_msg_id: typeof f['client_msg_id'] === 'string' ? f['client_msg_id'] : null,
  };
}

// A refused ticket request means the token is no longer valid; retrying
// cannot help. Duck-typed so that an ApiError from another copy of this
// library (or any error carrying an HTTP status) counts too.
function isAuthRefusal(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const status = (err as { status?: unknown }).status;
  return status === 401 || status === 403;
}

// crypto.randomUUID exists only in secure contexts (https, localhost); a page
// served over plain http elsewhere still has getRandomValues.
export function newClientMsgId(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
