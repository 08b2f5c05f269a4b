import { useModel } from '../chat/emitter';
import { typingText, type TypingUsers } from '../chat/typing';

export function TypingIndicator({ typing }: { typing: TypingUsers }) {
  useModel(typing);
  const names = typing.names;
  return (
    <p class="typing-indicator" data-testid="typing-indicator" data-typing={names.join(',')} aria-live="polite">
      {typingText(names)}
    </p>
  );
}
