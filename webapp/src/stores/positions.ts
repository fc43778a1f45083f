/**
 * The dispatch map's members and incidents: the last known position of everyone who
 * shares (with units, availability and their answer to the open alarm, which colour the
 * markers), kept live from the socket, and the open alarms with a location. Filters and
 * the ETA speed live here too, so they survive leaving the map and coming back.
 *
 * Live updates can arrive hundreds per second; they are applied to one Map in place and
 * published (one `triggerRef`) at most every `PUBLISH_MS`, so views and the map source
 * re-render a few times per second, not per update.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import {
  ALARM_SERVER_EVENTS,
  DEFAULT_TRAVEL_SPEED_KMH,
  POSITION_CLIENT_EVENTS,
  POSITION_SERVER_EVENTS,
  type AlarmBoardDelta,
  type AlarmSummary,
  type AvailabilityState,
  type MemberPosition,
} from '@trupp/shared';
import * as positionsApi from '../api/positions.ts';
import type { MapMember, Tracks } from '../api/positions.ts';
import { listAlarms } from '../api/alarms.ts';
import { emitWithAck, onConnected, onServerEvent } from '../realtime/socket.ts';
import { clampSpeed } from '../map/distance.ts';
import { memberStatus, type MemberStatus } from '../map/members.ts';
import type { IncidentOnMap } from '../map/open-alarms.ts';

const PUBLISH_MS = 200;
const RELOAD_DEBOUNCE_MS = 300;
const SPEED_KEY = 'trupp.map.etaSpeedKmh';
/** Filter key of members who belong to no unit. */
export const NO_UNIT = '';

export interface OpenAlarm extends IncidentOnMap {
  createdAt: string;
}

function storedSpeed(): number {
  try {
    const raw = window.localStorage.getItem(SPEED_KEY);
    return raw ? clampSpeed(Number(raw)) : DEFAULT_TRAVEL_SPEED_KMH;
  } catch {
    return DEFAULT_TRAVEL_SPEED_KMH;
  }
}

