import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { GeofenceCrossing, OverlayLayer } from '@trupp/shared';
import * as geofencesApi from '../api/geofences.ts';
import { FEED_LENGTH, useGeofenceStore } from './geofences.ts';

const handlers = new Map<string, (payload: unknown) => void>();
vi.mock('../api/geofences.ts');
vi.mock('../realtime/socket.ts', () => ({
  onServerEvent: vi.fn((event: string, listener: (payload: unknown) => void) => {
    handlers.set(event, listener);
    return () => handlers.delete(event);
  }),
  onConnected: vi.fn(() => () => undefined),
  isConnected: vi.fn(() => false),
}));
const api = vi.mocked(geofencesApi);

const crossing = (userId: string, geofenceId = 'g1'): GeofenceCrossing => ({
  geofenceId,
  geofenceName: 'Wache',
  kind: 'station',
  userId,
  displayName: userId.toUpperCase(),
  at: '2025-06-01T12:00:00.000Z',
  statusText: 'An der Wache',
});

beforeEach(() => {
  vi.clearAllMocks();
  setActivePinia(createPinia());
  handlers.clear();
  localStorage.clear();
  api.listGeofences.mockResolvedValue([]);
  api.listOverlays.mockResolvedValue([]);
  api.listPresence.mockResolvedValue([
    { geofenceId: 'g1', userId: 'old', displayName: 'OLD', since: '', statusText: 'An der Wache' },
  ]);
});

describe('geofence store', () => {
  it('follows enter and exit events: feed newest first, who is inside, their status', async () => {
    const store = useGeofenceStore();
    store.start(true);
    await vi.waitFor(() => expect(store.presence).toHaveLength(1));
    handlers.get('geofence.entered')!(crossing('a'));
    handlers.get('geofence.entered')!(crossing('b'));
    expect(store.feed.map((e) => [e.userId, e.entered])).toEqual([
      ['b', true],
      ['a', true],
    ]);
    expect(store.insideByFence.get('g1')?.map((p) => p.userId)).toEqual(['old', 'a', 'b']);
    expect(store.statusByMember.get('a')).toEqual(['An der Wache']);
    handlers.get('geofence.exited')!(crossing('a'));
    expect(store.feed[0]).toMatchObject({ userId: 'a', entered: false });
    expect(store.statusByMember.has('a')).toBe(false);
    expect(store.insideByFence.get('g1')?.map((p) => p.userId)).toEqual(['old', 'b']);
    // The feed keeps the newest FEED_LENGTH events.
    for (let i = 0; i < FEED_LENGTH + 5; i += 1)
      handlers.get('geofence.entered')!(crossing(`u${i}`));
    expect(store.feed).toHaveLength(FEED_LENGTH);
    expect(store.feed[0]!.userId).toBe(`u${FEED_LENGTH + 4}`);
    store.stop();
    expect(handlers.has('geofence.entered')).toBe(false);
  });

  it('without presence rights it neither loads presence nor listens to crossings', async () => {
    const store = useGeofenceStore();
    store.start(false);
    await vi.waitFor(() => expect(api.listGeofences).toHaveBeenCalled());
    expect(api.listPresence).not.toHaveBeenCalled();
    expect(handlers.has('geofence.entered')).toBe(false);
    expect(handlers.has('geofence.changed')).toBe(true);
  });

  it('remembers on this device which overlay layers are shown', () => {
    const layer: OverlayLayer = {
      id: 'o1',
      name: 'Hydranten',
      color: null,
      visibleByDefault: false,
      featureCount: 1,
      sizeBytes: 10,
      createdAt: '',
    };
    const store = useGeofenceStore();
    expect(store.overlayShown(layer)).toBe(false);
    store.showOverlay('o1', true);
    expect(store.overlayShown(layer)).toBe(true);
    setActivePinia(createPinia());
    expect(useGeofenceStore().overlayShown(layer)).toBe(true);
  });
});
