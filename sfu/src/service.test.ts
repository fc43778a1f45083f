import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { readOggOpus } from '../test-support/ogg.ts';
import { encodeTone } from '../test-support/opus.ts';
import { sleep, waitFor } from '../test-support/rtp.ts';
import {
  addListener,
  addTalker,
  cleanups,
  NotificationLog,
  runCleanups,
  startTestServer,
} from '../test-support/server.ts';
import { connectSfu } from './client.ts';
import { startSfuService } from './service.ts';
import { SFU_CONTROL_PATH } from './wire.ts';

afterEach(runCleanups);

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const SECRET = randomBytes(24).toString('base64url');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `npm run start:sfu` as a real child process; resolves with its SFU_URL. */
async function startService(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      SFU_WORKERS: '1',
      SFU_RTC_PORT: '0',
      SFU_LISTEN_IP: '127.0.0.1',
      SFU_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const ready = await waitFor(() => /SFU_URL=(\S+)/.test(out) || child.exitCode !== null, 20_000);
  const url = /SFU_URL=(\S+)/.exec(out)?.[1] ?? null;
  return { child, url, ready, exited, output: () => out + err };
}

describe('SFU service over the network (npm run start:sfu)', () => {
  it('serves the control API to a client with the secret: channel, join, transports, audio, notifications', async () => {
    const port = await freePort();
    const service = await startService({ SFU_SECRET: SECRET, SFU_CONTROL_PORT: String(port) });
    expect(service.url, service.output()).toBe(`ws://127.0.0.1:${port}${SFU_CONTROL_PATH}`);

    const notifications = new NotificationLog();
    const sfu = await connectSfu({
      url: service.url!,
      secret: SECRET,
      onNotification: notifications.push,
    });
    cleanups.push(() => sfu.close());

    const directory = mkdtempSync(join(tmpdir(), 'trupp-rec-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const created = await sfu.createChannel('net', { recording: { directory } });
    expect(created.rtpCapabilities.codecs?.[0]?.mimeType).toBe('audio/opus');

    // A WebRTC transport's ICE candidates name the worker's WebRtcServer ports.
    await sfu.join('net', 'web');
    const webrtc = await sfu.createTransport('net', 'web', 'webrtc');
    const stats = await sfu.stats();
    expect(webrtc.iceCandidates!.map((c) => c.port).sort()).toEqual(
      [stats.workers[0]!.udpPort, stats.workers[0]!.tcpPort].sort(),
    );

    // Audio through a remote-controlled SFU, floor enforced, recorded.
    const alice = await addTalker(sfu, 'net', 'alice', encodeTone(25));
    const bob = await addListener(sfu, 'net', 'bob');
    const ssrc = await bob.consume(alice.producerId);
    alice.start();
    expect(await bob.sink.countDuring(ssrc, 300)).toBe(0);
    await sfu.grantFloor('net', alice.producerId, { talker: 'Alice' });
    expect(await waitFor(() => bob.sink.count(ssrc) >= 20, 2_000)).toBe(true);
    await sfu.releaseFloor('net');

    // Notifications are pushed: the recording, and bob's consumer closing when alice leaves.
    const [finished] = await notifications.wait('recording.finished');
    expect(finished).toMatchObject({ channelId: 'net', talker: 'Alice', reason: 'released' });
    expect(readOggOpus(readFileSync(finished!.path)).durationMs).toBeGreaterThan(300);
    expect(await sfu.leave('net', 'alice')).toBe(true);
    const [closed] = await notifications.wait('consumer.closed');
    expect(closed).toMatchObject({
      channelId: 'net',
      participantId: 'bob',
      producerId: alice.producerId,
    });

    // Errors keep their codes across the wire.
    await expect(sfu.grantFloor('nope', 'x')).rejects.toMatchObject({
      name: 'SfuError',
      code: 'SFU_CHANNEL_NOT_FOUND',
      statusCode: 404,
    });
    await expect(
      sfu.produce('net', 'bob', 'no-such-transport', { codecs: [], encodings: [] }),
    ).rejects.toMatchObject({ code: 'SFU_TRANSPORT_NOT_FOUND' });

    // SIGKILL: requests fail fast, the client says so, and reconnects to the new process.
    service.child.kill('SIGKILL');
    await service.exited;
    await notifications.wait('sfu.disconnected');
    await expect(sfu.stats()).rejects.toMatchObject({ code: 'SFU_UNAVAILABLE' });
    await startService({ SFU_SECRET: SECRET, SFU_CONTROL_PORT: String(port) });
    const [connected] = await notifications.wait('sfu.connected', 1, 10_000);
    expect(connected).toEqual({ type: 'sfu.connected', restarted: true });
    expect((await sfu.stats()).channels).toEqual([]);
  }, 60_000);

  it('refuses a wrong secret with a clear error, and will not start without one', async () => {
    const service = await startService({ SFU_SECRET: SECRET, SFU_CONTROL_PORT: '0' });
    await expect(connectSfu({ url: service.url!, secret: `${SECRET}x` })).rejects.toMatchObject({
      code: 'SFU_UNAUTHORIZED',
      statusCode: 401,
      message: expect.stringContaining('SFU_SECRET'),
    });
    await expect(connectSfu({ url: service.url!, secret: '' })).rejects.toMatchObject({
      code: 'SFU_UNAUTHORIZED',
    });
    // Nothing listening: unavailable, not a hang.
    await expect(
      connectSfu({ url: `ws://127.0.0.1:${await freePort()}${SFU_CONTROL_PATH}`, secret: SECRET }),
    ).rejects.toMatchObject({ code: 'SFU_UNAVAILABLE' });

    const unset = await startService({ SFU_SECRET: '', SFU_CONTROL_PORT: '0' });
    expect(await unset.exited).toBe(1);
    expect(unset.output()).toContain('SFU_SECRET is not set');
    const short = await startService({ SFU_SECRET: 'short', SFU_CONTROL_PORT: '0' });
    expect(await short.exited).toBe(1);
    expect(short.output()).toContain('SFU_SECRET must be at least 16 characters');
  }, 60_000);
});

describe('SFU service edge (in-process)', () => {
  it('answers malformed requests with SFU_BAD_REQUEST naming the field, never a 500', async () => {
    const { server } = await startTestServer();
    const service = await startSfuService({
      api: server,
      host: '127.0.0.1',
      port: 0,
      secret: SECRET,
      log: pino({ level: 'silent' }),
    });
    cleanups.push(() => service.close());
    const ws = new WebSocket(service.url, { headers: { authorization: `Bearer ${SECRET}` } });
    cleanups.push(() => ws.close());
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await waitFor(() => frames.length > 0, 2_000);
    expect(frames[0]).toMatchObject({ type: 'hello', instanceId: service.instanceId });

    const ask = async (id: number, request: unknown) => {
      ws.send(JSON.stringify({ id, request }));
      await waitFor(() => frames.some((f) => f.id === id), 2_000);
      return frames.find((f) => f.id === id)!;
    };
    const cases: Array<[unknown, string]> = [
      [{ method: 'explode' }, 'Unknown method'],
      [{ method: 'join', channelId: '', participantId: 'a' }, 'channelId'],
      [{ method: 'join', channelId: 'c', participantId: 7 }, 'participantId'],
      [{ method: 'createTransport', channelId: 'c', participantId: 'a', kind: 'udp' }, 'kind'],
      [
        {
          method: 'connectTransport',
          channelId: 'c',
          participantId: 'a',
          transportId: 't',
          ip: 'x',
        },
        'ip',
      ],
      [{ method: 'setRecording', channelId: 'c', recording: { directory: '../etc' } }, 'directory'],
      [
        {
          method: 'produce',
          channelId: 'c',
          participantId: 'a',
          transportId: 't',
          rtpParameters: [],
        },
        'rtpParameters',
      ],
      ['not an object', 'object'],
    ];
    let id = 1;
    for (const [request, field] of cases) {
      const answer = await ask(id++, request);
      expect(answer, JSON.stringify(request)).toMatchObject({
        ok: false,
        error: {
          code: 'SFU_BAD_REQUEST',
          statusCode: 400,
          message: expect.stringContaining(field),
        },
      });
    }
    // Valid shape, bad mediasoup parameters: a 400 from mediasoup's own validation.
    await server.join('c', 'a');
    const { transportId } = await server.createTransport('c', 'a', 'plain', { comedia: true });
    const answer = await ask(id++, {
      method: 'produce',
      channelId: 'c',
      participantId: 'a',
      transportId,
      rtpParameters: { codecs: [{ mimeType: 'audio/opus' }], encodings: [] },
    });
    expect(answer).toMatchObject({
      ok: false,
      error: { code: 'SFU_BAD_RTP_PARAMETERS', statusCode: 400 },
    });
    // Unknown keys are dropped, the request still works.
    expect(await ask(id++, { method: 'stats', extra: true })).toMatchObject({ ok: true });
    // A frame that is not JSON with an id ends the connection.
    ws.send('garbage');
    expect(await waitFor(() => ws.readyState === WebSocket.CLOSED, 2_000)).toBe(true);
    await sleep(10);
  });
});
