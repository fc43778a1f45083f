import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { AlarmSummary } from '@trupp/shared';
import * as positionsApi from '../api/positions.ts';
import * as alarmsApi from '../api/alarms.ts';
import type { MapMember } from '../api/positions.ts';
import { NO_UNIT, usePositionStore } from './positions.ts';

const handlers = new Map<string, (payload: unknown) => void>();
vi.mock('../api/positions.ts');
vi.mock('../api/alarms.ts');
vi.mock('../realtime/socket.ts', () => ({
  onServerEvent: vi.fn((event: string, listener: (payload: unknown) => void) => {
    handlers.set(event, listener);
    return () => handlers.delete(event);
  }),
  onConnected: vi.fn(() => () => undefined),
  emitWithAck: vi.fn(() => Promise.resolve(null)),
}));

const api = vi.mocked(positionsApi);
const alarms = vi.mocked(alarmsApi);
const T = '2025-06-01T12:00:00.000Z';
const later = (s: number) => new Date(Date.parse(T) + s * 1000).toISOString();

function member(userId: string, overrides: Partial<MapMember> = {}): MapMember {
  return {
    userId,
    displayName: userId.toUpperCase(),
    lat: 51,
    lon: 10,
    accuracyM: 10,
    heading: null,
    speedKmh: null,
    recordedAt: T,
    units: [],
    availability: 'available',
    alarm: null,
    ...overrides,
  };
}

function alarm(id: string, overrides: Partial<AlarmSummary> = {}) {
  return {
    id,
    keyword: 'B3',
    title: 'Feuer',
    text: '',
    priority: 'high' as const,
    sound: 'siren',
    isTest: false,
    lat: 51.1,
    lon: 10.1,
    address: '',
    createdAt: T,
    updatedAt: T,
    closedAt: null,
    myResponse: null,
    myEtaMinutes: null,
    alertCount: 1,
    recipients: 2,
    coming: 0,
    source: 'console',
    ...overrides,
  };
}

const emit = (event: string, payload: unknown) => handlers.get(event)!(payload);

beforeEach(() => {
  vi.useFakeTimers();
  handlers.clear();
  setActivePinia(createPinia());
  api.listMapMembers.mockResolvedValue([
    member('anna', { units: [{ id: 'g1', name: 'Gruppe 1' }] }),
    member('ben', {
      units: [
        { id: 'g1', name: 'Gruppe 1' },
        { id: 'g2', name: 'Gruppe 2' },
      ],
      alarm: { alarmId: 'a1', response: null, etaMinutes: null },
    }),
    member('carl'),
  ]);
  alarms.listAlarms.mockResolvedValue([alarm('a1'), alarm('a2', { lat: null, lon: null })]);
});
afterEach(() => {
  vi.useRealTimers();
});

async function started() {
  const store = usePositionStore();
  store.start();
  await vi.runOnlyPendingTimersAsync();
  return store;
}

