import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat } from '../chat/chat';
import { openChannel } from '../route';
import { errorText } from '../toast';

interface Props {
  chat: Chat;
  onDone: () => void;
}

export function ChannelForm({ chat, onDone }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);
  useEffect(() => nameRef.current?.focus(), []);

  async function submit(ev: Event): Promise<void> {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const description = String(f.get('description') ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      const c = await chat.createChannel({
        name: String(f.get('name') ?? '').trim(),
        ...(description ? { description } : {}),
        is_private: f.get('is_private') === 'on',
      });
      onDone();
      openChannel(c.id);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  }

  return (
    <form
      id="channel-form"
      class="channel-form"
      data-testid="channel-form"
      aria-label="New channel"
      noValidate
      onSubmit={submit}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onDone();
        }
      }}
    >
      <label>
        Name
        <input ref={nameRef} name="name" required minLength={2} maxLength={100} />
      </label>
      <label>
        Description <span class="muted">(optional)</span>
        <input name="description" />
      </label>
      <label class="check">
        <input type="checkbox" name="is_private" />
        Private (members only)
      </label>
      {error && (
        <p class="form-error" role="alert" data-testid="channel-form-error">
          {error}
        </p>
      )}
      <div class="row">
        <button type="submit" class="primary" data-testid="channel-create-submit" disabled={busy}>
          Create
        </button>
        <button type="button" class="subtle" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
