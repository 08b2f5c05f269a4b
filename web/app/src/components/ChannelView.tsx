import { useEffect, useState } from 'preact/hooks';
import type { Chat, OpenChannel } from '../chat/chat';
import { useModel } from '../chat/emitter';
import { showError } from '../toast';
import { ChannelSigil } from './ChannelSigil';
import { Composer } from './Composer';
import { MemberList } from './MemberList';
import { MessageList } from './MessageList';
import { ThreadView } from './ThreadView';
import { TypingIndicator } from './TypingIndicator';

interface Props {
  chat: Chat;
  open: OpenChannel;
}

export function ChannelView({ chat, open }: Props) {
  useModel(open);
  const [showMembers, setShowMembers] = useState(false);
  const [busy, setBusy] = useState(false);
  const entry = chat.entry(open.id);

  useEffect(() => {
    if (showMembers) void chat.loadMembers(open);
  }, [showMembers]);

  if (!entry) {
    return (
      <p class="center-note" role="status">
        Loading channel…
      </p>
    );
  }
  const c = entry.channel;
  const canAdd = c.is_private && (entry.role === 'owner' || entry.role === 'admin');

  async function act(fn: () => Promise<void>): Promise<void> {
    setBusy(true);
    try {
      await fn();
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="channel-view" data-testid="channel-view" data-channel-id={open.id} aria-labelledby="channel-title">
      <header class="channel-head">
        <div class="channel-title">
          <h1 id="channel-title">
            <ChannelSigil isPrivate={c.is_private} />
            <span class="sr-only">{c.is_private ? 'Private channel ' : 'Channel '}</span>
            {c.name}
          </h1>
          {c.description && <p class="muted channel-desc">{c.description}</p>}
        </div>
        <div class="row">
          {!entry.member && !c.is_private && (
            <button type="button" class="primary" data-testid="join-channel" disabled={busy} onClick={() => act(() => chat.join(open.id))}>
              Join
            </button>
          )}
          {entry.member && (
            <button type="button" class="subtle" data-testid="leave-channel" disabled={busy} onClick={() => act(() => chat.leave(open.id))}>
              Leave
            </button>
          )}
          <button
            type="button"
            class="subtle"
            data-testid="members-toggle"
            aria-expanded={showMembers}
            aria-controls="member-panel"
            onClick={() => setShowMembers(!showMembers)}
          >
            Members{open.members ? ` (${open.members.length})` : ''}
          </button>
        </div>
      </header>
      <div class="channel-body">
        <div class="channel-main">
          <MessageList chat={chat} open={open} channelName={c.name} onReply={(r) => r.id && chat.openThread(r.id)} />
          <TypingIndicator typing={open.typing} />
          {entry.member ? (
            <Composer chat={chat} store={open.store} label={`Message #${c.name}`} testId="composer" sendTestId="send" />
          ) : (
            <p class="composer-note muted">Join #{c.name} to post messages.</p>
          )}
        </div>
        {showMembers && <MemberList chat={chat} open={open} canAdd={canAdd} onClose={() => setShowMembers(false)} />}
        {open.thread && <ThreadView chat={chat} open={open} thread={open.thread} onClose={() => chat.openThread(null)} />}
      </div>
    </section>
  );
}
