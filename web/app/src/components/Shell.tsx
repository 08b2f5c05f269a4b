import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat } from '../chat/chat';
import { useModel } from '../chat/emitter';
import { useChannelRoute } from '../route';
import { ChannelView } from './ChannelView';
import { ConnBanner } from './ConnBanner';
import { NotificationBell } from './NotificationBell';
import { Sidebar } from './Sidebar';
import { ThemeToggle } from './ThemeToggle';

interface Props {
  chat: Chat;
  onLogout: () => void;
}

export function Shell({ chat, onLogout }: Props) {
  useModel(chat);
  const route = useChannelRoute();
  const [drawer, setDrawer] = useState(false);
  const toggleRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    void chat.select(route);
    setDrawer(false);
  }, [chat, route]);

  useEffect(() => {
    if (!drawer) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setDrawer(false);
      toggleRef.current?.focus();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [drawer]);

  return (
    <div class={drawer ? 'shell drawer-open' : 'shell'}>
      <header class="topbar">
        <button
          ref={toggleRef}
          type="button"
          class="icon-button sidebar-toggle"
          data-testid="sidebar-toggle"
          aria-label="Channels"
          aria-expanded={drawer}
          aria-controls="sidebar"
          onClick={() => setDrawer(!drawer)}
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M4 6h16M4 12h16M4 18h16" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
          </svg>
        </button>
        <span class="brand">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={24} height={24} />
          Signalink
        </span>
        <span class="spacer" />
        <NotificationBell chat={chat} />
        <ThemeToggle />
        <span class="me" data-testid="me" title={chat.me.email}>
          {chat.me.username}
        </span>
        <button type="button" class="subtle" data-testid="logout" onClick={onLogout}>
          Log out
        </button>
      </header>
      <ConnBanner chat={chat} />
      <div class="body">
        <nav id="sidebar" class="sidebar" aria-label="Channels">
          <Sidebar chat={chat} openId={route} />
        </nav>
        {drawer && <div class="backdrop" onClick={() => setDrawer(false)} />}
        <main class="view" aria-label={chat.open ? `#${chat.entry(chat.open.id)?.channel.name ?? ''}` : 'Welcome'}>
          {chat.open ? (
            <ChannelView key={chat.open.id} chat={chat} open={chat.open} />
          ) : (
            <div class="center-note">
              <h1>Welcome, {chat.me.full_name || chat.me.username}</h1>
              <p>Pick a channel, or create one.</p>
            </div>
          )}
        </main>
      </div>
    </div>
  );
}