export const usePositionStore = defineStore('positions', () => {
  const byId = new Map<string, MapMember>();
  const members = shallowRef<ReadonlyMap<string, MapMember>>(byId);
  const openAlarms = shallowRef<readonly OpenAlarm[]>([]);
  const loaded = ref(false);
  const loadError = ref<unknown>(null);
  const hiddenUnits = ref<string[]>([]);
  const hiddenStatuses = ref<MemberStatus[]>([]);
  const etaSpeedKmh = ref(storedSpeed());

  let publishTimer: ReturnType<typeof setTimeout> | null = null;
  function publish(): void {
    publishTimer ??= setTimeout(() => {
      publishTimer = null;
      triggerRef(members);
    }, PUBLISH_MS);
  }

  let reloadTimer: ReturnType<typeof setTimeout> | null = null;
  /** Someone unknown appeared or an alarm opened or closed: fetch the list again, once. */
  function reloadSoon(): void {
    reloadTimer ??= setTimeout(() => {
      reloadTimer = null;
      void load().catch(() => undefined);
    }, RELOAD_DEBOUNCE_MS);
  }

  /** Counts stops, so an answer that arrives after the map closed is dropped. */
  let generation = 0;
  /** Counts loads: only the answer of the newest one is used. */
  let newestLoad = 0;
  /**
   * Live changes that arrived while a load was on its way, per load. The list it answers
   * with may predate them (an answer given meanwhile), so they are applied again on top.
   */
  const inFlight = new Set<Array<() => void>>();

  /** Applies a live change now, and again after any load that is on its way. */
  function live(change: () => void): void {
    change();
    for (const log of inFlight) log.push(change);
  }

  async function load(): Promise<void> {
    const asked = generation;
    const seq = ++newestLoad;
    const log: Array<() => void> = [];
    inFlight.add(log);
    try {
      const [list, alarms] = await Promise.all([
        positionsApi.listMapMembers(),
        listAlarms({ status: 'open', includeTests: true }),
      ]);
      if (asked !== generation || seq !== newestLoad) return;
      byId.clear();
      for (const m of list) byId.set(m.userId, m);
      openAlarms.value = alarms
        .filter((a) => a.closedAt === null && a.lat !== null && a.lon !== null)
        .map(toIncident);
      inFlight.delete(log);
      for (const change of log) change();
      loadError.value = null;
      triggerRef(members);
    } catch (error) {
      if (asked === generation && seq === newestLoad) loadError.value = error;
      throw error;
    } finally {
      inFlight.delete(log);
      if (asked === generation) loaded.value = true;
    }
  }

  function toIncident(a: AlarmSummary): OpenAlarm {
    return {
      id: a.id,
      keyword: a.keyword,
      title: a.title,
      lat: a.lat!,
      lon: a.lon!,
      isTest: a.isTest,
      createdAt: a.createdAt,
    };
  }

  function applyPosition(p: MemberPosition): void {
    const known = byId.get(p.userId);
    if (!known) {
      reloadSoon();
      return;
    }
    if (Date.parse(p.recordedAt) < Date.parse(known.recordedAt)) return;
    byId.set(p.userId, {
      ...known,
      lat: p.lat,
      lon: p.lon,
      accuracyM: p.accuracyM,
      recordedAt: p.recordedAt,
      // Older servers send no heading/speed with live updates: keep what the list said.
      heading: p.heading === undefined ? known.heading : p.heading,
      speedKmh: p.speedKmh === undefined ? known.speedKmh : p.speedKmh,
    });
    publish();
  }

  function applyBoardDelta(delta: AlarmBoardDelta): void {
    if (delta.closedAt) {
      reloadSoon();
      return;
    }
    for (const change of delta.recipients) {
      if (change.response === undefined && change.etaMinutes === undefined) continue;
      const known = byId.get(change.userId);
      if (!known) continue;
      if (known.alarm && known.alarm.alarmId !== delta.alarmId) {
        // The member's map colour follows their newest open alarm; an answer to an older
        // one changes nothing, an answer to a newer one than we know needs the list.
        const ours = openAlarms.value.find((a) => a.id === known.alarm!.alarmId);
        const theirs = openAlarms.value.find((a) => a.id === delta.alarmId);
        if (!ours || !theirs || theirs.createdAt > ours.createdAt) reloadSoon();
        continue;
      }
      byId.set(change.userId, {
        ...known,
        alarm: {
          alarmId: delta.alarmId,
          response: change.response ?? known.alarm?.response ?? null,
          etaMinutes: change.etaMinutes ?? known.alarm?.etaMinutes ?? null,
        },
      });
      publish();
    }
  }

  function applyAlarm(alarm: AlarmSummary): void {
    const listed = openAlarms.value.find((a) => a.id === alarm.id);
    if (alarm.closedAt !== null) {
      if (listed) openAlarms.value = openAlarms.value.filter((a) => a.id !== alarm.id);
      reloadSoon();
      return;
    }
    const located = alarm.lat !== null && alarm.lon !== null;
    if (listed) {
      openAlarms.value = located
        ? openAlarms.value.map((a) => (a.id === alarm.id ? toIncident(alarm) : a))
        : openAlarms.value.filter((a) => a.id !== alarm.id);
      return;
    }
    if (located) openAlarms.value = [...openAlarms.value, toIncident(alarm)];
    // A new alarm: its recipients now answer it, not an older one.
    reloadSoon();
  }

  let unsubscribe: Array<() => void> = [];
  let users = 0;

  /**
   * Starts live updates (the map view calls it on mount; `stop` on unmount). At every
   * (re)connection it subscribes to batched positions and reloads, since updates sent
   * while the socket was down are gone.
   */
  function start(): void {
    users += 1;
    if (users > 1) return;
    unsubscribe = [
      onServerEvent<MemberPosition[]>(POSITION_SERVER_EVENTS.batch, (batch) => {
        live(() => batch.forEach(applyPosition));
      }),
      // Servers without batching send each position on its own.
      onServerEvent<MemberPosition>(POSITION_SERVER_EVENTS.updated, (p) =>
        live(() => applyPosition(p)),
      ),
      onServerEvent<{ userId: string }>(POSITION_SERVER_EVENTS.removed, ({ userId }) =>
        live(() => {
          if (byId.delete(userId)) publish();
        }),
      ),
      onServerEvent<{ userId: string; status: AvailabilityState }>(
        'availability.changed',
        ({ userId, status }) =>
          live(() => {
            const known = byId.get(userId);
            if (!known || known.availability === status) return;
            byId.set(userId, { ...known, availability: status });
            publish();
          }),
      ),
      onServerEvent<AlarmBoardDelta>(ALARM_SERVER_EVENTS.board, (delta) =>
        live(() => applyBoardDelta(delta)),
      ),
      onServerEvent<AlarmSummary>(ALARM_SERVER_EVENTS.updated, (alarm) =>
        live(() => applyAlarm(alarm)),
      ),
      onConnected(() => {
        void emitWithAck(POSITION_CLIENT_EVENTS.subscribe, {}).catch(() => undefined);
        void load().catch(() => undefined);
      }),
    ];
    void load().catch(() => undefined);
  }

  function stop(): void {
    users = Math.max(0, users - 1);
    if (users > 0) return;
    unsubscribe.forEach((off) => off());
    unsubscribe = [];
    void emitWithAck(POSITION_CLIENT_EVENTS.unsubscribe, {}).catch(() => undefined);
    // Nobody looks: keep no one's whereabouts in memory (filters and speed stay).
    generation += 1;
    inFlight.clear();
    if (publishTimer) clearTimeout(publishTimer);
    if (reloadTimer) clearTimeout(reloadTimer);
    publishTimer = null;
    reloadTimer = null;
    byId.clear();
    triggerRef(members);
    openAlarms.value = [];
    loaded.value = false;
  }

  /** Units that sharing members belong to, with how many, sorted by name. */
  const unitOptions = computed(() => {
    const counts = new Map<string, { name: string; n: number }>();
    for (const m of members.value.values()) {
      const keys = m.units.length ? m.units : [{ id: NO_UNIT, name: '' }];
      for (const u of keys) {
        const entry = counts.get(u.id) ?? { name: u.name, n: 0 };
        entry.n += 1;
        counts.set(u.id, entry);
      }
    }
    return [...counts.entries()]
      .map(([id, { name, n }]) => ({ id, name, n }))
      .sort((a, b) =>
        a.id === NO_UNIT ? 1 : b.id === NO_UNIT ? -1 : a.name.localeCompare(b.name),
      );
  });

  const statusCounts = computed(() => {
    const counts = new Map<MemberStatus, number>();
    for (const m of members.value.values()) {
      const s = memberStatus(m);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    return counts;
  });

  /** Members the filters let through: in a shown unit (any of theirs) and of a shown status. */
  const visibleMembers = computed(() => {
    const hideUnits = new Set(hiddenUnits.value);
    const hideStatuses = new Set(hiddenStatuses.value);
    const out: MapMember[] = [];
    for (const m of members.value.values()) {
      if (hideStatuses.has(memberStatus(m))) continue;
      const units = m.units.length ? m.units.map((u) => u.id) : [NO_UNIT];
      if (hideUnits.size && units.every((u) => hideUnits.has(u))) continue;
      out.push(m);
    }
    return out;
  });

  function setEtaSpeed(value: number): void {
    etaSpeedKmh.value = clampSpeed(value);
    try {
      window.localStorage.setItem(SPEED_KEY, String(etaSpeedKmh.value));
    } catch {
      // Private mode: the speed holds for this visit only.
    }
  }

  function loadTracks(userIds: string[], from: Date, to: Date): Promise<Tracks> {
    return positionsApi.getTracks(userIds, from, to);
  }

  return {
    members,
    openAlarms,
    loaded,
    loadError,
    hiddenUnits,
    hiddenStatuses,
    etaSpeedKmh,
    unitOptions,
    statusCounts,
    visibleMembers,
    start,
    stop,
    load,
    setEtaSpeed,
    loadTracks,
    downloadTrack: positionsApi.downloadTrack,
    downloadPositions: positionsApi.downloadPositions,
  };
});
