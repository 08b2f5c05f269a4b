import { describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError } from '../src/errors.js';
import { RestClient } from '../src/rest.js';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function fakeFetch(answer: (c: Call) => Response) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return answer(call);
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('RestClient (fake fetch)', () => {
  it('builds URLs, query strings, headers and bodies', async () => {
    const { fetch, calls } = fakeFetch(() => json(200, []));
    const rest = new RestClient({ baseUrl: 'http://h:1/', token: 'tok', fetch });
    await rest.history('c/1', { limit: 10, before_seq: 5 });
    await rest.searchUsers('a b', 3);
    await rest.listChannels();
    expect(calls.map((c) => c.url)).toEqual([
      'http://h:1/api/v1/messages/channels/c%2F1?limit=10&before_seq=5',
      'http://h:1/api/v1/users/?query=a+b&limit=3',
      'http://h:1/api/v1/channels/',
    ]);
    expect(calls[0]?.headers['Authorization']).toBe('Bearer tok');
    expect(calls[0]?.headers['Content-Type']).toBeUndefined();

    const { fetch: f2, calls: c2 } = fakeFetch(() => new Response(null, { status: 204 }));
    const rest2 = new RestClient({ token: 'tok', fetch: f2 });
    await expect(rest2.markRead('c1', 7)).resolves.toBeUndefined();
    expect(c2[0]).toEqual({
      url: '/api/v1/channels/c1/read',
      method: 'PUT',
      headers: { Accept: 'application/json', Authorization: 'Bearer tok', 'Content-Type': 'application/json' },
      body: { last_read_seq: 7 },
    });
  });

  it('login keeps the token without sending an old one; logout drops it even when the call fails', async () => {
    const { fetch, calls } = fakeFetch((c) =>
      c.url.endsWith('/login') ? json(200, { access_token: 'new', token_type: 'bearer', expires_in: 1800 }) : json(500, { detail: 'Internal server error' }),
    );
    const rest = new RestClient({ token: 'old', fetch });
    await rest.login('ann', 'pw');
    expect(calls[0]?.headers['Authorization']).toBeUndefined();
    expect(rest.token).toBe('new');
    await expect(rest.logout()).rejects.toMatchObject({ status: 500 });
    expect(calls[1]?.headers['Authorization']).toBe('Bearer new');
    expect(rest.token).toBeNull();
  });

  it('turns a 422 list into a readable message and keeps the list as detail', async () => {
    const detail = [
      { type: 'string_too_short', loc: ['body', 'username'], msg: 'String should have at least 3 characters', input: 'a' },
      { type: 'missing', loc: ['body', 'password'], msg: 'Field required' },
    ];
    const { fetch } = fakeFetch(() => json(422, { detail }));
    const err = await new RestClient({ fetch }).register({ username: 'a', email: 'e', password: '' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, detail, message: 'username: String should have at least 3 characters; password: Field required' });
  });

  it('falls back to the status text when the error body is not JSON', async () => {
    const { fetch } = fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const err = await new RestClient({ fetch }).me().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ApiError', status: 502, detail: 'Bad Gateway', message: 'Bad Gateway' });
  });

  it('calls onUnauthorized for a 401 on an authenticated call, not for a failed login', async () => {
    const onUnauthorized = vi.fn();
    const { fetch } = fakeFetch(() => json(401, { detail: 'Could not validate credentials' }));
    const rest = new RestClient({ fetch, onUnauthorized });
    await expect(rest.login('ann', 'bad')).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).not.toHaveBeenCalled();
    rest.token = 'expired';
    await expect(rest.me()).rejects.toMatchObject({ status: 401, message: 'Could not validate credentials' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('wraps a failing fetch in NetworkError', async () => {
    const fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof globalThis.fetch;
    const err = await new RestClient({ fetch, token: 't' }).wsTicket().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).message).toContain('fetch failed');
    expect((err as NetworkError).cause).toBeInstanceOf(TypeError);
  });
});
