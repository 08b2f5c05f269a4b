// A scriptable stand-in for the browser WebSocket: records what the client
// sends and lets a test open, feed and drop it.
export class FakeSocket {
  static instances: FakeSocket[] = [];

  readonly url: string;
  readyState = 0;
  readonly sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(url: string) {
    this.url = url;
    FakeSocket.instances.push(this);
  }

  static reset(): void {
    FakeSocket.instances = [];
  }

  static last(): FakeSocket {
    const s = FakeSocket.instances.at(-1);
    if (!s) throw new Error('no socket was opened');
    return s;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number): void {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }

  // Test controls.
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify({ timestamp: '2026-11-29T10:00:00.000000Z', ...frame }) });
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  sentOfType(type: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f['type'] === type);
  }
}

/** The fake, typed as the constructor the Connection expects. */
export const FakeWebSocket = FakeSocket as unknown as typeof globalThis.WebSocket;

export function receiveFrame(channelId: string, seq: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'message.receive',
    message_id: `m-${channelId}-${seq}`,
    channel_id: channelId,
    user_id: 'u1',
    username: 'ann',
    content: `message ${seq}`,
    message_type: 'text',
    metadata: null,
    created_at: '2026-11-29T10:00:00.000000Z',
    seq,
    parent_id: null,
    client_msg_id: null,
    ...extra,
  };
}
