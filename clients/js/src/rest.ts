import { ApiError, NetworkError } from './errors.js';
import type { Channel, Member, Message, Notification, Token, User } from './types.js';

export interface RestOptions {
  /** Prefix of every URL, e.g. `http://127.0.0.1:8000`; '' (default) = same origin. */
  baseUrl?: string;
  token?: string | null;
  /** Default: globalThis.fetch, looked up at each call. */
  fetch?: typeof fetch;
  /** Called when an authenticated request is answered 401 (token expired or revoked). */
  onUnauthorized?: () => void;
}

type Query = Record<string, string | number | undefined>;

interface RequestInit {
  query?: Query;
  body?: unknown;
  /** Send the bearer token; false for register and login. */
  auth?: boolean;
}

/** Typed calls of the REST API (`/api/v1`). Every non-2xx answer throws ApiError, a failed fetch NetworkError. */
export class RestClient {
  token: string | null;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly onUnauthorized: (() => void) | undefined;

  constructor(opts: RestOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/+$/, '');
    this.token = opts.token ?? null;
    this.fetchImpl = opts.fetch;
    this.onUnauthorized = opts.onUnauthorized;
  }

  register(b: { username: string; email: string; password: string; full_name?: string }): Promise<User> {
    return this.request('POST', '/users/register', { body: b, auth: false });
  }

  /** Logs in with a username or an email and keeps the token for the next calls. */
  async login(username: string, password: string): Promise<Token> {
    const token = await this.request<Token>('POST', '/users/login', { body: { username, password }, auth: false });
    this.token = token.access_token;
    return token;
  }

  /** Revokes the session on the server; the local token is dropped even if that call fails. */
  async logout(): Promise<void> {
    try {
      await this.request<void>('POST', '/users/logout');
    } finally {
      this.token = null;
    }
  }

  me(): Promise<User> {
    return this.request('GET', '/users/me');
  }

  /** A single-use ticket (valid 30 s) for opening the WebSocket without putting the token in a URL. */
  async wsTicket(): Promise<string> {
    const r = await this.request<{ ticket: string; expires_in: number }>('POST', '/users/ws-ticket');
    return r.ticket;
  }

  searchUsers(query: string, limit?: number): Promise<User[]> {
    return this.request('GET', '/users/', { query: { query, limit } });
  }

  getUser(username: string): Promise<User> {
    return this.request('GET', `/users/${seg(username)}`);
  }

  listChannels(p: { skip?: number; limit?: number } = {}): Promise<Channel[]> {
    return this.request('GET', '/channels/', { query: { skip: p.skip, limit: p.limit } });
  }

  getChannel(id: string): Promise<Channel> {
    return this.request('GET', `/channels/${seg(id)}`);
  }

  createChannel(b: { name: string; description?: string; is_private?: boolean }): Promise<Channel> {
    return this.request('POST', '/channels/', { body: b });
  }

  joinChannel(id: string): Promise<Member> {
    return this.request('POST', `/channels/${seg(id)}/join`);
  }

  leaveChannel(id: string, userId: string): Promise<void> {
    return this.request('DELETE', `/channels/${seg(id)}/members/${seg(userId)}`);
  }

  members(id: string): Promise<Member[]> {
    return this.request('GET', `/channels/${seg(id)}/members`);
  }

  addMember(id: string, userId: string, role?: 'member' | 'admin'): Promise<Member> {
    return this.request('POST', `/channels/${seg(id)}/members`, { body: { user_id: userId, role: role ?? 'member' } });
  }

  markRead(id: string, lastReadSeq: number): Promise<void> {
    return this.request('PUT', `/channels/${seg(id)}/read`, { body: { last_read_seq: lastReadSeq } });
  }

  /** Messages in ascending seq: the newest `limit`, or a page before/after a seq. */
  history(channelId: string, p: { limit?: number; before_seq?: number; after_seq?: number } = {}): Promise<Message[]> {
    return this.request('GET', `/messages/channels/${seg(channelId)}`, {
      query: { limit: p.limit, before_seq: p.before_seq, after_seq: p.after_seq },
    });
  }

  /** With a client_msg_id the send is idempotent: a repeat returns the original message. */
  sendMessage(b: { channel_id: string; content: string; parent_id?: string | null; client_msg_id?: string }): Promise<Message> {
    return this.request('POST', '/messages/', { body: b });
  }

  editMessage(id: string, content: string): Promise<Message> {
    return this.request('PUT', `/messages/${seg(id)}`, { body: { content } });
  }

  deleteMessage(id: string): Promise<void> {
    return this.request('DELETE', `/messages/${seg(id)}`);
  }

  replies(id: string): Promise<Message[]> {
    return this.request('GET', `/messages/${seg(id)}/replies`);
  }

  notifications(p: { skip?: number; limit?: number } = {}): Promise<{ items: Notification[]; unread_count: number }> {
    return this.request('GET', '/notifications/', { query: { skip: p.skip, limit: p.limit } });
  }

  readNotification(id: string): Promise<Notification> {
    return this.request('POST', `/notifications/${seg(id)}/read`);
  }

  readAllNotifications(): Promise<{ updated: number }> {
    return this.request('POST', '/notifications/read-all');
  }

  /** The direct conversation with that user, created on first use. */
  openDirect(userId: string): Promise<Channel> {
    return this.request('POST', '/dms/', { body: { user_id: userId } });
  }

  private async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const sendsToken = init.auth !== false && this.token !== null;
    if (sendsToken) headers['Authorization'] = `Bearer ${this.token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    const url = `${this.baseUrl}/api/v1${path}${queryString(init.query)}`;
    const fetchImpl = this.fetchImpl ?? globalThis.fetch;
    let res: Response;
    try {
      res = await fetchImpl(url, body === undefined ? { method, headers } : { method, headers, body });
    } catch (err) {
      throw new NetworkError(`${method} ${path} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!res.ok) {
      const detail = await readDetail(res);
      if (res.status === 401 && sendsToken) this.onUnauthorized?.();
      throw new ApiError(res.status, detail);
    }
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new NetworkError(`${method} ${path}: unreadable response body`, { cause: err });
    }
  }
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined) params.set(k, String(v));
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

// The body's `detail`, or the status text when the body is not the API's JSON
// (a proxy's error page, say).
async function readDetail(res: Response): Promise<unknown> {
  try {
    const json: unknown = await res.json();
    if (typeof json === 'object' && json !== null && 'detail' in json) return (json as { detail: unknown }).detail;
  } catch {
    // fall through to the status text
  }
  return res.statusText;
}
