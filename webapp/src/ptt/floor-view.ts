/**
 * What the push-to-talk button shows, as a pure reducer plus a view function: the store
 * feeds it the user's presses and the server's floor notifications, the page renders
 * `floorView(state, now)`. No timers and no I/O — the clock is passed in — so every
 * transition is unit-tested.
 *
 * The server decides who talks; this only mirrors it. Two things are local on purpose:
 * "talking" needs the floor *and* the button held (letting go shows idle at once, before
 * the release round trip), and a turn ended by someone else (pre-empted, time up) stays on
 * screen while the button is held and for `NOTICE_MS` after, so the member learns why
 * they were cut off.
 */

/** How long a "pre-empted" / "time is up" / "busy" notice stays after the button is let go. */
export const NOTICE_MS = 5000;

export interface FloorTalker {
  userId: string;
  name: string;
  /** 'member' | 'lead' | 'dispatcher' as the server ranks them. */
  priority: string;
  emergency: boolean;
  /** Local clock (ms) at which the turn started. */
  startedAt: number;
  /** Longest turn in ms; 0 for no limit. */
  maxTalkMs: number;
}

export type FloorNotice =
  | { kind: 'preempted'; by: string | null; byEmergency: boolean; at: number }
  | { kind: 'expired'; at: number }
  | { kind: 'denied'; at: number }
  | { kind: 'error'; code: string; at: number };

export interface FloorState {
  /** Joined and the socket is up; without it nothing can be requested. */
  connected: boolean;
  /** The user holds the button (pointer, space bar or hardware key). */
  pressed: boolean;
  /** This press's request: sent and unanswered, or waiting in the queue. */
  request: 'none' | 'pending' | 'queued';
  queuePosition: number | null;
  holder: FloorTalker | null;
  /** Audio of someone else's turn: unknown until measured. */
  audio: 'unknown' | 'flowing' | 'missing';
  notice: FloorNotice | null;
  /** A press that ended by the server (pre-empted, time up) needs a new press to talk again. */
  cutOff: boolean;
}

export type FloorInput =
  | { type: 'connection'; connected: boolean }
  | { type: 'press'; at: number }
  | { type: 'release'; at: number }
  | { type: 'granted'; holder: FloorTalker }
  | { type: 'queued'; position: number }
  | { type: 'denied'; at: number }
  | {
      type: 'ended';
      userId: string;
      reason: 'released' | 'expired' | 'left' | 'preempted' | string;
      by: string | null;
      /** For `preempted`: the one who broke in made an emergency call. */
      byEmergency?: boolean;
      at: number;
    }
  | { type: 'idle' }
  | { type: 'failed'; code: string; at: number }
  | { type: 'audio'; state: FloorState['audio'] };

export function initialFloorState(): FloorState {
  return {
    connected: false,
    pressed: false,
    request: 'none',
    queuePosition: null,
    holder: null,
    audio: 'unknown',
    notice: null,
    cutOff: false,
  };
}

