import { computed, onBeforeUnmount, ref, shallowRef } from 'vue';
import type { Tracks } from '../api/positions.ts';
import {
  REPLAY_COLOURS,
  pathUntil,
  positionAt,
  timeRange,
  timed,
  type ReplayMember,
  type TimedPoint,
} from '../map/replay.ts';

/** Most members one replay loads (the server's limit). */
export const REPLAY_MAX_MEMBERS = 200;
export const REPLAY_WINDOWS_MINUTES = [15, 60, 240, 720, 1440] as const;
export const REPLAY_RATES = [10, 60, 300] as const;
/** The replay clock advances at most this often (enough for a smooth marker). */
const FRAME_MS = 50;

interface LoadedReplay {
  tracks: Array<{ userId: string; displayName: string; colour: string; points: TimedPoint[] }>;
  start: number;
  end: number;
  thinned: boolean;
  capped: boolean;
}

/**
 * Track replay state for the map: load the tracks of some members over a window, a
 * clock between the first and last fix that a slider sets and play/pause runs (at
 * 10×–300× real time), and the frame to draw at the clock's time.
 */
export function useTrackReplay(load: (userIds: string[], from: Date, to: Date) => Promise<Tracks>) {
  const loaded = shallowRef<LoadedReplay | null>(null);
  /** True once a replay was asked for, until "back to live". */
  const active = ref(false);
  const busy = ref(false);
  const error = ref<unknown>(null);
  const empty = ref(false);
  const time = ref(0);
  const playing = ref(false);
  const rate = ref<number>(60);
  const windowMinutes = ref<number>(60);
  let raf: number | null = null;
  let lastTick = 0;

  async function start(members: ReadonlyArray<{ userId: string }>): Promise<void> {
    pause();
    active.value = true;
    busy.value = true;
    error.value = null;
    empty.value = false;
    loaded.value = null;
    const to = new Date();
    const from = new Date(to.getTime() - windowMinutes.value * 60_000);
    const ids = members.slice(0, REPLAY_MAX_MEMBERS).map((m) => m.userId);
    try {
      const answer = await load(ids, from, to);
      if (!active.value) return;
      const tracks = answer.tracks
        .map((t, i) => ({
          userId: t.userId,
          displayName: t.displayName,
          colour: REPLAY_COLOURS[i % REPLAY_COLOURS.length]!,
          points: timed(t.points),
        }))
        .filter((t) => t.points.length > 0);
      const range = timeRange(tracks.map((t) => t.points));
      if (!range) {
        empty.value = true;
        return;
      }
      loaded.value = {
        tracks,
        ...range,
        thinned: answer.thinned,
        capped: members.length > REPLAY_MAX_MEMBERS,
      };
      time.value = range.start;
    } catch (err) {
      error.value = err;
    } finally {
      busy.value = false;
    }
  }

  function tick(now: number): void {
    const replay = loaded.value;
    if (!replay || !playing.value) return;
    const elapsed = now - lastTick;
    if (elapsed >= FRAME_MS) {
      lastTick = now;
      const next = time.value + elapsed * rate.value;
      time.value = Math.min(replay.end, next);
      if (next >= replay.end) {
        playing.value = false;
        raf = null;
        return;
      }
    }
    raf = requestAnimationFrame(tick);
  }

  function play(): void {
    const replay = loaded.value;
    if (!replay || playing.value) return;
    if (time.value >= replay.end) time.value = replay.start;
    playing.value = true;
    lastTick = performance.now();
    raf = requestAnimationFrame(tick);
  }

  function pause(): void {
    playing.value = false;
    if (raf !== null) cancelAnimationFrame(raf);
    raf = null;
  }

  function seek(t: number): void {
    const replay = loaded.value;
    if (!replay) return;
    time.value = Math.min(replay.end, Math.max(replay.start, t));
  }

  function setWindow(minutes: number): void {
    windowMinutes.value = minutes;
  }

  function setRate(value: number): void {
    rate.value = value;
  }

  function stop(): void {
    pause();
    active.value = false;
    loaded.value = null;
    empty.value = false;
    error.value = null;
  }

  /** What the map draws now: each member's path so far and position at the clock. */
  const frame = computed<ReplayMember[] | null>(() => {
    const replay = loaded.value;
    if (!replay) return null;
    const t = time.value;
    return replay.tracks.map((track) => ({
      userId: track.userId,
      colour: track.colour,
      path: pathUntil(track.points, t),
      at: positionAt(track.points, t),
      label: [track.displayName],
    }));
  });

  onBeforeUnmount(pause);

  return {
    active,
    busy,
    error,
    empty,
    loaded,
    time,
    playing,
    rate,
    windowMinutes,
    frame,
    start,
    play,
    pause,
    seek,
    stop,
    setWindow,
    setRate,
  };
}

export type TrackReplay = ReturnType<typeof useTrackReplay>;
