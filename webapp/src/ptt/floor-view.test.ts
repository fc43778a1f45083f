import { describe, expect, it } from 'vitest';
import {
  floorView,
  initialFloorState,
  NOTICE_MS,
  reduceFloor,
  type FloorInput,
  type FloorState,
  type FloorTalker,
} from './floor-view.ts';

const ME = 'me';
const anna: FloorTalker = {
  userId: 'anna',
  name: 'Anna',
  priority: 'member',
  emergency: false,
  startedAt: 0,
  maxTalkMs: 30_000,
};
const mine: FloorTalker = { ...anna, userId: ME, name: 'Me' };
const dispatcher: FloorTalker = {
  ...anna,
  userId: 'disp',
  name: 'Leitstelle',
  priority: 'dispatcher',
};

function run(...inputs: FloorInput[]): FloorState {
  return inputs.reduce(
    (state, input) => reduceFloor(state, input, ME),
    reduceFloor(initialFloorState(), { type: 'connection', connected: true }, ME),
  );
}
const kind = (state: FloorState, now = 0) => floorView(state, ME, now).kind;

describe('the push-to-talk button state', () => {
  it('is offline until joined, then idle', () => {
    expect(kind(initialFloorState())).toBe('offline');
    expect(kind(run())).toBe('idle');
  });

  it('goes requesting → talking → idle for a granted press', () => {
    const pressed = run({ type: 'press', at: 0 });
    expect(kind(pressed)).toBe('requesting');
    const talking = reduceFloor(pressed, { type: 'granted', holder: mine }, ME);
    expect(kind(talking)).toBe('talking');
    // Letting go shows idle at once, before the server confirms the end of the turn.
    const released = reduceFloor(talking, { type: 'release', at: 10 }, ME);
    expect(kind(released)).toBe('idle');
    const ended = reduceFloor(
      released,
      { type: 'ended', userId: ME, reason: 'released', by: null, at: 20 },
      ME,
    );
    expect(ended.holder).toBeNull();
    expect(kind(ended)).toBe('idle');
  });

  it('names the talker while listening, and says when their audio does not arrive', () => {
    const listening = run({ type: 'granted', holder: anna });
    expect(floorView(listening, ME, 0)).toMatchObject({ kind: 'listening', talker: 'Anna' });
    const silent = reduceFloor(listening, { type: 'audio', state: 'missing' }, ME);
    expect(floorView(silent, ME, 0)).toMatchObject({ kind: 'noAudio', talker: 'Anna' });
    const ended = reduceFloor(
      silent,
      { type: 'ended', userId: 'anna', reason: 'released', by: null, at: 5 },
      ME,
    );
    expect(kind(ended)).toBe('idle');
    expect(ended.audio).toBe('unknown');
  });

  it('shows busy with the talker and queue place when pressing during a turn', () => {
    const state = run(
      { type: 'granted', holder: anna },
      { type: 'press', at: 1 },
      { type: 'queued', position: 2 },
    );
    expect(floorView(state, ME, 1)).toMatchObject({
      kind: 'busy',
      talker: 'Anna',
      queuePosition: 2,
    });
    // Granted from the queue while still holding: talking.
    const granted = reduceFloor(state, { type: 'granted', holder: { ...mine, startedAt: 5 } }, ME);
    expect(kind(granted)).toBe('talking');
    expect(granted.queuePosition).toBeNull();
  });

  it('keeps "busy" visible for a while after a refused request', () => {
    const refused = run(
      { type: 'granted', holder: anna },
      { type: 'press', at: 100 },
      { type: 'denied', at: 120 },
      { type: 'release', at: 200 },
    );
    expect(floorView(refused, ME, 300)).toMatchObject({ kind: 'busy', talker: 'Anna' });
    expect(floorView(refused, ME, 120 + NOTICE_MS)).toMatchObject({
      kind: 'listening',
      talker: 'Anna',
    });
  });

  it('says who broke in when pre-empted, while held and a few seconds after', () => {
    const cut = run(
      { type: 'press', at: 0 },
      { type: 'granted', holder: mine },
      { type: 'ended', userId: ME, reason: 'preempted', by: 'Leitstelle', at: 1000 },
      { type: 'granted', holder: dispatcher },
    );
    expect(floorView(cut, ME, 1000)).toMatchObject({ kind: 'preempted', talker: 'Leitstelle' });
    // Still held long after: still pre-empted, never "talking" again without a new press.
    expect(kind(cut, 1000 + 10 * NOTICE_MS)).toBe('preempted');
    const letGo = reduceFloor(cut, { type: 'release', at: 2000 }, ME);
    expect(kind(letGo, 2000)).toBe('preempted');
    expect(floorView(letGo, ME, 1000 + NOTICE_MS)).toMatchObject({
      kind: 'listening',
      talker: 'Leitstelle',
    });
    // Pressing again asks again: busy behind the dispatcher.
    const again = reduceFloor(letGo, { type: 'press', at: 7000 }, ME);
    expect(floorView(again, ME, 7000)).toMatchObject({ kind: 'busy', talker: 'Leitstelle' });
  });

  it('says when the one who broke in made an emergency call', () => {
    const cut = run(
      { type: 'press', at: 0 },
      { type: 'granted', holder: mine },
      { type: 'ended', userId: ME, reason: 'preempted', by: 'Anna', byEmergency: true, at: 10 },
    );
    expect(floorView(cut, ME, 10)).toMatchObject({
      kind: 'preempted',
      talker: 'Anna',
      emergency: true,
    });
  });

  it('keeps the audio state when the same turn is announced again', () => {
    const silent = run({ type: 'granted', holder: anna }, { type: 'audio', state: 'missing' });
    const again = reduceFloor(silent, { type: 'granted', holder: { ...anna } }, ME);
    expect(again.audio).toBe('missing');
    const next = reduceFloor(silent, { type: 'granted', holder: { ...anna, startedAt: 99 } }, ME);
    expect(next.audio).toBe('unknown');
  });

  it('says the talk time is up when the server ends the turn', () => {
    const expired = run(
      { type: 'press', at: 0 },
      { type: 'granted', holder: mine },
      { type: 'ended', userId: ME, reason: 'expired', by: null, at: 30_000 },
    );
    expect(kind(expired, 30_000)).toBe('expired');
    expect(expired.cutOff).toBe(true);
  });

  it('forgets the turn and the queue place when the connection drops', () => {
    const state = run(
      { type: 'granted', holder: anna },
      { type: 'press', at: 0 },
      { type: 'queued', position: 1 },
      { type: 'connection', connected: false },
    );
    expect(kind(state)).toBe('offline');
    expect(state.holder).toBeNull();
    expect(state.request).toBe('none');
    const back = reduceFloor(state, { type: 'connection', connected: true }, ME);
    // Still held across the reconnect; the store asks again.
    expect(back.pressed).toBe(true);
  });

  it('shows an emergency talker as such', () => {
    const state = run({ type: 'granted', holder: { ...anna, emergency: true } });
    expect(floorView(state, ME, 0)).toMatchObject({ kind: 'listening', emergency: true });
  });

  it('shows a failed request with its code until the next press', () => {
    const failed = run({ type: 'press', at: 0 }, { type: 'failed', code: 'NETWORK_ERROR', at: 5 });
    expect(floorView(failed, ME, 10)).toMatchObject({ kind: 'error', code: 'NETWORK_ERROR' });
    expect(kind(reduceFloor(failed, { type: 'release', at: 20 }, ME), 20 + NOTICE_MS)).toBe('idle');
  });
});
