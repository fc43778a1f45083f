import { describe, expect, it } from 'vitest';
import { AudioFlowMonitor } from './audio-flow.ts';

describe('detecting that audio is not flowing', () => {
  it('reports flowing while the received bytes rise during a turn', () => {
    const m = new AudioFlowMonitor(2000);
    expect(m.sample(0, true, 1000)).toBe('unknown');
    expect(m.sample(500, true, 3000)).toBe('flowing');
    expect(m.sample(1000, true, 5000)).toBe('flowing');
  });

  it('reports missing when the bytes stand still for the stall time', () => {
    const m = new AudioFlowMonitor(2000);
    m.sample(0, true, 1000);
    m.sample(500, true, 3000);
    expect(m.sample(2000, true, 3000)).toBe('flowing');
    expect(m.sample(2500, true, 3000)).toBe('missing');
    // It comes back as soon as bytes arrive again.
    expect(m.sample(3000, true, 3200)).toBe('flowing');
  });

  it('counts a turn with no consumer at all as missing', () => {
    const m = new AudioFlowMonitor(2000);
    m.sample(0, true, null);
    expect(m.sample(1000, true, null)).toBe('unknown');
    expect(m.sample(2000, true, null)).toBe('missing');
  });

  it('does not count bytes from before the turn, and forgets between turns', () => {
    const m = new AudioFlowMonitor(2000);
    m.sample(0, false, 5000);
    expect(m.sample(100, true, 5000)).toBe('unknown');
    expect(m.sample(2100, true, 5000)).toBe('missing');
    expect(m.sample(2200, false, 5000)).toBe('unknown');
    expect(m.sample(2300, true, 5000)).toBe('unknown');
  });
});
