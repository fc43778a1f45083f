import os from 'node:os';
import {
  cumulativeSvg,
  histogramSvg,
  percentiles,
  round,
  writeReport,
  type Target,
} from '../lib/report.ts';
import { opusProducerParameters, startSfuUnderTest, type SfuUnderTest } from '../lib/sfu.ts';
import { cpuSeconds } from '../lib/system.ts';
import { RtpPeer } from '../rtp/pool.ts';
import type { Endpoint } from '../rtp/protocol.ts';

/**
 * late-entry: a talker holds the floor and sends (50 packets/s); one new listener after
 * another joins the channel — join, create a plain transport, connect it, consume the
 * talker — and the time from the start of the join to its first audio packet is measured.
 * The control calls go over the SFU's network API, as a backend with a separate SFU
 * makes them. Baseline in the same run: a raw UDP relay, fed the same talker, gets a new
 * listener's address (over IPC) — its join → first packet is the wait for the next packet
 * plus the IPC, the floor under any late entry.
 *
 * Listeners stay joined, so the channel grows to `joins` listeners during the run.
 */
export interface LateEntryOptions {
  joins: number;
  /** Random pause between joins (ms), so joins fall at every phase of the 20 ms clock. */
  gapMs: number;
  sfuUrl: string | null;
  sfuSecret: string | null;
}

export const TARGETS = { p99_ms: 150 } as const;

type Log = (line: string) => void;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHANNEL = 'bench-late-entry';
const PAYLOAD_TYPE = 100;
const hr = () => process.hrtime.bigint();
const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;

