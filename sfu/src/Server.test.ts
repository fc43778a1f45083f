import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { opusRtpParameters, RtpSink, RtpTalker, sleep, waitFor } from '../test-support/rtp.ts';
import { loadSfuConfig, SfuConfigError } from './config.ts';
import { SfuError } from './errors.ts';
import { Server } from './Server.ts';
import type { SfuNotification } from './signaling.ts';

/** Everything a test opened, closed afterwards even when it fails. */
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function startServer(workers = 2) {
  const notifications: SfuNotification[] = [];
  const listeners: ((notification: SfuNotification) => void)[] = [];
  const server = await Server.start({
    config: loadSfuConfig(
      {},
      {
        workers,
        rtcPort: 0,
        listenIp: '127.0.0.1',
        announcedAddress: null,
        workerRestartDelayMs: 100,
      },
    ),
    log: pino({ level: 'silent' }),
    onNotification: (notification) => {
      notifications.push(notification);
      for (const listener of listeners) listener(notification);
    },
  });
  cleanups.push(() => server.close());
  return { server, notifications, listeners };
}

let nextSsrc = 1000;

/** A talker on a comedia plain transport: joins, produces (paused) and sends RTP. */
async function addTalker(server: Server, channelId: string, participantId: string) {
  const talker = new RtpTalker(nextSsrc++);
  cleanups.push(() => talker.close());
  await server.join(channelId, participantId);
  const transport = await server.createTransport(channelId, participantId, 'plain', {
    comedia: true,
  });
  const { producerId } = await server.produce(
    channelId,
    participantId,
    transport.transportId,
    opusRtpParameters(talker.ssrc),
  );
  talker.to({ ip: transport.ip!, port: transport.port! });
  return { talker, producerId };
}

/** A listener with one plain receive transport into a local UDP sink. */
async function addListener(server: Server, channelId: string, participantId: string) {
  const sink = await RtpSink.open();
  cleanups.push(() => sink.close());
  const { rtpCapabilities } = await server.join(channelId, participantId);
  const transport = await server.createTransport(channelId, participantId, 'plain');
  await server.connectTransport(channelId, participantId, transport.transportId, {
    ip: '127.0.0.1',
    port: sink.port,
  });
  /** Consumes a producer and returns the SSRC its packets arrive with. */
  const consume = async (producerId: string): Promise<number> => {
    const consumer = await server.consume(
      channelId,
      participantId,
      transport.transportId,
      producerId,
      rtpCapabilities,
      { paused: false },
    );
    return consumer.rtpParameters.encodings![0]!.ssrc!;
  };
  return { sink, consume };
}

