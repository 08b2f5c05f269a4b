import { useEffect, useRef } from 'preact/hooks';
import type { Chat, OpenChannel } from '../chat/chat';
import { useModel } from '../chat/emitter';
import type { MessageStore } from '../chat/messages';
import { Composer } from './Composer';
import { MessageRow } from './MessageRow';

interface Props {
  chat: Chat;
  open: OpenChannel;
  thread: MessageStore;
  onClose: () => void;
}

/** A thread's replies under their parent (threads are short, so this list is not windowed). */
export function ThreadView({ chat, open, thread, onClose }: Props) {
  useModel(thread);
  useModel(open.store);
  const listRef = useRef<HTMLDivElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const parent = open.store.row(thread.parentId!);

  useEffect(() => closeRef.current?.focus(), [thread]);
  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [thread.rows.length]);

  return (
    <aside
      class="side-panel thread-view"
      data-testid="thread-view"
      data-parent-id={thread.parentId!}
      aria-label="Thread"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <div class="panel-head">
        <h2>Thread</h2>
        <button ref={closeRef} type="button" class="icon-button" data-testid="thread-close" aria-label="Close thread" onClick={onClose}>
          ×
        </button>
      </div>
      <div ref={listRef} class="thread-list">
        {parent && (
          <div class="thread-parent">
            <MessageRow chat={chat} row={parent} />
          </div>
        )}
        {thread.loading && !thread.loaded && (
          <p class="muted pad" role="status">
            Loading replies…
          </p>
        )}
        {thread.rows.map((r) => (
          <MessageRow key={r.key} chat={chat} row={r} />
        ))}
      </div>
      <Composer chat={chat} store={thread} label="Reply in thread" testId="thread-composer" sendTestId="thread-send" />
    </aside>
  );
}
