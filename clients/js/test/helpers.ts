// Shared pieces of the integration tests: users, connections over `ws`, and
// waiting for something to happen without fixed sleeps.
import WS from 'ws';
import { Connection } from '../src/connection.js';
import type { ConnectionOptions } from '../src/connection.js';
import { RestClient } from '../src/rest.js';
import type { User } from '../src/types.js';
import type { Server } from './server.js';

let counter = 0;

/** A name no other test uses: usernames and channel names are unique server-wide. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}${Math.random().toString(36).slice(2, 7)}`;
}

export interface Account {
  rest: RestClient;
  user: User;
}

export async function signUp(server: Server, prefix = 'user'): Promise<Account> {
  const rest = new RestClient({ baseUrl: server.apiUrl });
  const username = uniqueName(prefix);
  const user = await rest.register({ username, email: `${username}@example.test`, password: 'correct-horse-1' });
  await rest.login(username, 'correct-horse-1');
  return { rest, user };
}

export function connectionFor(server: Server, account: Account, over: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({
    url: server.wsUrl,
    ticket: () => account.rest.wsTicket(),
    WebSocket: WS as unknown as typeof globalThis.WebSocket,
    backoff: { initialMs: 100, maxMs: 400 },
    ...over,
  });
}

/** Polls until check() returns a value other than undefined/false. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Gate {
  wait(): Promise<void>;
  close(): void;
  open(): void;
}

/** A latch a test opens and closes to hold a connection back between attempts. */
export function gate(): Gate {
  let release: (() => void) | null = null;
  let current: Promise<void> = Promise.resolve();
  return {
    wait: () => current,
    close: () => {
      if (release) return;
      current = new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    open: () => {
      release?.();
      release = null;
    },
  };
}

/** The `ws` WebSocket, counting the message.receive frames that arrive on the wire, below any Connection. */
export function countingWebSocket(): { WebSocket: typeof globalThis.WebSocket; receives: () => number } {
  let receives = 0;
  class CountingWS extends WS {
    constructor(url: string) {
      super(url);
      this.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === 'message.receive') receives += 1;
      });
    }
  }
  return { WebSocket: CountingWS as unknown as typeof globalThis.WebSocket, receives: () => receives };
}