export async function lateEntry(
  options: LateEntryOptions,
  log: Log,
): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg().map((v) => round(v, 1));
  let under: SfuUnderTest | null = null;
  const peers: RtpPeer[] = [];
  try {
    under = await startSfuUnderTest(
      { url: options.sfuUrl, secret: options.sfuSecret, workers: 1 },
      log,
    );
    const { sfu, workerPid } = under;
    const talker = new RtpPeer('talker');
    const relay = new RtpPeer('relay');
    const receiver = new RtpPeer('receiver');
    peers.push(talker, relay, receiver);

    await sfu.createChannel(CHANNEL);
    await sfu.join(CHANNEL, 'talker');
    const send = await sfu.createTransport(CHANNEL, 'talker', 'plain', { comedia: true });
    const ssrc = 0x1a7e0001;
    const { producerId } = await sfu.produce(
      CHANNEL,
      'talker',
      send.transportId,
      opusProducerParameters(ssrc, PAYLOAD_TYPE),
    );
    await sfu.grantFloor(CHANNEL, producerId);
    const relayPort = await relay.ask<number>({ cmd: 'relay' });
    // One talker, two copies of its stream: into the SFU and into the relay.
    await talker.ask({
      cmd: 'talk',
      streams: [
        { ssrc, target: { ip: send.ip!, port: send.port! } },
        { ssrc, target: { ip: '127.0.0.1', port: relayPort } },
      ],
      payloadType: PAYLOAD_TYPE,
      payloadBytes: 80,
    });
    const sfuPorts = await receiver.ask<number[]>({ cmd: 'open', count: options.joins });
    const relayPorts = await receiver.ask<number[]>({ cmd: 'open', count: options.joins });
    await sleep(500);

    const cpuBefore = cpuSeconds(workerPid);
    const joinStart: bigint[] = [];
    const consumed: bigint[] = [];
    const relayStart: bigint[] = [];
    const relayTargets: Endpoint[] = [];
    const errors = new Set<string>();
    let lastLog = Date.now();
    for (let i = 0; i < options.joins; i += 1) {
      await sleep(options.gapMs / 2 + Math.random() * options.gapMs);
      const name = `late-${i}`;
      joinStart[i] = hr();
      try {
        const { rtpCapabilities: caps } = await sfu.join(CHANNEL, name);
        const t = await sfu.createTransport(CHANNEL, name, 'plain');
        await sfu.connectTransport(CHANNEL, name, t.transportId, {
          ip: '127.0.0.1',
          port: sfuPorts[i]!,
        });
        await sfu.consume(
          CHANNEL,
          name,
          t.transportId,
          producerId,
          { codecs: caps.codecs, headerExtensions: [] },
          { paused: false },
        );
        consumed[i] = hr();
      } catch (error) {
        errors.add((error as Error).message);
      }
      await sleep(options.gapMs / 2 + Math.random() * options.gapMs);
      relayTargets.push({ ip: '127.0.0.1', port: relayPorts[i]! });
      relayStart[i] = hr();
      await relay.ask({ cmd: 'relayTo', targets: relayTargets });
      if (Date.now() - lastLog > 2_000) {
        log(`joined ${i + 1}/${options.joins}`);
        lastLog = Date.now();
      }
    }
    await sleep(500);
    const cpuAfter = cpuSeconds(workerPid);
    await talker.ask({ cmd: 'stop' });
    const sfuFirst = (
      await receiver.ask<Array<string | null>>({ cmd: 'firsts', ports: sfuPorts })
    ).map((v) => (v === null ? null : BigInt(v)));
    const relayFirst = (
      await receiver.ask<Array<string | null>>({ cmd: 'firsts', ports: relayPorts })
    ).map((v) => (v === null ? null : BigInt(v)));

    const latencies = joinStart.map((start, i) => (sfuFirst[i] ? ms(start, sfuFirst[i]!) : NaN));
    const control = joinStart.map((start, i) => (consumed[i] ? ms(start, consumed[i]!) : NaN));
    const afterConsume = consumed.map((at, i) => (at && sfuFirst[i] ? ms(at, sfuFirst[i]!) : NaN));
    const baseline = relayStart.map((start, i) =>
      relayFirst[i] ? ms(start, relayFirst[i]!) : NaN,
    );
    const lat = percentiles(latencies);
    const base = percentiles(baseline);
    const ctl = percentiles(control);
    const tail = percentiles(afterConsume);
    const delivered = latencies.filter((v) => !Number.isNaN(v)).length;
    log(
      `late entry p50 ${round(lat.p50)} · p99 ${round(lat.p99)} ms (relay baseline p99 ${round(base.p99)} ms)`,
    );

    const target = (value: number, limit: number, unit: string): Target => ({
      value: Number.isFinite(value) ? round(value, 2) : null,
      limit,
      unit,
      met: Number.isFinite(value) && value <= limit,
    });
    const pct = (p: ReturnType<typeof percentiles>) =>
      Object.fromEntries(Object.entries(p).map(([k, v]) => [`${k}_ms`, round(v, 2)]));
    const result = {
      scenario: 'late-entry',
      started_at: startedAt,
      params: {
        joins: options.joins,
        gap_ms: options.gapMs,
        cores: os.cpus().length,
        sfu_url: options.sfuUrl,
        load_average_at_start: loadAtStart,
        load_average_at_end: os.loadavg().map((v) => round(v, 1)),
      },
      note:
        'Join = join + createTransport(plain) + connectTransport + consume over the SFU network API, ' +
        'then the first packet at the listener socket; the channel grows to `joins` listeners. ' +
        'A WebRTC client adds ICE + DTLS (≈ 30 ms measured with Chromium, see MEDIASOUP.md).',
      expected: options.joins,
      delivered,
      p50_ms: round(lat.p50, 2),
      p95_ms: round(lat.p95, 2),
      p99_ms: round(lat.p99, 2),
      max_ms: round(lat.max, 2),
      baseline_p50_ms: round(base.p50, 2),
      baseline_p99_ms: round(base.p99, 2),
      ratio_p99: round(lat.p99 / base.p99, 2),
      control_api: pct(ctl),
      consume_to_first_packet: pct(tail),
      server_cpu_s: cpuBefore === null || cpuAfter === null ? null : round(cpuAfter - cpuBefore, 2),
      errors: [...errors],
      targets: { p99_ms: target(lat.p99, TARGETS.p99_ms, 'ms') },
      report: { json: '', html: '' },
    };
    result.report = writeReport('late-entry', result, [
      {
        title: 'Join → first audio packet (ms)',
        svg: histogramSvg(
          [
            { name: 'SFU: join, transport, consume', color: '#d1242f', values: latencies },
            { name: 'raw UDP relay: add address', color: '#0969da', values: baseline },
          ],
          'ms after the join started',
          40,
          'joins',
        ),
      },
      {
        title: 'Where the time goes',
        svg: cumulativeSvg(
          [
            { name: 'join → first packet', color: '#d1242f', values: latencies },
            { name: 'control API calls', color: '#bf8700', values: control },
            { name: 'consume → first packet', color: '#1a7f37', values: afterConsume },
            { name: 'relay baseline', color: '#0969da', values: baseline },
          ],
          'ms',
          'joins',
        ),
      },
    ]);
    return result;
  } finally {
    for (const peer of peers) peer.close();
    await under?.stop();
  }
}