/** Applies one input; `me` is the signed-in user's id. Never mutates `state`. */
export function reduceFloor(state: FloorState, input: FloorInput, me: string): FloorState {
  switch (input.type) {
    case 'connection':
      return input.connected
        ? { ...state, connected: true }
        : // The server forgets a disconnected talker's turn and queue place; so do we.
          { ...state, connected: false, request: 'none', queuePosition: null, holder: null };
    case 'press':
      if (state.pressed) return state;
      return {
        ...state,
        pressed: true,
        cutOff: false,
        notice: null,
        request: state.holder?.userId === me ? 'none' : 'pending',
        queuePosition: null,
      };
    case 'release':
      return { ...state, pressed: false, request: 'none', queuePosition: null, cutOff: false };
    case 'granted': {
      const mine = input.holder.userId === me;
      // The floor is re-announced after every queue change; only a new turn resets audio.
      const sameTurn =
        state.holder?.userId === input.holder.userId &&
        state.holder.startedAt === input.holder.startedAt;
      return {
        ...state,
        holder: input.holder,
        audio: sameTurn ? state.audio : 'unknown',
        request: mine ? 'none' : state.request,
        queuePosition: mine ? null : state.queuePosition,
      };
    }
    case 'queued':
      if (!state.pressed) return state;
      return { ...state, request: 'queued', queuePosition: input.position };
    case 'denied':
      return {
        ...state,
        request: 'none',
        queuePosition: null,
        notice: { kind: 'denied', at: input.at },
      };
    case 'ended': {
      const holder = state.holder?.userId === input.userId ? null : state.holder;
      if (input.userId !== me) return { ...state, holder, audio: holder ? state.audio : 'unknown' };
      if (input.reason === 'preempted') {
        return {
          ...state,
          holder,
          cutOff: state.pressed,
          notice: {
            kind: 'preempted',
            by: input.by,
            byEmergency: input.byEmergency ?? false,
            at: input.at,
          },
        };
      }
      if (input.reason === 'expired') {
        return {
          ...state,
          holder,
          cutOff: state.pressed,
          notice: { kind: 'expired', at: input.at },
        };
      }
      // Released or left: our own doing, or a dequeue — nothing to explain.
      return {
        ...state,
        holder,
        request: state.request === 'queued' ? 'none' : state.request,
        queuePosition: null,
      };
    }
    case 'idle':
      return { ...state, holder: null, audio: 'unknown' };
    case 'failed':
      return {
        ...state,
        request: 'none',
        queuePosition: null,
        notice: { kind: 'error', code: input.code, at: input.at },
      };
    case 'audio':
      return state.audio === input.state ? state : { ...state, audio: input.state };
  }
}

export type FloorViewKind =
  | 'offline'
  | 'idle'
  | 'requesting'
  | 'talking'
  | 'listening'
  | 'busy'
  | 'preempted'
  | 'expired'
  | 'noAudio'
  | 'error';

export interface FloorView {
  kind: FloorViewKind;
  /** The talker to name: who is heard (listening, busy, no audio) or who broke in. */
  talker: string | null;
  /** The talker's turn is an emergency call (for `preempted`: the one who broke in made one). */
  emergency: boolean;
  queuePosition: number | null;
  /** Error code for `error`. */
  code: string | null;
}

function view(kind: FloorViewKind, extra: Partial<FloorView> = {}): FloorView {
  return { kind, talker: null, emergency: false, queuePosition: null, code: null, ...extra };
}

function noticeIsFresh(state: FloorState, now: number): boolean {
  return state.notice !== null && (state.pressed || now - state.notice.at < NOTICE_MS);
}

/** The one state the button and the status line show. */
export function floorView(state: FloorState, me: string, now: number): FloorView {
  if (!state.connected) return view('offline');
  const holder = state.holder;
  const other = holder && holder.userId !== me ? holder : null;
  const talkerOf = other
    ? { talker: other.name, emergency: other.emergency }
    : { talker: null, emergency: false };

  if (holder?.userId === me && state.pressed) {
    return view('talking', { emergency: holder.emergency });
  }
  if (noticeIsFresh(state, now)) {
    const notice = state.notice!;
    if (notice.kind === 'preempted') {
      return view('preempted', {
        talker: notice.by ?? other?.name ?? null,
        emergency: notice.byEmergency,
      });
    }
    if (notice.kind === 'expired') return view('expired');
    if (notice.kind === 'error') return view('error', { code: notice.code });
    if (notice.kind === 'denied' && other) return view('busy', talkerOf);
  }
  if (state.pressed && !state.cutOff) {
    if (other) return view('busy', { ...talkerOf, queuePosition: state.queuePosition });
    if (state.request !== 'none') return view('requesting', { queuePosition: state.queuePosition });
  }
  if (other) return view(state.audio === 'missing' ? 'noAudio' : 'listening', talkerOf);
  return view('idle');
}
