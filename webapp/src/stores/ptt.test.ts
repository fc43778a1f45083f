import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import {
  PTT_CLIENT_EVENTS,
  PTT_SERVER_EVENTS,
  type PttConsumer,
  type PttFloorState,
  type PttJoined,
  type PttMyChannel,
} from '@trupp/shared';

/**
 * The push-to-talk store against a scripted server: the socket module, the HTTP client and
 * the media class are stubbed (the browser test runs the real ones), so joining, floor
 * handling and the transparent rejoin after a dropped connection can be driven step by step.
 */

// ---- the socket, as a tiny scripted server
type Handler = (payload: Record<string, unknown>) => unknown;
const server = vi.hoisted(() => ({
  connected: true,
  handlers: new Map<string, Handler>(),
  calls: [] as { event: string; payload: Record<string, unknown> }[],
  listeners: new Map<string, Set<(payload: unknown) => void>>(),
  onConnect: new Set<() => void>(),
  onDisconnect: new Set<() => void>(),
}));

vi.mock('../realtime/socket.ts', () => ({
  isConnected: () => server.connected,
  emitWithAck: async (event: string, payload: Record<string, unknown>) => {
    server.calls.push({ event, payload });
    if (!server.connected) throw new Error('not connected');
    const handler = server.handlers.get(event);
    return handler ? handler(payload) : null;
  },
  onServerEvent: (event: string, listener: (payload: unknown) => void) => {
    let set = server.listeners.get(event);
    if (!set) server.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  },
  onConnected: (listener: () => void) => {
    server.onConnect.add(listener);
    if (server.connected) listener();
    return () => server.onConnect.delete(listener);
  },
  onDisconnected: (listener: () => void) => {
    server.onDisconnect.add(listener);
    return () => server.onDisconnect.delete(listener);
  },
}));

function push(event: string, payload: unknown): void {
  server.listeners.get(event)?.forEach((listener) => listener(payload));
}
function disconnect(): void {
  server.connected = false;
  server.onDisconnect.forEach((l) => l());
}
function reconnect(): void {
  server.connected = true;
  server.onConnect.forEach((l) => l());
}
const callsOf = (event: string) => server.calls.filter((c) => c.event === event);

// ---- HTTP and the signed-in user
const channels: PttMyChannel[] = [
  { id: 'c1', name: 'Zug 1', priority: false, recorded: false, maxTalkSeconds: 30, alarmId: null },
  {
    id: 'c2',
    name: 'Leitstelle',
    priority: true,
    recorded: true,
    maxTalkSeconds: 60,
    alarmId: null,
  },
];
vi.mock('../api/ptt.ts', () => ({
  listMyChannels: async () => channels,
  listEmergencies: async () => [],
  listRecordings: async () => [],
  acknowledgeEmergency: vi.fn(),
}));
vi.mock('./session.ts', async () => {
  const { reactive: makeReactive } = await import('vue');
  const state = makeReactive({ me: { id: 'me' }, signedIn: true, can: () => true });
  return { useSessionStore: () => state, sessionState: state };
});
vi.mock('../ptt/audio.ts', () => ({ playTone: vi.fn(), unlockAudio: vi.fn() }));

// ---- media: records what the store asks of it
const media = vi.hoisted(() => ({
  opened: [] as FakeMedia[],
}));
interface FakeMedia {
  channelId: string;
  transmitting: boolean;
  closed: boolean;
  consumers: string[];
}
vi.mock('../ptt/channel-media.ts', () => ({
  ChannelMedia: {
    async open(joined: PttJoined) {
      const fake = {
        channelId: joined.channel.id,
        transmitting: false,
        closed: false,
        consumers: [] as string[],
        device: { rtpCapabilities: { codecs: [] } },
        onFailed: null,
        microphoneTrack: null,
        async startMicrophone() {},
        setTransmitting(on: boolean) {
          this.transmitting = on;
        },
        async addConsumer(c: PttConsumer) {
          if (!this.consumers.includes(c.id)) this.consumers.push(c.id);
        },
        removeConsumer(id: string) {
          this.consumers = this.consumers.filter((x) => x !== id);
        },
        trackOf: () => null,
        inbound: async () => null,
        close() {
          this.closed = true;
        },
      };
      media.opened.push(fake);
      return fake;
    },
  },
}));

const { usePttStore } = await import('./ptt.ts');
const { sessionState: session } = (await import('./session.ts')) as unknown as {
  sessionState: { signedIn: boolean };
};

