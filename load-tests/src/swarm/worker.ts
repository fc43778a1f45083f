import WebSocket from 'ws';
import { ALARM_SERVER_EVENTS } from '@trupp/shared';
import { AlarmDevice, nowMs } from '../lib/device.ts';
import { positionMember, positionResults, reportPositions, resetPositions } from './positions.ts';
import type {
  SwarmCollected,
  SwarmCounts,
  SwarmReply,
  SwarmRequest,
  SwarmResponded,
} from './protocol.ts';

/**
 * One swarm process: a share of the devices, either Trupp devices (socket.io, inbox,
 * sync, ack) or plain `ws` sockets for the baseline. Driven over IPC by the bench.
 */
interface Member {
  receivedAt: number;
  ackedAt: number;
  close(): void;
}

let members: Member[] = [];
let devices: AlarmDevice[] = [];
let sample: string | null = null;
let failed = 0;
const errors = new Set<string>();

const send = (reply: SwarmReply) => process.send!(reply);

function trupp(
  url: string,
  token: string,
): { member: Member; device: AlarmDevice; ready: Promise<void> } {
  const member: Member = { receivedAt: NaN, ackedAt: NaN, close: () => device.close() };
  const device = new AlarmDevice(url, token, {
    onRaised: (_alarm, at) => {
      if (Number.isNaN(member.receivedAt)) member.receivedAt = at;
    },
    onAcked: (_id, at) => {
      if (Number.isNaN(member.ackedAt)) member.ackedAt = at;
    },
  });
  return { member, device, ready: device.connect() };
}

function plain(url: string): { member: Member; ready: Promise<void> } {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const member: Member = { receivedAt: NaN, ackedAt: NaN, close: () => socket.terminate() };
  socket.on('message', (data: Buffer) => {
    const at = nowMs();
    // Decode like a socket.io client would: strip the packet type, parse the JSON.
    const text = data.toString();
    JSON.parse(text.slice(2));
    if (Number.isNaN(member.receivedAt)) member.receivedAt = at;
  });
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { member, ready };
}

async function connect(request: Extract<SwarmRequest, { cmd: 'connect' }>): Promise<SwarmCounts> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < request.tokens.length) {
      const token = request.tokens[next++]!;
      const made =
        request.kind === 'socketio'
          ? trupp(request.url, token)
          : request.kind === 'ws'
            ? plain(request.url)
            : positionMember(request.kind, request.url, token);
      members.push(made.member);
      if ('device' in made) devices.push(made.device as AlarmDevice);
      try {
        await made.ready;
      } catch (error) {
        failed++;
        errors.add(error instanceof Error ? error.message : String(error));
      }
      if (++done % 250 === 0) send({ progress: done });
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, lane));
  if (request.kind === 'socketio') {
    // Keep the first payload exactly as the wire carried it, for the baseline.
    const first = devices[0];
    if (first) {
      const engine = first.socket.io.engine;
      const onPacket = (packet: { type: string; data?: unknown }) => {
        if (
          packet.type === 'message' &&
          typeof packet.data === 'string' &&
          packet.data.startsWith(`2["${ALARM_SERVER_EVENTS.raised}"`)
        ) {
          sample = `4${packet.data}`;
          engine.off('packet', onPacket);
        }
      };
      engine.on('packet', onPacket);
    }
  }
  return counts();
}

function counts(): SwarmCounts {
  return {
    connected: members.length - failed,
    failed,
    received: members.filter((m) => !Number.isNaN(m.receivedAt)).length,
    acked: members.filter((m) => !Number.isNaN(m.ackedAt)).length,
  };
}

async function respond(alarmId: string): Promise<SwarmResponded> {
  const startedAt = nowMs();
  const doneAt: number[] = [];
  let notOk = 0;
  const errs = new Set<string>();
  await Promise.all(
    devices.map(async (device, i) => {
      try {
        const ack = await device.respond(alarmId, 'coming');
        if (ack.ok) doneAt[i] = nowMs();
        else {
          notOk++;
          errs.add(ack.error.code);
          doneAt[i] = NaN;
        }
      } catch (error) {
        notOk++;
        errs.add(error instanceof Error ? error.message : String(error));
        doneAt[i] = NaN;
      }
    }),
  );
  return { startedAt, doneAt, failed: notOk, errors: [...errs] };
}

process.on('message', (request: SwarmRequest) => {
  const run = async (): Promise<unknown> => {
    switch (request.cmd) {
      case 'connect':
        return connect(request);
      case 'counts':
        return counts();
      case 'collect':
        return {
          receivedAt: members.map((m) => m.receivedAt),
          ackedAt: members.map((m) => m.ackedAt),
          sample,
          errors: [...errors, ...devices.flatMap((d) => (d.lastError ? [d.lastError] : []))].slice(
            0,
            20,
          ),
        } satisfies SwarmCollected;
      case 'respond':
        return respond(request.alarmId);
      case 'report':
        return reportPositions(request);
      case 'positions':
        return positionResults();
      case 'close':
        for (const m of members) m.close();
        resetPositions();
        members = [];
        devices = [];
        sample = null;
        failed = 0;
        errors.clear();
        return null;
    }
  };
  run().then(
    (data) => send({ id: request.id, ok: true, data }),
    (error: unknown) => send({ id: request.id, ok: false, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
