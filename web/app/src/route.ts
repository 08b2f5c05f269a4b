import { useEffect, useState } from 'preact/hooks';

/** The open channel from the hash route `#/c/<id>`, or null. */
export function channelFromHash(): string | null {
  const m = /^#\/c\/([^/?#]+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]!) : null;
}

export function channelHref(id: string): string {
  return `#/c/${encodeURIComponent(id)}`;
}

export function openChannel(id: string | null): void {
  location.hash = id ? channelHref(id) : '#/';
}

export function useChannelRoute(): string | null {
  const [id, setId] = useState(channelFromHash);
  useEffect(() => {
    const on = () => setId(channelFromHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return id;
}