let turn = 0;
const idle = (channelId: string): PttFloorState => ({
  channelId,
  holder: null,
  queueLength: 0,
  turn,
});
/** A new turn (the server numbers them). */
function held(channelId: string, userId: string, displayName: string): PttFloorState {
  turn += 1;
  return {
    channelId,
    turn,
    holder: {
      userId,
      displayName,
      priority: userId === 'disp' ? 'dispatcher' : 'member',
      emergency: false,
      since: new Date().toISOString(),
      deadline: new Date(Date.now() + 30_000).toISOString(),
    },
    queueLength: 0,
  };
}
function joinedAnswer(channelId: string, floor = idle(channelId)): PttJoined {
  const transport = {
    id: `${channelId}-t`,
    iceParameters: {},
    iceCandidates: [],
    dtlsParameters: {},
  };
  return {
    channel: channels.find((c) => c.id === channelId)!,
    rtpCapabilities: {},
    sendTransport: transport,
    recvTransport: transport,
    floor,
    audibleChannelId: null,
  };
}
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const consumer = (channelId: string, id: string, userId: string): PttConsumer => ({
  channelId,
  id,
  producerId: `p-${id}`,
  kind: 'audio',
  rtpParameters: {},
  userId,
});

beforeEach(() => {
  setActivePinia(createPinia());
  localStorage.clear();
  server.connected = true;
  server.handlers.clear();
  server.calls = [];
  server.listeners.clear();
  server.onConnect.clear();
  server.onDisconnect.clear();
  session.signedIn = true;
  media.opened = [];
  server.handlers.set(PTT_CLIENT_EVENTS.join, (p) => joinedAnswer(p.channelId as string));
  server.handlers.set(PTT_CLIENT_EVENTS.consume, (p) => ({
    consumers: [consumer(p.channelId as string, 'k-anna', 'anna')],
  }));
  server.handlers.set(PTT_CLIENT_EVENTS.scan, () => ({ audibleChannelId: null }));
  server.handlers.set(PTT_CLIENT_EVENTS.floorRelease, (p) => ({
    floor: idle(p.channelId as string),
  }));
});

