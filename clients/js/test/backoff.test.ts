import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';

describe('Backoff', () => {
  it('doubles from initialMs up to maxMs, with random 0 giving half of each step', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 10_000, factor: 2 }, () => 0);
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('reaches the whole step when random is at its top', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 10_000, factor: 2 }, () => 0.999999);
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('stays within [cap/2, cap] for any random value', () => {
    const values = [0.13, 0.5, 0.77, 0.01, 0.99, 0.42, 0.61, 0.3, 0.88, 0.05];
    let i = 0;
    const b = new Backoff({ initialMs: 100, maxMs: 3000, factor: 3 }, () => values[i++ % values.length] ?? 0);
    for (let n = 0; n < values.length; n++) {
      const cap = Math.min(3000, 100 * 3 ** n);
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(cap / 2);
      expect(d).toBeLessThanOrEqual(cap);
      expect(d).toBe(Math.round(cap / 2 + (cap / 2) * (values[n] ?? 0)));
    }
  });

  it('starts over after reset', () => {
    const b = new Backoff({}, () => 1);
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(500);
  });

  it('defaults to 500 ms initial, 10 s max, factor 2', () => {
    const b = new Backoff({}, () => 1);
    const delays = Array.from({ length: 7 }, () => b.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });
});
