import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../src/connection.js';
import type { ConnectionOptions, ConnectionState, StateInfo } from '../src/connection.js';
import { ApiError, NetworkError, ServerError } from '../src/errors.js';
import type { WsMessage } from '../src/types.js';
import { FakeSocket, FakeWebSocket, receiveFrame } from './fake-socket.js';

// Lets the awaited ticket (a promise) settle without moving the clock.
const flush = (): Promise<void> => vi.advanceTimersByTimeAsync(0).then(() => undefined);
const advance = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

function setup(over: Partial<ConnectionOptions> = {}) {
  let issued = 0;
  const ticket = vi.fn(async () => `t${++issued}`);
  const conn = new Connection({ url: 'ws://gw/ws', ticket, WebSocket: FakeWebSocket, random: () => 0, pingIntervalMs: 60_000, ...over });
  const states: Array<[ConnectionState, StateInfo]> = [];
  conn.on('state', (s, info) => states.push([s, info]));
  const messages: WsMessage[] = [];
  conn.on('message', (m) => messages.push(m));
  return { conn, ticket, states, messages };
}

/** Waits for the connection's next socket and opens it. */
async function openNext(): Promise<FakeSocket> {
  await flush();
  const s = FakeSocket.last();
  s.open();
  return s;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Connection: connecting', () => {
  it('opens with a fresh ticket in the URL and reports connecting, then open', async () => {
    const { conn, ticket, states } = setup();
    expect(conn.state).toBe('idle');
    conn.connect();
    conn.connect();
    expect(conn.state).toBe('connecting');
    const s = await openNext();
    expect(FakeSocket.instances).toHaveLength(1);
    expect(ticket).toHaveBeenCalledTimes(1);
    expect(s.url).toBe('ws://gw/ws?ticket=t1');
    expect(conn.state).toBe('open');
    expect(states).toEqual([
      ['connecting', { attempt: 1 }],
      ['open', { attempt: 1 }],
    ]);
  });

  it('takes the URL from a function and encodes the ticket', async () => {
    const { conn } = setup({ url: async () => 'ws://gw/ws?v=1', ticket: async () => 'a+b/c=' });
    conn.connect();
    await flush();
    expect(FakeSocket.last().url).toBe('ws://gw/ws?v=1&ticket=a%2Bb%2Fc%3D');
  });

  it('reconnects after a drop with a new ticket once the jittered delay has passed', async () => {
    const { conn, ticket, states } = setup({ random: () => 0.5 });
    conn.connect();
    await openNext();
    FakeSocket.last().drop(1012);
    // attempt 1: cap 500, equal jitter with 0.5 -> 250 + 125
    expect(states.at(-1)).toEqual(['reconnecting', { attempt: 1, delayMs: 375, closeCode: 1012 }]);
    await advance(374);
    expect(FakeSocket.instances).toHaveLength(1);
    await advance(1);
    expect(ticket).toHaveBeenCalledTimes(2);
    expect(FakeSocket.last().url).toBe('ws://gw/ws?ticket=t2');
    expect(conn.state).toBe('reconnecting');

    FakeSocket.last().drop(1006); // fails before opening: the next wait doubles
    expect(states.at(-1)).toEqual(['reconnecting', { attempt: 2, delayMs: 750, closeCode: 1006 }]);
    await advance(750);
    const s3 = await openNext();
    expect(s3.url).toBe('ws://gw/ws?ticket=t3');
    expect(states.at(-1)).toEqual(['open', { attempt: 2 }]);

    s3.drop(4008); // an open socket resets the backoff
    expect(states.at(-1)).toEqual(['reconnecting', { attempt: 1, delayMs: 375, closeCode: 4008 }]);
  });

  it('fetches a new ticket after close codes 4001 (session) and 4008 (slow consumer)', async () => {
    const { conn, ticket, states } = setup();
    conn.connect();
    await openNext();
    for (const code of [4001, 4008]) {
      FakeSocket.last().drop(code);
      expect(states.at(-1)?.[1].closeCode).toBe(code);
      await advance(250);
      await openNext();
      expect(conn.state).toBe('open');
    }
    expect(ticket).toHaveBeenCalledTimes(3);
    expect(FakeSocket.instances.map((s) => s.url)).toEqual(['ws://gw/ws?ticket=t1', 'ws://gw/ws?ticket=t2', 'ws://gw/ws?ticket=t3']);
  });

  it('backs off and retries when the ticket request fails with a NetworkError', async () => {
    let calls = 0;
    const ticket = vi.fn(async () => {
      calls += 1;
      if (calls <= 2) throw new NetworkError('connection refused');
      return 'ok';
    });
    const { conn, states } = setup({ ticket });
    conn.connect();
    await flush();
    expect(FakeSocket.instances).toHaveLength(0);
    expect(states.at(-1)).toEqual(['connecting', { attempt: 2, delayMs: 250 }]);
    await advance(250);
    expect(states.at(-1)).toEqual(['connecting', { attempt: 3, delayMs: 500 }]);
    await advance(499);
    expect(ticket).toHaveBeenCalledTimes(2);
    await advance(1);
    const s = await openNext();
    expect(s.url).toBe('ws://gw/ws?ticket=ok');
    expect(states.at(-1)).toEqual(['open', { attempt: 3 }]);
  });

  it('closes for good when the ticket request is refused with 401, rejecting queued sends', async () => {
    let refuse = false;
    const ticket = vi.fn(async () => {
      if (refuse) throw new ApiError(401, 'Could not validate credentials');
      return 'ok';
    });
    const { conn, states } = setup({ ticket });
    const errors: ServerError[] = [];
    conn.on('error', (e) => errors.push(e));
    conn.connect();
    await openNext();
    refuse = true;
    FakeSocket.last().drop(4001);
    const sent = conn.send('c', 'queued while down').catch((e: unknown) => e);
    await advance(250);
    expect(conn.state).toBe('closed');
    expect(states.at(-1)).toEqual(['closed', { attempt: 1, reason: 'unauthorized' }]);
    expect(errors.map((e) => e.code)).toEqual(['unauthorized']);
    expect(await sent).toMatchObject({ name: 'ServerError', code: 'unauthorized' });
    await advance(120_000);
    expect(ticket).toHaveBeenCalledTimes(2);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('retries (does not give up) when the ticket request fails with a 503', async () => {
    let calls = 0;
    const ticket = vi.fn(async () => {
      calls += 1;
      if (calls === 1) throw new ApiError(503, 'degraded');
      return 'ok';
    });
    const { conn } = setup({ ticket });
    conn.connect();
    await flush();
    expect(conn.state).toBe('connecting');
    await advance(250);
    await openNext();
    expect(conn.state).toBe('open');
  });

  it('pings every interval and reconnects when nothing answers', async () => {
    const { conn } = setup({ pingIntervalMs: 1000 });
    conn.connect();
    const s = await openNext();
    await advance(1000);
    expect(s.sentOfType('ping')).toHaveLength(1);
    s.receive({ type: 'pong' });
    await advance(1000);
    expect(s.sentOfType('ping')).toHaveLength(2);
    expect(conn.state).toBe('open');
    await advance(1000); // second ping unanswered
    expect(s.closedWith).toBe(1000);
    expect(conn.state).toBe('reconnecting');
    await advance(250);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it('gives up on an opening handshake that does not finish within pingIntervalMs', async () => {
    const { conn } = setup({ pingIntervalMs: 2000 });
    conn.connect();
    await flush();
    const stuck = FakeSocket.last();
    await advance(1999);
    expect(stuck.closedWith).toBeUndefined();
    await advance(1);
    expect(stuck.closedWith).toBe(1000);
    expect(conn.state).toBe('connecting');
    await advance(250);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it('close() is final: no reconnect, pending sends rejected, later sends rejected', async () => {
    const { conn, states } = setup();
    conn.connect();
    const s = await openNext();
    const pending = conn.send('c', 'never acked');
    conn.close();
    expect(s.closedWith).toBe(1000);
    expect(states.at(-1)?.[0]).toBe('closed');
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    await expect(conn.send('c', 'after close')).rejects.toBeInstanceOf(ServerError);
    conn.connect();
    await advance(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(conn.state).toBe('closed');
  });
});

describe('Connection: subscriptions and recovery', () => {
  it('resubscribes after a reconnect with since_seq = the last seq seen per channel', async () => {
    const { conn } = setup();
    conn.subscribe('a', { sinceSeq: 5, presence: true });
    conn.subscribe('b');
    conn.subscribe('c', { sinceSeq: 2 });
    conn.connect();
    const s1 = await openNext();
    expect(s1.sentOfType('channel.subscribe')).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 5, presence: true },
      { type: 'channel.subscribe', channel_id: 'b' },
      { type: 'channel.subscribe', channel_id: 'c', since_seq: 2 },
    ]);
    s1.receive(receiveFrame('a', 6));
    s1.receive(receiveFrame('a', 7));
    s1.receive(receiveFrame('b', 3));
    expect(conn.lastSeq('a')).toBe(7);
    expect(conn.lastSeq('b')).toBe(3);
    expect(conn.lastSeq('c')).toBeUndefined();
    s1.drop();
    conn.unsubscribe('c');
    await advance(250);
    const s2 = await openNext();
    expect(s2.sentOfType('channel.subscribe')).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 7, presence: true },
      { type: 'channel.subscribe', channel_id: 'b', since_seq: 3 },
    ]);
    expect(s2.sentOfType('channel.unsubscribe')).toEqual([]);
  });

  it('sends viewing:false for a background subscription, across reconnects, until resubscribed as viewing', async () => {
    const { conn } = setup();
    conn.subscribe('a', { sinceSeq: 4, viewing: false });
    conn.subscribe('b', { viewing: true });
    conn.connect();
    const s1 = await openNext();
    expect(s1.sentOfType('channel.subscribe')).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 4, viewing: false },
      { type: 'channel.subscribe', channel_id: 'b' },
    ]);
    s1.receive(receiveFrame('a', 5));
    s1.drop();
    await advance(250);
    const s2 = await openNext();
    expect(s2.sentOfType('channel.subscribe')).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 5, viewing: false },
      { type: 'channel.subscribe', channel_id: 'b' },
    ]);
    // Switching to viewing re-sends from the last seq seen: nothing missed, nothing twice.
    conn.subscribe('a', { presence: true });
    conn.subscribe('b', { viewing: false });
    expect(s2.sentOfType('channel.subscribe').slice(2)).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 5, presence: true },
      { type: 'channel.subscribe', channel_id: 'b', viewing: false },
    ]);
    s2.drop();
    await advance(250);
    const s3 = await openNext();
    expect(s3.sentOfType('channel.subscribe')).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 5, presence: true },
      { type: 'channel.subscribe', channel_id: 'b', viewing: false },
    ]);
  });

  it('keeps the sinceSeq given earlier when a channel is subscribed again without one', async () => {
    const { conn } = setup();
    conn.connect();
    const s = await openNext();
    conn.subscribe('a', { sinceSeq: 9, viewing: false });
    conn.subscribe('a');
    expect(s.sentOfType('channel.subscribe')).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 9, viewing: false },
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 9 },
    ]);
  });

  it('subscribes and unsubscribes at once while open', async () => {
    const { conn } = setup();
    conn.connect();
    const s = await openNext();
    conn.subscribe('a', { sinceSeq: 0 });
    conn.unsubscribe('a');
    conn.unsubscribe('never-subscribed');
    expect(s.sent).toEqual([
      { type: 'channel.subscribe', channel_id: 'a', since_seq: 0 },
      { type: 'channel.unsubscribe', channel_id: 'a' },
    ]);
  });

  it('reports recovered from the success frame of each subscribe', async () => {
    const { conn } = setup();
    const events: Array<{ channel_id: string; recovered: boolean | undefined }> = [];
    conn.on('subscribed', (e) => events.push(e));
    conn.connect();
    const s = await openNext();
    s.receive({ type: 'success', message: 'Subscribed to channel a', data: { channel_id: 'a', recovered: true } });
    s.receive({ type: 'success', message: 'Subscribed to channel b', data: { channel_id: 'b', recovered: false } });
    s.receive({ type: 'success', message: 'Subscribed to channel c', data: { channel_id: 'c' } });
    s.receive({ type: 'success', message: 'Unsubscribed from channel c', data: { channel_id: 'c' } });
    expect(events).toEqual([
      { channel_id: 'a', recovered: true },
      { channel_id: 'b', recovered: false },
      { channel_id: 'c', recovered: undefined },
    ]);
  });

  it('emits each message_id once, across replays and reconnects', async () => {
    const { conn, messages } = setup();
    conn.subscribe('a', { sinceSeq: 0 });
    conn.connect();
    const s1 = await openNext();
    s1.receive(receiveFrame('a', 1));
    s1.receive(receiveFrame('a', 2));
    s1.receive(receiveFrame('a', 1));
    s1.drop();
    await advance(250);
    const s2 = await openNext();
    s2.receive(receiveFrame('a', 2));
    s2.receive(receiveFrame('a', 3));
    s2.receive(receiveFrame('a', 3));
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(messages[0]).toEqual({
      message_id: 'm-a-1',
      channel_id: 'a',
      user_id: 'u1',
      username: 'ann',
      content: 'message 1',
      message_type: 'text',
      metadata: null,
      created_at: '2026-11-29T10:00:00.000000Z',
      seq: 1,
      parent_id: null,
      client_msg_id: null,
    });
  });

  it('forgets a subscription the server ended (channel.unsubscribed) and reports it', async () => {
    const { conn } = setup();
    const membership: Array<Record<string, unknown>> = [];
    conn.on('membership', (e) => membership.push(e));
    conn.subscribe('a');
    conn.subscribe('b');
    conn.connect();
    const s1 = await openNext();
    s1.receive({ type: 'channel.unsubscribed', channel_id: 'a', reason: 'removed' });
    expect(membership).toEqual([expect.objectContaining({ type: 'channel.unsubscribed', channel_id: 'a', reason: 'removed' })]);
    s1.drop();
    await advance(250);
    const s2 = await openNext();
    expect(s2.sentOfType('channel.subscribe').map((f) => f['channel_id'])).toEqual(['b']);
  });

  it('reports channel.joined as joined, without subscribing', async () => {
    const { conn } = setup();
    const joined: Array<{ channel_id: string }> = [];
    conn.on('joined', (e) => joined.push(e));
    conn.connect();
    const s = await openNext();
    s.receive({ type: 'channel.joined', channel_id: 'p' });
    expect(joined).toEqual([{ channel_id: 'p' }]);
    expect(s.sentOfType('channel.subscribe')).toEqual([]);
  });

  it('passes updated, deleted, typing, presence and notification frames to their events', async () => {
    const { conn } = setup();
    const seen: string[] = [];
    conn.on('updated', (m) => seen.push(`updated ${m.message_id} ${m.content}`));
    conn.on('deleted', (m) => seen.push(`deleted ${m.message_id}`));
    conn.on('typing', (e) => seen.push(`typing ${e.channel_id} ${e.username} ${e.is_typing}`));
    conn.on('presence', (e) => seen.push(`presence ${e.user_id} ${e.status} ${e.channel_id ?? '-'}`));
    conn.on('notification', (n) => seen.push(`notification ${n.id} ${n.type}`));
    conn.on('error', (e) => seen.push(`error ${e.code} ${e.message}`));
    conn.connect();
    const s = await openNext();
    s.receive(receiveFrame('a', 4, { type: 'message.updated', content: 'edited' }));
    s.receive(receiveFrame('a', 4, { type: 'message.deleted' }));
    s.receive({ type: 'typing.indicator', channel_id: 'a', user_id: 'u2', username: 'bob', is_typing: true });
    s.receive({ type: 'presence.update', user_id: 'u2', status: 'online' });
    s.receive({ type: 'notification.new', notification: { id: 'n1', type: 'mention', channel_id: 'a' } });
    s.receive({ type: 'error', error: 'Channel not found', code: 'not_found' });
    s.receive({ type: 'pong' });
    s.receive({ type: 'from.the.future' });
    s.onmessage?.({ data: 'not json' });
    expect(seen).toEqual([
      'updated m-a-4 edited',
      'deleted m-a-4',
      'typing a bob true',
      'presence u2 online -',
      'notification n1 mention',
      'error not_found Channel not found',
    ]);
  });

  it('sends typing only while open', async () => {
    const { conn } = setup();
    conn.typing('a', true);
    conn.connect();
    const s = await openNext();
    conn.typing('a', true);
    conn.typing('a', false);
    s.drop();
    conn.typing('a', true);
    await advance(250);
    const s2 = await openNext();
    expect(s.sent).toEqual([
      { type: 'typing.start', channel_id: 'a' },
      { type: 'typing.stop', channel_id: 'a' },
    ]);
    expect(s2.sent).toEqual([]);
  });
});

