import { useEffect, useState } from 'preact/hooks';
import type { Chat } from '../chat/chat';

function text(chat: Chat, now: number): string {
  switch (chat.connState) {
    case 'idle':
      return 'Not connected yet…';
    case 'connecting':
      return 'Connecting…';
    case 'reconnecting': {
      const at = chat.connInfo.retryAt;
      if (at === undefined || at <= now) return 'Reconnecting…';
      return `Connection lost. Reconnecting in ${Math.ceil((at - now) / 1000)} s…`;
    }
    case 'closed':
      return 'Disconnected.';
    case 'open':
      return '';
  }
}

/** Shown while the WebSocket is not open, with a countdown to the next attempt. */
export function ConnBanner({ chat }: { chat: Chat }) {
  const [now, setNow] = useState(Date.now());
  const counting = chat.connState === 'reconnecting';
  useEffect(() => {
    if (!counting) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [counting, chat.connInfo]);
  const open = chat.connState === 'open';
  return (
    <div class="conn-banner" role="status" data-testid="conn-banner" hidden={open}>
      {open ? '' : text(chat, now)}
    </div>
  );
}
