import { Emitter } from './emitter';

// A typing.stop can be lost (the typist's tab closed); the sender repeats typing.start
// every 3 s while typing, so an entry not refreshed for this long is stale.
const STALE_MS = 6000;

/** Who is typing in the open channel, from typing.indicator frames. */
export class TypingUsers extends Emitter {
  private readonly users = new Map<string, { username: string; timer: ReturnType<typeof setTimeout> }>();

  set(userId: string, username: string, isTyping: boolean): void {
    const old = this.users.get(userId);
    if (old) clearTimeout(old.timer);
    if (isTyping) {
      this.users.set(userId, { username, timer: setTimeout(() => this.set(userId, username, false), STALE_MS) });
    } else if (old) {
      this.users.delete(userId);
    } else {
      return;
    }
    this.emit();
  }

  clear(): void {
    for (const u of this.users.values()) clearTimeout(u.timer);
    this.users.clear();
    this.emit();
  }

  get names(): string[] {
    return [...this.users.values()].map((u) => u.username).sort();
  }
}

export function typingText(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
}
