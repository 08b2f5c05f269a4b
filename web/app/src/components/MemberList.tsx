import { useState } from 'preact/hooks';
import type { Chat, OpenChannel } from '../chat/chat';
import { showError } from '../toast';

interface Props {
  chat: Chat;
  open: OpenChannel;
  canAdd: boolean;
  onClose: () => void;
}

export function MemberList({ chat, open, canAdd, onClose }: Props) {
  const [busy, setBusy] = useState(false);
  const members = open.members ?? [];

  async function add(ev: Event): Promise<void> {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const username = String(new FormData(form).get('member_username') ?? '').trim();
    if (!username) return;
    setBusy(true);
    try {
      await chat.addMember(open.id, username);
      form.reset();
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <aside
      id="member-panel"
      class="side-panel"
      aria-label="Members"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <div class="panel-head">
        <h2>Members ({members.length})</h2>
        <button type="button" class="icon-button" aria-label="Close members" onClick={onClose}>
          ×
        </button>
      </div>
      <ul class="member-list" data-testid="member-list">
        {members.map((m) => {
          const online = chat.presence.get(m.user_id) === 'online' || (m.user_id === chat.me.id && chat.connState === 'open');
          const presence = online ? 'online' : 'offline';
          return (
            <li
              key={m.user_id}
              class="member-item"
              data-testid="member-item"
              data-user-id={m.user_id}
              data-username={m.user.username}
              data-presence={presence}
            >
              <span class={`presence-dot ${presence}`} role="img" aria-label={presence} />
              <span class="member-name">{m.user.username}</span>
              {m.role !== 'member' && <span class="muted">{m.role}</span>}
            </li>
          );
        })}
      </ul>
      {canAdd && (
        <form class="add-member" data-testid="add-member" aria-label="Add a member" onSubmit={add}>
          <label>
            Add by username
            <input name="member_username" autocomplete="off" required />
          </label>
          <button type="submit" class="primary" data-testid="add-member-submit" disabled={busy}>
            Add
          </button>
        </form>
      )}
    </aside>
  );
}
