import { useEffect, useRef } from 'preact/hooks';
import type { Chat } from '../chat/chat';
import type { MessageStore } from '../chat/messages';

interface Props {
  chat: Chat;
  store: MessageStore;
  label: string;
  testId: 'composer' | 'thread-composer';
  sendTestId: 'send' | 'thread-send';
}

const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 5000;

/** Enter sends, Shift+Enter starts a new line; typing.start/stop go out while typing. */
export function Composer({ chat, store, label, testId, sendTestId }: Props) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const typing = useRef({ lastStart: 0, idle: undefined as ReturnType<typeof setTimeout> | undefined });

  function stopTyping(): void {
    const t = typing.current;
    clearTimeout(t.idle);
    if (t.lastStart === 0) return;
    t.lastStart = 0;
    chat.conn.typing(store.channelId, false);
  }

  useEffect(() => stopTyping, [store]);

  // Grows with its text up to the CSS max-height (style set from script: allowed by the CSP).
  function fit(): void {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight + 2}px`;
  }

  function onInput(): void {
    fit();
    const t = typing.current;
    if (!ref.current?.value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - t.lastStart >= TYPING_REPEAT_MS) {
      t.lastStart = now;
      chat.conn.typing(store.channelId, true);
    }
    clearTimeout(t.idle);
    t.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function send(): void {
    const el = ref.current;
    const content = el?.value.trim() ?? '';
    if (!el || !content) return;
    stopTyping();
    chat.send(store, content);
    el.value = '';
    fit();
    el.focus();
  }

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <textarea
        ref={ref}
        data-testid={testId}
        aria-label={label}
        placeholder={label}
        rows={1}
        maxLength={10000}
        onInput={onInput}
        onBlur={stopTyping}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <button type="submit" class="primary" data-testid={sendTestId}>
        Send
      </button>
    </form>
  );
}
