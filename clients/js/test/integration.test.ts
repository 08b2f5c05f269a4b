// Against a real `signalink serve` (SIGNALINK_BIN, default build/release/signalink).
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { Connection } from '../src/connection.js';
import { ApiError, NetworkError, ServerError } from '../src/errors.js';
import { RestClient } from '../src/rest.js';
import type { Notification, WsMessage } from '../src/types.js';
import { connectionFor, countingWebSocket, gate, signUp, uniqueName, waitFor } from './helpers.js';
import type { Account } from './helpers.js';
import { startServer } from './server.js';
import type { Server } from './server.js';

function recordMessages(conn: Connection): WsMessage[] {
  const got: WsMessage[] = [];
  conn.on('message', (m) => got.push(m));
  return got;
}

function recordSubscribed(conn: Connection): Array<{ channel_id: string; recovered: boolean | undefined }> {
  const got: Array<{ channel_id: string; recovered: boolean | undefined }> = [];
  conn.on('subscribed', (e) => got.push(e));
  return got;
}

describe('against a running server', () => {
  let server: Server;
  const open: Connection[] = [];

  beforeAll(async () => {
    // Revoked sessions are noticed quickly, for the logout test.
    server = await startServer({ REVOCATION_POLL_MS: '200' });
  });

  afterAll(async () => {
    for (const c of open) c.close();
    await server?.dispose();
  });

  const track = (c: Connection): Connection => {
    open.push(c);
    return c;
  };

  it('REST: register, login, channels, history, and the shape of errors', async () => {
    const alice = await signUp(server, 'alice');
    expect(alice.user).toMatchObject({ is_active: true, full_name: null });
    expect(alice.user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await alice.rest.me()).username).toBe(alice.user.username);

    const anon = new RestClient({ baseUrl: server.apiUrl });
    const dup = await anon.register({ username: alice.user.username, email: 'other@example.test', password: 'correct-horse-1' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ApiError);
    expect(dup).toMatchObject({ status: 400, detail: 'Username already registered', message: 'Username already registered' });

    const invalid = await anon.register({ username: 'ab', email: 'ab@example.test', password: 'correct-horse-1' }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 422 });
    const detail = (invalid as ApiError).detail as Array<{ loc: string[]; msg: string }>;
    expect(Array.isArray(detail)).toBe(true);
    expect(detail[0]?.loc).toEqual(['body', 'username']);
    expect((invalid as ApiError).message).toMatch(/^username: /);

    const name = uniqueName('general');
    const channel = await alice.rest.createChannel({ name, description: 'all of us' });
    expect(channel).toMatchObject({ name, description: 'all of us', is_private: false, created_by: alice.user.id, member_count: 1, last_seq: 0 });
    expect((await alice.rest.getChannel(channel.id)).name).toBe(name);
    expect((await alice.rest.listChannels({ limit: 100 })).map((c) => c.id)).toContain(channel.id);

    const missing = await alice.rest.getChannel('00000000-0000-7000-8000-000000000000').catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'ApiError', status: 404, detail: 'Channel not found', message: 'Channel not found' });

    const first = await alice.rest.sendMessage({ channel_id: channel.id, content: 'one' });
    const second = await alice.rest.sendMessage({ channel_id: channel.id, content: 'two', client_msg_id: 'rest-2' });
    const again = await alice.rest.sendMessage({ channel_id: channel.id, content: 'two (retried)', client_msg_id: 'rest-2' });
    expect(again.id).toBe(second.id);
    const reply = await alice.rest.sendMessage({ channel_id: channel.id, content: 'three', parent_id: first.id });
    expect((await alice.rest.history(channel.id)).map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
    expect((await alice.rest.history(channel.id, { after_seq: 1 })).map((m) => m.seq)).toEqual([2, 3]);
    expect((await alice.rest.history(channel.id, { before_seq: 3, limit: 1 })).map((m) => m.seq)).toEqual([2]);
    expect((await alice.rest.replies(first.id)).map((m) => m.id)).toEqual([reply.id]);

    const edited = await alice.rest.editMessage(first.id, 'one, edited');
    expect(edited).toMatchObject({ id: first.id, content: 'one, edited', is_edited: true });
    await alice.rest.deleteMessage(reply.id);
    await expect(alice.rest.replies(first.id)).resolves.toEqual([]);

    const bob = await signUp(server, 'bob');
    expect(await bob.rest.joinChannel(channel.id)).toMatchObject({ channel_id: channel.id, user_id: bob.user.id, role: 'member' });
    expect((await alice.rest.members(channel.id)).map((m) => [m.user.username, m.role]).sort()).toEqual(
      [
        [alice.user.username, 'owner'],
        [bob.user.username, 'member'],
      ].sort(),
    );
    const before = await bob.rest.getChannel(channel.id);
    expect(before.unread_count).toBeGreaterThan(0);
    await bob.rest.markRead(channel.id, before.last_seq);
    expect((await bob.rest.getChannel(channel.id)).unread_count).toBe(0);
    await bob.rest.leaveChannel(channel.id, bob.user.id);
    expect(await alice.rest.members(channel.id)).toHaveLength(1);

    const dm = await alice.rest.openDirect(bob.user.id);
    expect(dm).toMatchObject({ is_private: true, member_count: 2 });
    expect((await bob.rest.openDirect(alice.user.id)).id).toBe(dm.id);
    expect((await alice.rest.getUser(bob.user.username)).id).toBe(bob.user.id);
    expect((await alice.rest.searchUsers(bob.user.username)).map((u) => u.id)).toEqual([bob.user.id]);
    expect(await alice.rest.notifications()).toMatchObject({ items: [], unread_count: 0 });
    expect(typeof (await alice.rest.wsTicket())).toBe('string');

    await alice.rest.logout();
    expect(alice.rest.token).toBeNull();
    await expect(alice.rest.me()).rejects.toMatchObject({ status: 401, detail: 'Not authenticated' });

    const down = await new RestClient({ baseUrl: 'http://127.0.0.1:1' }).me().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(NetworkError);
  });

  it('live: a message sent by one Connection reaches the other once, with its ack', async () => {
    const alice = await signUp(server, 'alice');
    const bob = await signUp(server, 'bob');
    const channel = await alice.rest.createChannel({ name: uniqueName('live') });
    await bob.rest.joinChannel(channel.id);

    const ca = track(connectionFor(server, alice));
    const cb = track(connectionFor(server, bob));
    const aliceGot = recordMessages(ca);
    const bobGot = recordMessages(cb);
    const bobSubscribed = recordSubscribed(cb);
    const typing: Array<{ username: string; is_typing: boolean }> = [];
    cb.on('typing', (e) => typing.push(e));
    ca.subscribe(channel.id, { sinceSeq: 0 });
    cb.subscribe(channel.id, { sinceSeq: 0 });
    ca.connect();
    cb.connect();
    await waitFor('both subscribed', () => bobSubscribed.length === 1 && ca.state === 'open');
    expect(bobSubscribed).toEqual([{ channel_id: channel.id, recovered: true }]);

    const ack = await ca.send(channel.id, 'hello bob');
    expect(ack).toMatchObject({ channel_id: channel.id, seq: 1 });
    const received = await waitFor('bob receives', () => bobGot.find((m) => m.message_id === ack.message_id));
    expect(received).toMatchObject({
      channel_id: channel.id,
      user_id: alice.user.id,
      username: alice.user.username,
      content: 'hello bob',
      seq: 1,
      client_msg_id: ack.client_msg_id,
      parent_id: null,
    });
    await waitFor('alice sees her own message', () => aliceGot.length === 1);

    ca.typing(channel.id, true);
    await waitFor('typing indicator', () => typing.length === 1);
    expect(typing[0]).toMatchObject({ username: alice.user.username, is_typing: true });

    // A send stored earlier (its ack lost, say) and retried with the same id
    // is acknowledged as the original, not stored twice.
    const stored = await alice.rest.sendMessage({ channel_id: channel.id, content: 'first try', client_msg_id: 'retry-1' });
    const retried = await ca.send(channel.id, 'second try', { clientMsgId: 'retry-1' });
    expect(retried).toEqual({ client_msg_id: 'retry-1', message_id: stored.id, channel_id: channel.id, seq: stored.seq });
    const history = await bob.rest.history(channel.id);
    expect(history.filter((m) => m.client_msg_id === 'retry-1')).toHaveLength(1);

    const secret = await bob.rest.createChannel({ name: uniqueName('secret'), is_private: true });
    const refused = await ca.send(secret.id, 'let me in').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServerError);
    expect(refused).toMatchObject({ code: 'forbidden' });

    await waitFor('bob has both messages', () => bobGot.length === 2);
    expect(bobGot.map((m) => m.seq)).toEqual([1, 2]);
    expect(aliceGot.map((m) => m.message_id)).toEqual(bobGot.map((m) => m.message_id));
  });

  it('dedup: messages the server replays twice are emitted once', async () => {
    const alice = await signUp(server, 'alice');
    const channel = await alice.rest.createChannel({ name: uniqueName('replay') });
    for (let i = 1; i <= 4; i++) await alice.rest.sendMessage({ channel_id: channel.id, content: `m${i}` });

    const wire = countingWebSocket();
    const conn = track(connectionFor(server, alice, { WebSocket: wire.WebSocket }));
    const got = recordMessages(conn);
    const subscribed = recordSubscribed(conn);
    conn.on('state', (s) => {
      if (s !== 'open') return;
      // Two subscribes before any message is seen: both carry since_seq 0,
      // so the server replays the channel twice.
      conn.subscribe(channel.id, { sinceSeq: 0 });
      conn.subscribe(channel.id, { sinceSeq: 0 });
    });
    conn.connect();
    await waitFor('both replays on the wire', () => subscribed.length === 2 && wire.receives() === 8);
    expect(got.map((m) => m.content)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(new Set(got.map((m) => m.message_id)).size).toBe(4);
    expect(conn.lastSeq(channel.id)).toBe(4);
  });

  it('being added to a private channel fires joined on an open Connection; viewer_role says the role', async () => {
    const alice = await signUp(server, 'alice');
    const bob = await signUp(server, 'bob');
    const cb = track(connectionFor(server, bob));
    const joined: Array<{ channel_id: string }> = [];
    cb.on('joined', (e) => joined.push(e));
    cb.connect();
    await waitFor('open', () => cb.state === 'open');

    const secret = await alice.rest.createChannel({ name: uniqueName('secret'), is_private: true });
    expect(secret.viewer_role).toBe('owner');
    expect((await bob.rest.listChannels({ limit: 100 })).map((c) => c.id)).not.toContain(secret.id);
    await alice.rest.addMember(secret.id, bob.user.id);
    await waitFor('joined', () => joined.length === 1);
    expect(joined).toEqual([{ channel_id: secret.id }]);
    expect((await bob.rest.getChannel(secret.id)).viewer_role).toBe('member');
  });

  it('a background subscription (viewing:false) is notified of mentions; a viewing one is not', async () => {
    const alice = await signUp(server, 'alice');
    const bob = await signUp(server, 'bob');
    const watched = await alice.rest.createChannel({ name: uniqueName('mentions') });
    const other = await alice.rest.createChannel({ name: uniqueName('marker') });
    await bob.rest.joinChannel(watched.id);
    await bob.rest.joinChannel(other.id);
    const cb = track(connectionFor(server, bob));
    const notified: Notification[] = [];
    cb.on('notification', (n) => notified.push(n));
    const subscribed = recordSubscribed(cb);
    const got = recordMessages(cb);
    cb.subscribe(watched.id, { sinceSeq: 0, viewing: false });
    cb.subscribe(other.id, { sinceSeq: 0, viewing: false });
    cb.connect();
    await waitFor('subscribed in the background', () => subscribed.length === 2);
    const mention = (channelId: string, text: string) =>
      alice.rest.sendMessage({ channel_id: channelId, content: `@${bob.user.username} ${text}` });

    await mention(watched.id, 'first');
    const first = await waitFor('a notification while in the background', () => notified[0]);
    expect(first).toMatchObject({ type: 'mention', channel_id: watched.id, count: 1, is_read: false });
    expect(first.text).toContain('first');

    cb.subscribe(watched.id, { viewing: true });
    await waitFor('subscribed as viewing', () => subscribed.length === 3);
    await mention(watched.id, 'second');
    // The notifier handles messages in the order they were written: once the
    // mention in the other channel is notified, the second one was handled.
    await mention(other.id, 'marker');
    const marker = await waitFor('the marker notification', () => notified[1]);
    expect(marker).toMatchObject({ channel_id: other.id });
    expect(notified).toHaveLength(2);

    // The resubscribe went on from the last seq seen: each message once.
    await waitFor('all three messages', () => got.length === 3);
    expect(got.filter((m) => m.channel_id === watched.id).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('a logout elsewhere closes the socket (4001), the ticket is refused, and the Connection stops for good', async () => {
    const alice = await signUp(server, 'alice');
    const conn = track(connectionFor(server, alice));
    const states: string[] = [];
    conn.on('state', (s, info) => states.push([s, info.closeCode, info.reason].filter((x) => x !== undefined).join(':')));
    const errors: ServerError[] = [];
    conn.on('error', (e) => errors.push(e));
    conn.connect();
    await waitFor('open', () => conn.state === 'open');

    // Another tab with the same session logs out; this client still holds the now revoked token.
    const otherTab = new RestClient({ baseUrl: server.apiUrl, token: alice.rest.token });
    await otherTab.logout();
    await waitFor('closed', () => conn.state === 'closed');
    expect(states).toContain('reconnecting:4001');
    expect(states.at(-1)).toBe('closed:unauthorized');
    expect(errors.map((e) => e.code)).toEqual(['unauthorized']);
    await expect(alice.rest.wsTicket()).rejects.toMatchObject({ status: 401 });
  });
});

describe('reconnect against a server that stops and restarts', () => {
  let server: Server;
  let conn: Connection | undefined;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    conn?.close();
    await server?.dispose();
  });

  it('delivers a send queued while down exactly once and recovers what was missed via since_seq', async () => {
    const alice = await signUp(server, 'alice');
    const bob: Account = await signUp(server, 'bob');
    const channel = await alice.rest.createChannel({ name: uniqueName('outage') });
    await bob.rest.joinChannel(channel.id);

    const hold = gate();
    const wire = countingWebSocket();
    const c = connectionFor(server, alice, {
      WebSocket: wire.WebSocket,
      ticket: async () => {
        await hold.wait();
        return alice.rest.wsTicket();
      },
    });
    conn = c;
    const got = recordMessages(c);
    const subscribed = recordSubscribed(c);
    const states: string[] = [];
    c.on('state', (s, info) => states.push(info.closeCode === undefined ? s : `${s}:${info.closeCode}`));
    c.subscribe(channel.id, { sinceSeq: 0 });
    c.connect();
    await waitFor('subscribed', () => subscribed.length === 1);
    await bob.rest.sendMessage({ channel_id: channel.id, content: 'before 1' });
    await bob.rest.sendMessage({ channel_id: channel.id, content: 'before 2' });
    await waitFor('live messages', () => got.length === 2);

    hold.close(); // keep the client away until the messages below are written
    await server.stop();
    await waitFor('reconnecting', () => c.state === 'reconnecting');
    expect(states).toContain('reconnecting:1012');
    const queued = c.send(channel.id, 'written while down', { clientMsgId: 'offline-1' });

    await server.restart();
    for (let i = 1; i <= 3; i++) await bob.rest.sendMessage({ channel_id: channel.id, content: `missed ${i}` });
    expect(got).toHaveLength(2);
    hold.open();

    const ack = await queued;
    expect(ack).toMatchObject({ client_msg_id: 'offline-1', channel_id: channel.id, seq: 6 });
    await waitFor('recovered subscription', () => subscribed.length === 2);
    expect(subscribed[1]).toEqual({ channel_id: channel.id, recovered: true });
    await waitFor('all six messages', () => got.length >= 6);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(got.map((m) => m.content)).toEqual(['before 1', 'before 2', 'missed 1', 'missed 2', 'missed 3', 'written while down']);
    expect(got[5]?.message_id).toBe(ack.message_id);
    // since_seq resumed exactly where the first socket stopped: nothing came twice on the wire
    expect(wire.receives()).toBe(6);

    const history = await bob.rest.history(channel.id);
    expect(history.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(history.filter((m) => m.client_msg_id === 'offline-1')).toHaveLength(1);
    expect(c.state).toBe('open');
  });
});

describe('recovered:false when the client is too far behind', () => {
  let server: Server;
  const conns: Connection[] = [];

  beforeAll(async () => {
    // Replay at most 2 missed messages, whatever their age.
    server = await startServer({ WS_REPLAY_MAX_MESSAGES: '2', WS_REPLAY_MAX_AGE_SECONDS: '0' });
  });

  afterAll(async () => {
    for (const c of conns) c.close();
    await server?.dispose();
  });

  it('says recovered:false and replays nothing past the limit, recovered:true within it', async () => {
    const alice = await signUp(server, 'alice');
    const channel = await alice.rest.createChannel({ name: uniqueName('behind') });
    for (let i = 1; i <= 5; i++) await alice.rest.sendMessage({ channel_id: channel.id, content: `m${i}` });

    const far = connectionFor(server, alice);
    const near = connectionFor(server, alice);
    conns.push(far, near);
    const farGot = recordMessages(far);
    const nearGot = recordMessages(near);
    const farSubscribed = recordSubscribed(far);
    const nearSubscribed = recordSubscribed(near);
    far.subscribe(channel.id, { sinceSeq: 0 });
    near.subscribe(channel.id, { sinceSeq: 3 });
    far.connect();
    near.connect();
    await waitFor('both subscribed', () => farSubscribed.length === 1 && nearSubscribed.length === 1);
    expect(farSubscribed).toEqual([{ channel_id: channel.id, recovered: false }]);
    expect(nearSubscribed).toEqual([{ channel_id: channel.id, recovered: true }]);
    await waitFor('near replay', () => nearGot.length === 2);
    expect(nearGot.map((m) => m.seq)).toEqual([4, 5]);

    // Live delivery goes on from now: the next message is the first one `far` sees.
    await alice.rest.sendMessage({ channel_id: channel.id, content: 'live' });
    await waitFor('live message', () => farGot.length === 1 && nearGot.length === 3);
    expect(farGot.map((m) => m.seq)).toEqual([6]);
  });
});

describe('a gateway that accepts TCP but never answers the upgrade', () => {
  it('abandons each stuck handshake after pingIntervalMs and tries again, without crashing Node', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((sock) => accepted.push(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const { port } = silent.address() as { port: number };
    const conn = new Connection({
      url: `ws://127.0.0.1:${port}/ws`,
      ticket: async () => 'unused',
      WebSocket: WS as unknown as typeof globalThis.WebSocket,
      pingIntervalMs: 150,
      backoff: { initialMs: 20, maxMs: 40 },
    });
    const waits: number[] = [];
    conn.on('state', (s, info) => {
      if (s === 'connecting' && info.delayMs !== undefined) waits.push(info.delayMs);
    });
    try {
      conn.connect();
      await waitFor('three abandoned handshakes', () => waits.length >= 3 && accepted.length >= 3, 5000);
      expect(conn.state).toBe('connecting');
    } finally {
      conn.close();
      for (const sock of accepted) sock.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
