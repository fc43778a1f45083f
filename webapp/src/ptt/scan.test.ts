import { describe, expect, it } from 'vitest';
import { monitoredChannels, pruneScan, scanRows, type ScanChannel } from './scan.ts';

const channels: ScanChannel[] = [
  { id: 'sel', name: 'Zug 1', priority: false },
  { id: 'a', name: 'Zug 2', priority: false },
  { id: 'prio', name: 'Leitstelle', priority: true },
  { id: 'off', name: 'Übung', priority: false },
];
const settings = { selected: 'sel', scanned: ['a', 'prio', 'sel'] };

describe('the scan display', () => {
  it('monitors the selected channel first, then the scanned ones, each once', () => {
    expect(monitoredChannels(settings)).toEqual(['sel', 'a', 'prio']);
    expect(monitoredChannels({ selected: null, scanned: ['a'] })).toEqual(['a']);
  });

  it('shows the priority channel heard and the selected one held back by it', () => {
    const rows = scanRows(channels, settings, { sel: 'Anna', prio: 'Leitstelle 1' }, 'prio');
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(by.prio).toMatchObject({
      heard: true,
      priority: true,
      talker: 'Leitstelle 1',
      heldBackBy: null,
    });
    expect(by.sel).toMatchObject({
      heard: false,
      selected: true,
      talker: 'Anna',
      heldBackBy: 'priority',
    });
    expect(by.a).toMatchObject({ heard: false, monitored: true, talker: null, heldBackBy: null });
  });

  it('shows a scanned channel held back by the selected one', () => {
    const rows = scanRows(channels, settings, { sel: 'Anna', a: 'Ben' }, 'sel');
    expect(rows.find((r) => r.id === 'a')).toMatchObject({ talker: 'Ben', heldBackBy: 'selected' });
    expect(rows.find((r) => r.id === 'sel')).toMatchObject({ heard: true, heldBackBy: null });
  });

  it('names no talker on channels that are not monitored', () => {
    const rows = scanRows(channels, settings, { off: 'Clara' }, null);
    expect(rows.find((r) => r.id === 'off')).toMatchObject({ monitored: false, talker: null });
  });

  it('drops channels that are gone from the settings', () => {
    expect(pruneScan({ selected: 'gone', scanned: ['a', 'gone'] }, ['a', 'sel'])).toEqual({
      selected: null,
      scanned: ['a'],
    });
  });
});
