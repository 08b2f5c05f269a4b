interface AppConfig {
  gateway_url: string | null;
  gateway_port: number;
}

let cached: Promise<AppConfig> | null = null;

function loadConfig(): Promise<AppConfig> {
  cached ??= fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-cache' }).then(async (r) => {
    if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
    return (await r.json()) as AppConfig;
  });
  // A failed load is retried on the next call (the next reconnect attempt).
  cached.catch(() => {
    cached = null;
  });
  return cached;
}

/** The gateway's WebSocket URL (without the ticket), from /app/config.json. */
export async function gatewayUrl(): Promise<string> {
  const c = await loadConfig();
  if (c.gateway_url) return c.gateway_url;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.hostname}:${c.gateway_port}/ws`;
}
