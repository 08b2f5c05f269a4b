import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat } from '../chat/chat';
import type { Row } from '../chat/messages';
import { showError } from '../toast';

interface Props {
  chat: Chat;
  row: Row;
  /** Thread rows have no reply button of their own. */
  onReply?: (row: Row) => void;
  /** Position in the whole (windowed) feed, for assistive technology. */
  position?: { index: number; total: number };
}

// One formatter for all rows: toLocaleTimeString() builds a new one per call, which shows
// when a fast scroll renders dozens of rows per frame.
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function timeOf(iso: string): string {
  return clock.format(new Date(iso));
}

export function MessageRow({ chat, row, onReply, position }: Props) {
  const own = row.user_id === chat.me.id;
  const time = timeOf(row.created_at);
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const editRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (editing) editRef.current?.focus();
  }, [editing]);

  async function save(): Promise<void> {
    const content = editRef.current?.value.trim() ?? '';
    if (!row.id || !content) return;
    setBusy(true);
    try {
      if (content !== row.content) await chat.edit(row.id, content);
      setEditing(false);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  }

  async function remove(): Promise<void> {
    if (!row.id) return;
    setBusy(true);
    try {
      await chat.remove(row.id, row.parent_id);
    } catch (e) {
      showError(e);
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    <article
      class={row.pending ? 'message pending' : 'message'}
      data-testid="message"
      data-message-id={row.id ?? undefined}
      data-seq={row.seq ?? undefined}
      data-pending={row.pending ? 'true' : undefined}
      data-own={String(own)}
      aria-label={`${row.username} at ${time}`}
      aria-posinset={position ? position.index + 1 : undefined}
      aria-setsize={position?.total}
    >
      <div class="message-meta">
        <span class="message-author" data-testid="message-author">
          {row.username}
        </span>
        <time dateTime={row.created_at}>{time}</time>
        {row.is_edited && (
          <span class="muted" data-testid="message-edited">
            (edited)
          </span>
        )}
        {row.pending && (
          <span class="pending-marker" title="Sending…">
            sending…
          </span>
        )}
      </div>
      {editing ? (
        <div class="message-edit">
          <label class="sr-only" for={`edit-${row.key}`}>
            Edit message
          </label>
          <textarea
            id={`edit-${row.key}`}
            ref={editRef}
            data-testid="message-edit-input"
            defaultValue={row.content}
            rows={2}
            maxLength={10000}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                void save();
              } else if (e.key === 'Escape') {
                e.stopPropagation();
                setEditing(false);
              }
            }}
          />
          <div class="row">
            <button type="button" class="primary" data-testid="message-edit-save" disabled={busy} onClick={save}>
              Save
            </button>
            <button type="button" class="subtle" data-testid="message-edit-cancel" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <p class="message-content" data-testid="message-content">
          {row.content}
        </p>
      )}
      {!row.pending && !editing && (
        <div class="message-actions">
          {onReply && (
            <button type="button" class="link" data-testid="message-reply" onClick={() => onReply(row)}>
              {row.reply_count > 0 ? `${row.reply_count} ${row.reply_count === 1 ? 'reply' : 'replies'}` : 'Reply'}
            </button>
          )}
          {own && (
            <button type="button" class="link" data-testid="message-edit" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
          {own &&
            (confirming ? (
              <>
                <button type="button" class="link danger" data-testid="message-delete-confirm" disabled={busy} onClick={remove}>
                  Really delete?
                </button>
                <button type="button" class="link" onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" class="link" data-testid="message-delete" onClick={() => setConfirming(true)}>
                Delete
              </button>
            ))}
        </div>
      )}
    </article>
  );
}
