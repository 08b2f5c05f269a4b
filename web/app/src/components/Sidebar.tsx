import { useState } from 'preact/hooks';
import type { Chat, ChannelEntry } from '../chat/chat';
import { channelHref } from '../route';
import { ChannelForm } from './ChannelForm';
import { ChannelSigil } from './ChannelSigil';

interface Props {
  chat: Chat;
  openId: string | null;
}

function itemLabel(e: ChannelEntry): string {
  const parts = [`${e.channel.is_private ? 'private channel' : 'channel'} ${e.channel.name}`];
  if (!e.member) parts.push('not joined');
  if (e.unread > 0) parts.push(`${e.unread} unread`);
  return parts.join(', ');
}

export function Sidebar({ chat, openId }: Props) {
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div class="sidebar-head">
        <h2 id="channels-title">Channels</h2>
        <button
          type="button"
          class="subtle"
          data-testid="new-channel"
          aria-expanded={creating}
          aria-controls="channel-form"
          onClick={() => setCreating(!creating)}
        >
          + New
        </button>
      </div>
      {creating && <ChannelForm chat={chat} onDone={() => setCreating(false)} />}
      {!chat.channelsLoaded && (
        <p class="muted pad" role="status">
          Loading channels…
        </p>
      )}
      <ul class="channel-list" data-testid="channel-list" aria-labelledby="channels-title">
        {chat.entries.map((e) => (
          <li key={e.channel.id}>
            <a
              href={channelHref(e.channel.id)}
              class={e.member ? 'channel-item' : 'channel-item not-member'}
              data-testid="channel-item"
              data-channel-id={e.channel.id}
              data-channel-name={e.channel.name}
              data-member={String(e.member)}
              aria-current={openId === e.channel.id ? 'page' : undefined}
              aria-label={itemLabel(e)}
            >
              <ChannelSigil isPrivate={e.channel.is_private} />
              <span class="channel-name">{e.channel.name}</span>
              {e.member && e.unread > 0 && (
                <span class="badge" data-testid="unread">
                  {e.unread}
                </span>
              )}
            </a>
          </li>
        ))}
      </ul>
    </>
  );
}