describe('Server (real mediasoup worker)', () => {
  it('gives every WebRTC transport ICE candidates on its worker’s one UDP and one TCP port', async () => {
    const { server } = await startServer(2);
    const { workers } = server.stats();
    expect(workers).toHaveLength(2);
    for (const worker of workers) {
      expect(worker.udpPort).toBeGreaterThan(0);
      expect(worker.tcpPort).toBeGreaterThan(0);
    }
    const seen = new Set<string>();
    for (const channelId of ['ch-a', 'ch-b', 'ch-c']) {
      await server.join(channelId, 'alice');
      for (let i = 0; i < 2; i += 1) {
        const transport = await server.createTransport(channelId, 'alice', 'webrtc');
        const worker =
          workers[server.stats().channels.find((c) => c.channelId === channelId)!.workerIndex]!;
        expect(transport.iceCandidates!.length).toBeGreaterThanOrEqual(2);
        for (const candidate of transport.iceCandidates!) {
          expect(candidate.address).toBe('127.0.0.1');
          expect(candidate.port).toBe(
            candidate.protocol === 'udp' ? worker.udpPort : worker.tcpPort,
          );
          seen.add(`${candidate.protocol}:${candidate.port}`);
        }
        expect(transport.dtlsParameters!.fingerprints.length).toBeGreaterThan(0);
      }
    }
    // Three channels, six transports, but only the two workers' four ports.
    expect(seen.size).toBe(4);
  });

  it('forwards a talker only while it holds the floor, and never two talkers at once', async () => {
    const { server } = await startServer(1);
    const channelId = 'floor';
    const alice = await addTalker(server, channelId, 'alice');
    const carol = await addTalker(server, channelId, 'carol');
    const bob = await addListener(server, channelId, 'bob');
    const fromAlice = await bob.consume(alice.producerId);
    const fromCarol = await bob.consume(carol.producerId);

    // Both send from the start; producers are created paused, so nothing is forwarded.
    await sleep(200);
    expect(alice.talker.sent + carol.talker.sent).toBeGreaterThan(10);
    expect(bob.sink.count(fromAlice) + bob.sink.count(fromCarol)).toBe(0);

    // Carol cannot un-pause herself without the floor.
    await expect(server.resumeProducer(channelId, 'carol')).rejects.toMatchObject({
      code: 'SFU_NOT_FLOOR_HOLDER',
    });

    await server.grantFloor(channelId, alice.producerId);
    expect(await waitFor(() => bob.sink.count(fromAlice) > 0, 500)).toBe(true);
    expect(await bob.sink.countDuring(fromAlice, 400)).toBeGreaterThanOrEqual(12);
    expect(bob.sink.count(fromCarol)).toBe(0);

    // Pre-emption: carol gets the floor, alice is paused in the same step.
    const grant = await server.grantFloor(channelId, carol.producerId);
    expect(grant.previousProducerId).toBe(alice.producerId);
    await sleep(100);
    const [aliceDuring, carolDuring] = await Promise.all([
      bob.sink.countDuring(fromAlice, 500),
      bob.sink.countDuring(fromCarol, 500),
    ]);
    expect(aliceDuring).toBe(0);
    expect(carolDuring).toBeGreaterThanOrEqual(15);

    await server.releaseFloor(channelId);
    await sleep(100);
    const [afterA, afterC] = await Promise.all([
      bob.sink.countDuring(fromAlice, 400),
      bob.sink.countDuring(fromCarol, 400),
    ]);
    expect(afterA + afterC).toBe(0);
    expect(server.stats().channels[0]!.floorProducerId).toBeNull();
  });

  it('lets a late joiner hear the ongoing transmission at once', async () => {
    const { server } = await startServer(1);
    const alice = await addTalker(server, 'late', 'alice');
    await server.grantFloor('late', alice.producerId);
    await sleep(100);

    const joinedAt = performance.now();
    const dave = await addListener(server, 'late', 'dave');
    const { producerIds } = await server.join('late', 'dave');
    expect(producerIds).toEqual([alice.producerId]);
    const ssrc = await dave.consume(alice.producerId);
    expect(await waitFor(() => dave.sink.count(ssrc) > 0, 500)).toBe(true);
    expect(dave.sink.firstAt(ssrc)! - joinedAt).toBeLessThan(500);
  });

  it('frees the floor when the holder leaves, and rejects unknown ids with typed errors', async () => {
    const { server } = await startServer(1);
    const alice = await addTalker(server, 'leave', 'alice');
    await server.grantFloor('leave', alice.producerId);
    expect(server.leave('leave', 'alice')).toBe(true);
    expect(server.leave('leave', 'alice')).toBe(false);
    expect(server.stats().channels[0]!.floorProducerId).toBeNull();
    await expect(server.grantFloor('leave', alice.producerId)).rejects.toBeInstanceOf(SfuError);
    await expect(server.grantFloor('nope', 'x')).rejects.toMatchObject({
      code: 'SFU_CHANNEL_NOT_FOUND',
    });
    await expect(server.createTransport('leave', 'ghost', 'plain')).rejects.toMatchObject({
      code: 'SFU_PARTICIPANT_NOT_FOUND',
    });
  });

  it('creates a channel once when many joins race for it', async () => {
    const { server } = await startServer(2);
    const joins = await Promise.all(
      Array.from({ length: 10 }, (_, i) => server.join('race', `p${i}`)),
    );
    expect(new Set(joins.map((join) => JSON.stringify(join.rtpCapabilities))).size).toBe(1);
    const channels = server.stats().channels;
    expect(channels).toHaveLength(1);
    expect(channels[0]!.participants).toHaveLength(10);
    // The same API as one message, as the network edge will send it.
    const stats = await server.request({ method: 'stats' });
    expect(stats.channels[0]!.channelId).toBe('race');
  });

  it('re-creates the channels of a killed worker and carries RTP again within 2 s', async () => {
    const { server, notifications, listeners } = await startServer(2);
    const channelId = 'survivor';
    const alice = await addTalker(server, channelId, 'alice');
    const bob = await addListener(server, channelId, 'bob');
    const ssrc = await bob.consume(alice.producerId);
    await server.grantFloor(channelId, alice.producerId);
    expect(await waitFor(() => bob.sink.count(ssrc) > 0, 1000)).toBe(true);

    const before = server.stats();
    const workerIndex = before.channels[0]!.workerIndex;
    const pid = before.workers[workerIndex]!.pid!;

    // What the backend does on channel.reset: participants reconnect (alice re-produces
    // and, still holding the floor, gets it again; bob consumes her new producer).
    let resetAt: number | null = null;
    let recovery: Promise<{ sink: RtpSink; ssrc: number }> | null = null;
    listeners.push((notification) => {
      if (notification.type !== 'channel.reset') return;
      resetAt = performance.now();
      recovery = (async () => {
        await server.join(channelId, 'alice');
        const transport = await server.createTransport(channelId, 'alice', 'plain', {
          comedia: true,
        });
        const { producerId } = await server.produce(
          channelId,
          'alice',
          transport.transportId,
          opusRtpParameters(alice.talker.ssrc),
        );
        alice.talker.to({ ip: transport.ip!, port: transport.port! });
        const listener = await addListener(server, channelId, 'bob');
        const newSsrc = await listener.consume(producerId);
        await server.grantFloor(channelId, producerId);
        return { sink: listener.sink, ssrc: newSsrc };
      })();
    });

    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    expect(await waitFor(() => recovery !== null, 2000), 'channel.reset within 2 s').toBe(true);
    const { sink, ssrc: newSsrc } = await recovery!;
    expect(await waitFor(() => sink.count(newSsrc) > 0, 2000)).toBe(true);
    const recoveryMs = sink.firstAt(newSsrc)! - killedAt;
    expect(recoveryMs).toBeGreaterThan(0);
    expect(recoveryMs, 'RTP flows again within 2 s of the kill').toBeLessThan(2000);

    expect(notifications.map((n) => n.type)).toEqual(
      expect.arrayContaining(['worker.died', 'worker.restarted', 'channel.reset']),
    );
    const reset = notifications.find((n) => n.type === 'channel.reset');
    expect(reset).toMatchObject({ channelId, participantIds: ['alice', 'bob'] });
    const after = server.stats();
    expect(after.workers[workerIndex]!.pid).not.toBe(pid);
    expect(after.workers[workerIndex]!.restarts).toBe(1);
    expect(after.channels).toHaveLength(1);
    expect(await sink.countDuring(newSsrc, 400)).toBeGreaterThanOrEqual(12);
    console.warn(
      `[sfu test] worker kill → channel.reset after ${Math.round(resetAt! - killedAt)} ms, RTP again after ${Math.round(recoveryMs)} ms`,
    );
  });
});

describe('loadSfuConfig', () => {
  it('reports every invalid variable at once', () => {
    try {
      loadSfuConfig({ SFU_WORKERS: '0', SFU_RTC_PORT: 'x', SFU_LISTEN_IP: 'here' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SfuConfigError);
      expect((error as SfuConfigError).problems).toHaveLength(3);
    }
  });

  it('announces a reachable address when listening on all interfaces', () => {
    const config = loadSfuConfig({ SFU_WORKERS: '3', SFU_RTC_PORT: '41000' });
    expect(config).toMatchObject({ workers: 3, rtcPort: 41000, listenIp: '0.0.0.0' });
    expect(config.announcedAddress).not.toBe('0.0.0.0');
    expect(loadSfuConfig({ SFU_ANNOUNCED_IP: '203.0.113.7' }).announcedAddress).toBe('203.0.113.7');
    expect(Object.isFrozen(config)).toBe(true);
  });
});
