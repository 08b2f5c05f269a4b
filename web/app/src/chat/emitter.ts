import { useCallback, useEffect, useState } from 'preact/hooks';

/** A change signal: models mutate themselves, then call emit(); views re-render on it. */
export class Emitter {
  private readonly listeners = new Set<() => void>();

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(): void {
    for (const fn of [...this.listeners]) fn();
  }
}

/** Re-renders the calling component whenever `model` emits. */
export function useModel(model: Emitter | null | undefined): void {
  const bump = useForceUpdate();
  useEffect(() => model?.subscribe(bump), [model]);
}

export function useForceUpdate(): () => void {
  const [, set] = useState(0);
  return useCallback(() => set((n) => n + 1), []);
}
