import type { Notification } from '@signalink/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat } from '../chat/chat';
import { useModel } from '../chat/emitter';
import { openChannel } from '../route';
import { showError } from '../toast';

const KIND: Record<Notification['type'], string> = {
  dm: 'Direct message',
  mention: 'Mention',
  reply: 'Reply',
  channel: 'Channel',
};

export function NotificationBell({ chat }: { chat: Chat }) {
  const n = chat.notifications;
  useModel(n);
  const [open, setOpen] = useState(false);
  const bellRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    panelRef.current?.querySelector<HTMLElement>('button')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      bellRef.current?.focus();
    };
    const onDown = (e: MouseEvent) => {
      const t = e.target as Node;
      if (!panelRef.current?.contains(t) && !bellRef.current?.contains(t)) setOpen(false);
    };
    addEventListener('keydown', onKey);
    addEventListener('mousedown', onDown);
    return () => {
      removeEventListener('keydown', onKey);
      removeEventListener('mousedown', onDown);
    };
  }, [open]);

  if (!n.available) return null;

  function pick(item: Notification): void {
    setOpen(false);
    openChannel(item.channel_id);
    n.read(item.id).catch(showError);
  }

  return (
    <div class="notif">
      <button
        ref={bellRef}
        type="button"
        class="icon-button"
        data-testid="notif-bell"
        aria-label={n.unread > 0 ? `Notifications, ${n.unread} unread` : 'Notifications'}
        aria-expanded={open}
        aria-controls="notif-panel"
        onClick={() => setOpen(!open)}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path
            d="M12 3a6 6 0 0 0-6 6v4l-2 3h16l-2-3V9a6 6 0 0 0-6-6zm-2 15a2 2 0 0 0 4 0"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linejoin="round"
          />
        </svg>
        {n.unread > 0 && (
          <span class="badge bell-badge" data-testid="notif-count">
            {n.unread}
          </span>
        )}
      </button>
      {open && (
        <div ref={panelRef} id="notif-panel" class="notif-panel" data-testid="notif-panel" role="region" aria-label="Notifications">
          <div class="panel-head">
            <h2>Notifications</h2>
            <button
              type="button"
              class="subtle"
              data-testid="notif-read-all"
              disabled={n.unread === 0}
              onClick={() => n.readAll().catch(showError)}
            >
              Mark all read
            </button>
          </div>
          {n.items.length === 0 && <p class="muted pad">Nothing yet.</p>}
          <ul>
            {n.items.map((item) => {
              const channel = chat.entry(item.channel_id)?.channel.name;
              return (
                <li key={item.id}>
                  <button
                    type="button"
                    class={item.is_read ? 'notif-item' : 'notif-item unread'}
                    data-testid="notif-item"
                    data-notification-id={item.id}
                    data-read={String(item.is_read)}
                    onClick={() => pick(item)}
                  >
                    <span class="notif-kind">
                      {KIND[item.type] ?? item.type}
                      {channel ? ` in #${channel}` : ''}
                      {item.count > 1 ? ` (${item.count})` : ''}
                      {item.is_read ? '' : <span class="sr-only">, unread</span>}
                    </span>
                    <span class="notif-text">{item.text}</span>
                    <time dateTime={item.updated_at}>{new Date(item.updated_at).toLocaleString()}</time>
                  </button>
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </div>
  );
}
