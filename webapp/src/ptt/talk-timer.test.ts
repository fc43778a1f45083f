import { describe, expect, it } from 'vitest';
import { formatDuration, talkTimer, WARN_BEFORE_MS } from './talk-timer.ts';

describe('the talk timer', () => {
  it('counts up against the maximum talk time', () => {
    const t = talkTimer(1000, 30_000, 8_500);
    expect(t.elapsedMs).toBe(7500);
    expect(t.remainingMs).toBe(22_500);
    expect(t.label).toBe('0:07 / 0:30');
    expect(t.fraction).toBeCloseTo(0.25);
    expect(t.warn).toBe(false);
  });

  it('warns in the last seconds and stops at zero', () => {
    expect(talkTimer(0, 30_000, 30_000 - WARN_BEFORE_MS - 1).warn).toBe(false);
    expect(talkTimer(0, 30_000, 30_000 - WARN_BEFORE_MS).warn).toBe(true);
    const over = talkTimer(0, 30_000, 31_000);
    expect(over.remainingMs).toBe(0);
    expect(over.fraction).toBe(1);
  });

  it('has no warning or limit for channels without a maximum', () => {
    const t = talkTimer(0, 0, 125_000);
    expect(t).toMatchObject({ remainingMs: null, warn: false, fraction: 0, label: '2:05' });
  });

  it('does not warn for turns too short to warn sensibly', () => {
    expect(talkTimer(0, 8000, 7000).warn).toBe(false);
  });

  it('formats durations as m:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(59_999)).toBe('0:59');
    expect(formatDuration(61_000)).toBe('1:01');
    expect(formatDuration(-5)).toBe('0:00');
  });
});
