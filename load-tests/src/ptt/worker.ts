import { io, type Socket } from 'socket.io-client';
import { PTT_CLIENT_EVENTS, type PttJoined, type SocketAck } from '@trupp/shared';
import { nowMs } from '../lib/device.ts';
import type {
  PttMember,
  PttRunResult,
  PttSetupResult,
  PttWorkerReply,
  PttWorkerRequest,
} from './protocol.ts';

/**
 * One client process of the ptt-floor bench. In 'trupp' mode each member's socket joins
 * its channel (the SFU creates its two WebRTC transports) and talkers and contenders
 * produce a microphone — with RTP parameters only: no ICE or DTLS, none is needed to ask
 * for the floor, and the bench measures floor control, not media. In 'echo' mode the
 * same sockets talk to a plain socket.io server that acknowledges at once: the baseline.
 */
interface Client {
  member: PttMember;
  socket: Socket;
}

const clients: Client[] = [];
let mode: 'trupp' | 'echo' = 'trupp';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const reply = (message: PttWorkerReply) => process.send!(message);

function emitAck<T>(socket: Socket, event: string, payload: unknown): Promise<SocketAck<T>> {
  return socket.timeout(30_000).emitWithAck(event, payload) as Promise<SocketAck<T>>;
}

async function must<T>(socket: Socket, event: string, payload: unknown): Promise<T> {
  const ack = await emitAck<T>(socket, event, payload);
  if (!ack.ok) throw new Error(`${event}: ${ack.error.code}`);
  return ack.data;
}

async function setupOne(url: string, member: PttMember): Promise<[boolean, boolean, boolean]> {
  const socket = io(url, {
    transports: ['websocket'],
    auth: { token: member.token },
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  clients.push({ member, socket });
  if (mode === 'echo') {
    await must(socket, 'echo.join', { channelId: member.channelId });
    return [true, true, true];
  }
  const joined = await must<PttJoined>(socket, PTT_CLIENT_EVENTS.join, {
    channelId: member.channelId,
  });
  if (!member.talker && !member.contender) return [true, true, false];
  const ssrc = Math.floor(Math.random() * 0xfffffff) + 1;
  await must(socket, PTT_CLIENT_EVENTS.produce, {
    channelId: member.channelId,
    transportId: joined.sendTransport.id,
    rtpParameters: {
      codecs: [
        {
          mimeType: 'audio/opus',
          payloadType: 100,
          clockRate: 48000,
          channels: 2,
          parameters: {},
        },
      ],
      encodings: [{ ssrc }],
    },
  });
  return [true, true, true];
}

async function setup(
  request: Extract<PttWorkerRequest, { cmd: 'setup' }>,
): Promise<PttSetupResult> {
  mode = request.mode;
  const result: PttSetupResult = { connected: 0, joined: 0, produced: 0, errors: [] };
  let next = 0;
  let done = 0;
  const ticker = setInterval(() => reply({ progress: done }), 1000);
  await Promise.all(
    Array.from({ length: request.concurrency }, async () => {
      while (next < request.members.length) {
        const member = request.members[next++]!;
        try {
          const [connected, joined, produced] = await setupOne(request.url, member);
          result.connected += Number(connected);
          result.joined += Number(joined);
          result.produced += Number(produced && (member.talker || member.contender));
        } catch (error) {
          if (result.errors.length < 20) result.errors.push(String(error));
        }
        done += 1;
      }
    }),
  );
  clearInterval(ticker);
  return result;
}

async function run(request: Extract<PttWorkerRequest, { cmd: 'run' }>): Promise<PttRunResult> {
  const result: PttRunResult = {
    grant: [],
    grantAt: [],
    queued: [],
    release: [],
    outcomes: {},
    presses: 0,
    errors: [],
  };
  const count = (key: string) => (result.outcomes[key] = (result.outcomes[key] ?? 0) + 1);
  const fail = (error: unknown) => {
    count('error');
    if (result.errors.length < 20) result.errors.push(String(error));
  };
  const byChannel = new Map<string, { talker?: Socket; contender?: Socket }>();
  for (const { member, socket } of clients) {
    const entry = byChannel.get(member.channelId) ?? {};
    if (member.talker) entry.talker = socket;
    if (member.contender) entry.contender = socket;
    byChannel.set(member.channelId, entry);
  }
  const request_ = mode === 'echo' ? 'echo.request' : PTT_CLIENT_EVENTS.floorRequest;
  const release_ = mode === 'echo' ? 'echo.release' : PTT_CLIENT_EVENTS.floorRelease;
  const end = request.startAt + request.durationMs;

  async function channelLoop(channelId: string, talker: Socket, contender?: Socket) {
    const offset = Math.random() * request.periodMs;
    for (let press = 0; ; press += 1) {
      const at = request.startAt + offset + press * request.periodMs;
      if (at + request.holdMs > end) return;
      const wait = at - nowMs();
      if (wait > 0) await sleep(wait);
      const sent = nowMs();
      result.presses += 1;
      try {
        const ack = await emitAck<{ outcome: string }>(talker, request_, { channelId });
        const took = nowMs() - sent;
        if (!ack.ok) {
          count(ack.error.code);
          continue;
        }
        count(ack.data.outcome);
        if (ack.data.outcome === 'granted') {
          result.grant.push(took);
          result.grantAt.push(sent - request.startAt);
        }
        if (contender && request.contendEvery > 0 && press % request.contendEvery === 0) {
          await sleep(request.holdMs / 3);
          const contendSent = nowMs();
          const contended = await emitAck<{ outcome: string }>(contender, request_, { channelId });
          if (contended.ok) {
            count(`contender.${contended.data.outcome}`);
            if (contended.data.outcome === 'queued' || mode === 'echo') {
              result.queued.push(nowMs() - contendSent);
            }
          } else count(contended.error.code);
          await sleep(request.holdMs / 3);
          await emitAck(contender, release_, { channelId }); // leaves the queue
          await sleep(request.holdMs / 3);
        } else {
          await sleep(request.holdMs);
        }
        const releaseSent = nowMs();
        const released = await emitAck(talker, release_, { channelId });
        if (released.ok) result.release.push(nowMs() - releaseSent);
        else count(released.error.code);
      } catch (error) {
        fail(error);
      }
    }
  }

  await Promise.all(
    [...byChannel].map(([channelId, { talker, contender }]) =>
      talker ? channelLoop(channelId, talker, contender) : Promise.resolve(),
    ),
  );
  return result;
}

process.on('message', (message: PttWorkerRequest) => {
  const handle = async () => {
    if (message.cmd === 'setup') return setup(message);
    if (message.cmd === 'run') return run(message);
    for (const { socket } of clients.splice(0)) socket.close();
    return null;
  };
  handle().then(
    (data) => reply({ id: message.id, ok: true, data }),
    (error: unknown) => reply({ id: message.id, ok: false, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