describe('positions store', () => {
  it('loads members and the open alarms that have a location', async () => {
    const store = await started();
    expect([...store.members.keys()]).toEqual(['anna', 'ben', 'carl']);
    expect(store.openAlarms.map((a) => a.id)).toEqual(['a1']);
    expect(store.unitOptions).toEqual([
      { id: 'g1', name: 'Gruppe 1', n: 2 },
      { id: 'g2', name: 'Gruppe 2', n: 1 },
      { id: NO_UNIT, name: '', n: 1 },
    ]);
    expect(store.statusCounts.get('no_answer')).toBe(1);
    expect(store.statusCounts.get('available')).toBe(2);
  });

  it('moves members live in batches, ignores older fixes, and reloads for someone new', async () => {
    const store = await started();
    emit('positions.updated', [
      {
        userId: 'anna',
        lat: 52,
        lon: 11,
        accuracyM: 5,
        recordedAt: later(5),
        heading: 90,
        speedKmh: 30,
      },
    ]);
    await vi.advanceTimersByTimeAsync(250);
    expect(store.members.get('anna')).toMatchObject({ lat: 52, heading: 90, speedKmh: 30 });
    emit('position.updated', {
      userId: 'anna',
      lat: 40,
      lon: 11,
      accuracyM: 5,
      recordedAt: later(1),
    });
    expect(store.members.get('anna')!.lat).toBe(52);

    api.listMapMembers.mockClear();
    emit('positions.updated', [
      { userId: 'dora', lat: 50, lon: 9, accuracyM: 5, recordedAt: later(6) },
      { userId: 'emil', lat: 50, lon: 9, accuracyM: 5, recordedAt: later(6) },
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.listMapMembers).toHaveBeenCalledTimes(1);
  });

  it('follows availability, alarm answers and stopped sharing', async () => {
    const store = await started();
    emit('availability.changed', { userId: 'carl', status: 'unavailable' });
    emit('alarm.board', {
      alarmId: 'a1',
      recipients: [{ userId: 'ben', response: 'coming', etaMinutes: 7 }],
    });
    emit('position.removed', { userId: 'anna' });
    await vi.advanceTimersByTimeAsync(250);
    expect(store.members.get('carl')!.availability).toBe('unavailable');
    expect(store.members.get('ben')!.alarm).toEqual({
      alarmId: 'a1',
      response: 'coming',
      etaMinutes: 7,
    });
    expect(store.members.has('anna')).toBe(false);

    // A closed alarm leaves the map and the list is fetched again (answers are gone).
    api.listMapMembers.mockClear();
    emit('alarm.updated', alarm('a1', { closedAt: later(60) }));
    expect(store.openAlarms).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.listMapMembers).toHaveBeenCalledTimes(1);
  });

  it('keeps a live answer that arrives while a reload is on its way with older data', async () => {
    const store = await started();
    let answer!: (list: MapMember[]) => void;
    api.listMapMembers.mockImplementationOnce(
      () => new Promise<MapMember[]>((resolve) => (answer = resolve)),
    );
    // A new alarm: the list is fetched again; Ben answers before that answer arrives.
    emit('alarm.updated', alarm('a3', { createdAt: later(1) }));
    await vi.advanceTimersByTimeAsync(400);
    emit('alarm.board', {
      alarmId: 'a3',
      recipients: [{ userId: 'ben', response: 'coming', etaMinutes: 4 }],
    });
    answer([member('ben', { alarm: { alarmId: 'a3', response: null, etaMinutes: null } })]);
    await vi.advanceTimersByTimeAsync(250);
    expect(store.members.get('ben')!.alarm).toEqual({
      alarmId: 'a3',
      response: 'coming',
      etaMinutes: 4,
    });
  });

  it('filters by unit (hidden only when all of a member’s units are) and by status', async () => {
    const store = await started();
    const visible = () => store.visibleMembers.map((m) => m.userId).sort();
    expect(visible()).toEqual(['anna', 'ben', 'carl']);
    store.hiddenUnits = ['g1'];
    expect(visible()).toEqual(['ben', 'carl']);
    store.hiddenUnits = ['g1', 'g2'];
    expect(visible()).toEqual(['carl']);
    store.hiddenUnits = [NO_UNIT];
    expect(visible()).toEqual(['anna', 'ben']);
    store.hiddenUnits = [];
    store.hiddenStatuses = ['no_answer'];
    expect(visible()).toEqual(['anna', 'carl']);
  });

  it('forgets everyone when the map closes, and keeps the ETA speed within bounds', async () => {
    const store = await started();
    store.setEtaSpeed(400);
    expect(store.etaSpeedKmh).toBe(150);
    store.stop();
    expect(store.members.size).toBe(0);
    expect(handlers.size).toBe(0);
    expect(localStorage.getItem('trupp.map.etaSpeedKmh')).toBe('150');
  });
});