describe('the push-to-talk store', () => {
  it('joins the first channel on opening, with the consumers already there', async () => {
    const ptt = usePttStore();
    await ptt.open();
    expect(ptt.settings.selected).toBe('c1');
    expect(callsOf(PTT_CLIENT_EVENTS.join).map((c) => c.payload.channelId)).toEqual(['c1']);
    expect(media.opened[0]!.consumers).toEqual(['k-anna']);
    expect(callsOf(PTT_CLIENT_EVENTS.scan).at(-1)!.payload).toEqual({
      scanChannelIds: ['c1'],
      selectedChannelId: 'c1',
    });
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('idle');
  });

  it('talks while held: microphone on, granted, then released', async () => {
    const ptt = usePttStore();
    await ptt.open();
    server.handlers.set(PTT_CLIENT_EVENTS.floorRequest, (p) => ({
      outcome: 'granted',
      queuePosition: null,
      reason: null,
      floor: held(p.channelId as string, 'me', 'Me'),
      emergencyId: null,
    }));
    ptt.press();
    // The microphone starts with the press, before the grant comes back.
    expect(media.opened[0]!.transmitting).toBe(true);
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('requesting');
    await flush();
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('talking');
    ptt.release();
    expect(media.opened[0]!.transmitting).toBe(false);
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('idle');
    expect(callsOf(PTT_CLIENT_EVENTS.floorRelease)).toHaveLength(1);
  });

  it('stops the microphone and says so when queued behind a talker and then pre-empted', async () => {
    const ptt = usePttStore();
    await ptt.open();
    push(PTT_SERVER_EVENTS.floor, held('c1', 'anna', 'Anna'));
    server.handlers.set(PTT_CLIENT_EVENTS.floorRequest, () => ({
      outcome: 'queued',
      queuePosition: 1,
      reason: null,
      floor: { ...held('c1', 'anna', 'Anna'), queueLength: 1 },
      emergencyId: null,
    }));
    ptt.press();
    await flush();
    expect(ptt.viewOf('c1', Date.now())).toMatchObject({
      kind: 'busy',
      talker: 'Anna',
      queuePosition: 1,
    });
    // Granted from the queue, then the dispatcher breaks in.
    push(PTT_SERVER_EVENTS.floor, held('c1', 'me', 'Me'));
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('talking');
    // The new state carries the turn it ended.
    push(PTT_SERVER_EVENTS.floor, {
      ...held('c1', 'disp', 'Leitstelle'),
      ended: [
        {
          channelId: 'c1',
          userId: 'me',
          displayName: 'Me',
          reason: 'preempted',
          byUserId: 'disp',
          byDisplayName: 'Leitstelle',
          byEmergency: false,
          mine: false,
        },
      ],
    });
    expect(media.opened[0]!.transmitting).toBe(false);
    expect(ptt.viewOf('c1', Date.now())).toMatchObject({ kind: 'preempted', talker: 'Leitstelle' });
  });

  it('ignores a floor state older than one it already has', async () => {
    const ptt = usePttStore();
    await ptt.open();
    const annaTurn = held('c1', 'anna', 'Anna');
    const benTurn = held('c1', 'ben', 'Ben');
    push(PTT_SERVER_EVENTS.floor, benTurn);
    // Anna's older turn arrives late (another server node): Ben is still the talker.
    push(PTT_SERVER_EVENTS.floor, annaTurn);
    expect(ptt.viewOf('c1', Date.now())).toMatchObject({ kind: 'listening', talker: 'Ben' });
    // Ben's turn ended; a late copy of it with Ben as holder does not bring him back.
    push(PTT_SERVER_EVENTS.floor, { ...benTurn, holder: null });
    push(PTT_SERVER_EVENTS.floor, benTurn);
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('idle');
  });

  it('rejoins by itself after the connection drops, and asks again for a button still held', async () => {
    const ptt = usePttStore();
    await ptt.open();
    server.handlers.set(PTT_CLIENT_EVENTS.floorRequest, (p) => ({
      outcome: 'granted',
      queuePosition: null,
      reason: null,
      floor: held(p.channelId as string, 'me', 'Me'),
      emergencyId: null,
    }));
    ptt.press();
    await flush();
    disconnect();
    expect(media.opened[0]!.closed).toBe(true);
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('offline');
    reconnect();
    await flush();
    await flush();
    expect(callsOf(PTT_CLIENT_EVENTS.join)).toHaveLength(2);
    expect(media.opened).toHaveLength(2);
    expect(media.opened[1]!.transmitting).toBe(true);
    expect(callsOf(PTT_CLIENT_EVENTS.floorRequest)).toHaveLength(2);
    expect(ptt.viewOf('c1', Date.now()).kind).toBe('talking');
    expect(ptt.joined.get('c1')!.status).toBe('ready');
  });

  it('joins again when the channel media was reset, and plays consumers announced meanwhile', async () => {
    const ptt = usePttStore();
    await ptt.open();
    push(PTT_SERVER_EVENTS.channelLeft, { channelId: 'c1', reason: 'media_reset' });
    push(PTT_SERVER_EVENTS.consumer, consumer('c1', 'k-ben', 'ben'));
    await flush();
    await flush();
    expect(media.opened).toHaveLength(2);
    expect(media.opened[0]!.closed).toBe(true);
    expect(media.opened[1]!.consumers.sort()).toEqual(['k-anna', 'k-ben']);
  });

  it('drops a join that is answered after the channel was left', async () => {
    const ptt = usePttStore();
    await ptt.open();
    let answer: (value: PttJoined) => void = () => undefined;
    server.handlers.set(
      PTT_CLIENT_EVENTS.join,
      () => new Promise<PttJoined>((resolve) => (answer = resolve)),
    );
    const monitoring = ptt.setScanned('c2', true);
    await flush();
    const leaving = ptt.setScanned('c2', false);
    answer(joinedAnswer('c2'));
    await Promise.all([monitoring, leaving]);
    expect(ptt.joined.has('c2')).toBe(false);
    expect(media.opened.filter((m) => m.channelId === 'c2' && !m.closed)).toHaveLength(0);
  });

  it('raises an emergency call on the selected channel', async () => {
    const ptt = usePttStore();
    await ptt.open();
    server.handlers.set(PTT_CLIENT_EVENTS.floorRequest, (p) => ({
      outcome: 'granted',
      queuePosition: null,
      reason: null,
      floor: {
        ...held(p.channelId as string, 'me', 'Me'),
        holder: { ...held('c1', 'me', 'Me').holder!, emergency: true },
      },
      emergencyId: 'e1',
    }));
    ptt.raiseEmergency();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(callsOf(PTT_CLIENT_EVENTS.floorRequest)[0]!.payload).toMatchObject({
      channelId: 'c1',
      emergency: true,
    });
    expect(ptt.emergencyActive).toBe(true);
    expect(ptt.viewOf('c1', Date.now())).toMatchObject({ kind: 'talking', emergency: true });
    ptt.release();
    expect(ptt.emergencyActive).toBe(false);
  });

  it('leaves everything when the session ends', async () => {
    const ptt = usePttStore();
    await ptt.open();
    session.signedIn = false;
    // The store watches the session; a reactive getter change needs a tick.
    await flush();
    expect(ptt.joined.size).toBe(0);
    expect(media.opened[0]!.closed).toBe(true);
  });
});
