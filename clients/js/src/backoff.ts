export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

/**
 * Exponential backoff with "equal jitter": the n-th delay (from 0) is drawn
 * uniformly from [cap/2, cap] where cap = min(maxMs, initialMs * factor^n).
 * Half of it stays fixed so retries never come back-to-back, the random half
 * spreads the clients that a server restart disconnected at the same moment.
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(opts: BackoffOptions = {}, random: () => number = Math.random) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 10_000;
    this.factor = opts.factor ?? 2;
    this.random = random;
  }

  /** The delay before the next attempt; each call moves one step up. */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
    this.failures += 1;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(cap / 2 + (cap / 2) * r);
  }

  reset(): void {
    this.failures = 0;
  }
}
