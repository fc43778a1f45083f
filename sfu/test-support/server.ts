import { pino } from 'pino';
import { loadSfuConfig } from '../src/config.ts';
import { Server } from '../src/Server.ts';
import type { SfuApi, SfuNotification } from '../src/signaling.ts';
import { opusRtpParameters, RtpSink, RtpTalker, waitFor } from './rtp.ts';

/** Everything a test opened; `runCleanups()` in afterEach closes it, newest first. */
export const cleanups: (() => unknown)[] = [];
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** Notifications as they arrive, with a way to wait for the next one of a kind. */
export class NotificationLog {
  readonly all: SfuNotification[] = [];

  push = (notification: SfuNotification): void => {
    this.all.push(notification);
  };

  of<T extends SfuNotification['type']>(type: T): Extract<SfuNotification, { type: T }>[] {
    return this.all.filter((n): n is Extract<SfuNotification, { type: T }> => n.type === type);
  }

  /** Waits until `count` notifications of `type` have arrived; returns them. */
  async wait<T extends SfuNotification['type']>(
    type: T,
    count = 1,
    timeoutMs = 3_000,
  ): Promise<Extract<SfuNotification, { type: T }>[]> {
    const ok = await waitFor(() => this.of(type).length >= count, timeoutMs);
    if (!ok)
      throw new Error(`expected ${count} ${type} notification(s), got ${this.of(type).length}`);
    return this.of(type);
  }
}

/** An in-process SFU on loopback with free ports. */
export async function startTestServer(workers = 1) {
  const notifications = new NotificationLog();
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
    onNotification: notifications.push,
  });
  cleanups.push(() => server.close());
  return { server, notifications };
}

let nextSsrc = 50_000;

/** A talker on a comedia plain transport: joins, produces (paused) and sends RTP. */
export async function addTalker(
  api: SfuApi,
  channelId: string,
  participantId: string,
  payloads?: Buffer[],
) {
  const talker = new RtpTalker(nextSsrc++, { payloads });
  cleanups.push(() => talker.close());
  await api.join(channelId, participantId);
  const transport = await api.createTransport(channelId, participantId, 'plain', {
    comedia: true,
  });
  const { producerId } = await api.produce(
    channelId,
    participantId,
    transport.transportId,
    opusRtpParameters(talker.ssrc),
  );
  return {
    talker,
    producerId,
    /** Starts sending (until then the talker is silent). */
    start: () => talker.to({ ip: transport.ip!, port: transport.port! }),
  };
}

/** A listener with one plain receive transport into a local UDP sink. */
export async function addListener(api: SfuApi, channelId: string, participantId: string) {
  const sink = await RtpSink.open();
  cleanups.push(() => sink.close());
  const { rtpCapabilities } = await api.join(channelId, participantId);
  const transport = await api.createTransport(channelId, participantId, 'plain');
  await api.connectTransport(channelId, participantId, transport.transportId, {
    ip: '127.0.0.1',
    port: sink.port,
  });
  /** Consumes a producer and returns the SSRC its packets arrive with. */
  const consume = async (producerId: string): Promise<number> => {
    const consumer = await api.consume(
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