describe('Connection: the send queue', () => {
  it('queues sends while not open and sends them on open, with a generated client_msg_id', async () => {
    const { conn } = setup();
    const p = conn.send('a', 'hello', { parentId: 'p1' });
    conn.connect();
    await flush();
    expect(FakeSocket.last().sent).toEqual([]);
    const s = await openNext();
    const [frame] = s.sentOfType('message.send');
    expect(frame).toEqual({
      type: 'message.send',
      channel_id: 'a',
      content: 'hello',
      client_msg_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      parent_id: 'p1',
    });
    s.receive({ type: 'message.ack', client_msg_id: frame?.['client_msg_id'], message_id: 'm9', channel_id: 'a', seq: 9 });
    await expect(p).resolves.toEqual({ client_msg_id: frame?.['client_msg_id'], message_id: 'm9', channel_id: 'a', seq: 9 });
  });

  it('re-sends unacknowledged sends after a reconnect with the same client_msg_id, in order, until acked', async () => {
    const { conn } = setup();
    conn.subscribe('a');
    conn.connect();
    const s1 = await openNext();
    const p1 = conn.send('a', 'one', { clientMsgId: 'c1' });
    const p2 = conn.send('a', 'two', { clientMsgId: 'c2' });
    expect(conn.send('a', 'one again', { clientMsgId: 'c1' })).toBe(p1);
    expect(s1.sentOfType('message.send').map((f) => f['client_msg_id'])).toEqual(['c1', 'c2']);
    s1.receive({ type: 'message.ack', client_msg_id: 'c1', message_id: 'm1', channel_id: 'a', seq: 1 });
    await expect(p1).resolves.toMatchObject({ message_id: 'm1', seq: 1 });
    s1.drop();
    await advance(250);
    const s2 = await openNext();
    // the resubscribe goes first, then the one still waiting for its ack
    expect(s2.sent.map((f) => f['type'])).toEqual(['channel.subscribe', 'message.send']);
    expect(s2.sentOfType('message.send')).toEqual([{ type: 'message.send', channel_id: 'a', content: 'two', client_msg_id: 'c2' }]);
    s2.receive({ type: 'message.ack', client_msg_id: 'c2', message_id: 'm2', channel_id: 'a', seq: 2 });
    await expect(p2).resolves.toEqual({ client_msg_id: 'c2', message_id: 'm2', channel_id: 'a', seq: 2 });
    s2.drop();
    await advance(250);
    const s3 = await openNext();
    expect(s3.sentOfType('message.send')).toEqual([]);
  });

  it('rejects only the send an error frame names', async () => {
    const { conn } = setup();
    const errors: ServerError[] = [];
    conn.on('error', (e) => errors.push(e));
    conn.connect();
    const s = await openNext();
    const p1 = conn.send('a', 'x', { clientMsgId: 'c1' });
    const p2 = conn.send('a', 'y', { clientMsgId: 'c2' });
    s.receive({ type: 'error', error: 'You must be a member', code: 'forbidden', client_msg_id: 'c1' });
    await expect(p1).rejects.toMatchObject({ name: 'ServerError', code: 'forbidden', message: 'You must be a member', clientMsgId: 'c1' });
    s.receive({ type: 'message.ack', client_msg_id: 'c2', message_id: 'm2', channel_id: 'a', seq: 2 });
    await expect(p2).resolves.toMatchObject({ message_id: 'm2' });
    expect(errors).toEqual([]);
  });

  it('rejects a send with code timeout after sendTimeoutMs', async () => {
    const { conn } = setup({ sendTimeoutMs: 5000 });
    const p = conn.send('a', 'x', { clientMsgId: 'c1' });
    const outcome = p.then(
      () => 'resolved',
      (e: ServerError) => e.code,
    );
    await advance(5000);
    await expect(outcome).resolves.toBe('timeout');
    conn.connect();
    const s = await openNext();
    expect(s.sentOfType('message.send')).toEqual([]);
  });
});
