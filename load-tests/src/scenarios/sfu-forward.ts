import { readFileSync } from 'node:fs';
import os from 'node:os';
import { lineChartSvg } from '../lib/chart.ts';
import { cumulativeSvg, histogramSvg, round, writeReport, type Target } from '../lib/report.ts';
import { opusProducerParameters, startSfuUnderTest, type SfuUnderTest } from '../lib/sfu.ts';
import { cpuSeconds, rssBytes } from '../lib/system.ts';
import { mergeWindows, RtpPeer, type MergedWindow } from '../rtp/pool.ts';
import type { Endpoint, TalkerCounts, WindowStats } from '../rtp/protocol.ts';

/**
 * sfu-forward: one talker sends synthetic Opus RTP (50 packets/s, `payloadBytes` like
 * 32 kbit/s voice) over a PlainTransport into one real mediasoup worker; N listeners
 * consume it over PlainTransports into UDP sockets on loopback. For each N, stepping up,
 * it measures talker → listener latency and loss through the SFU, then the same packets
 * through a raw Node UDP relay to the same N sockets (the baseline), and the CPU of the
 * worker, the relay and the receivers. The largest N with < 1 % loss is what one worker
 * core sustains — with the caveat, stated in the report, that the receivers and the
 * talker share the machine's cores with the worker.
 */
export interface SfuForwardOptions {
  listeners: number[];
  seconds: number;
  receivers: number;
  payloadBytes: number;
  /** Stop stepping once the SFU loses more than this (%). */
  stopLossPct: number;
  sfuUrl: string | null;
  sfuSecret: string | null;
}

export const TARGETS = { added_p99_ms: 5, listeners_per_worker: 1000, loss_pct: 1 } as const;
/**
 * A packet this late is as good as lost for push-to-talk (a jitter buffer drops it), so
 * `loss_pct` counts packets that never arrived *or* arrived this late.
 */
export const LATE_MS = 200;

type Log = (line: string) => void;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHANNEL = 'bench-forward';
const PAYLOAD_TYPE = 100;

interface PhaseResult extends Omit<MergedWindow, 'sample'> {
  expected: number;
  /** The kernel's UDP drop counters (this network namespace) during the phase. */
  udp_drops: { receive_buffer: number; send_buffer: number } | null;
  /** Never arrived or arrived `LATE_MS` late, in % of expected. */
  loss_pct: number;
  /** Never arrived, in % of expected. */
  missing_pct: number;
  forwarder_cpu_pct: number | null;
  receivers_cpu_pct: number | null;
  talker_cpu_pct: number | null;
}

interface StepResult {
  listeners: number;
  sfu: PhaseResult;
  relay: PhaseResult;
  added_p50_ms: number;
  added_p99_ms: number;
  worker_rss_mb: number | null;
  samples: { sfu: number[]; relay: number[] };
}

/** Counters of the `Udp:` lines in /proc/net/snmp, or null where unreadable. */
function udpCounters(): Record<string, number> | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/).slice(1);
    const values = lines[1]!.split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(names.map((name, i) => [name, values[i]!]));
  } catch {
    return null;
  }
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

export async function sfuForward(
  options: SfuForwardOptions,
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
    const receivers = Array.from({ length: options.receivers }, () => new RtpPeer('receiver'));
    peers.push(talker, relay, ...receivers);

    // ---- the channel, the talker (holding the floor), the relay
    const { rtpCapabilities } = await sfu.createChannel(CHANNEL);
    // No header extensions towards the listeners: the same bytes as the relay's packets.
    const listenerCaps: typeof rtpCapabilities = {
      codecs: rtpCapabilities.codecs,
      headerExtensions: [],
    };
    await sfu.join(CHANNEL, 'talker');
    const send = await sfu.createTransport(CHANNEL, 'talker', 'plain', { comedia: true });
    const ssrc = 0x7a1c0001;
    const { producerId } = await sfu.produce(
      CHANNEL,
      'talker',
      send.transportId,
      opusProducerParameters(ssrc, PAYLOAD_TYPE),
    );
    await sfu.grantFloor(CHANNEL, producerId);
    const sfuTarget: Endpoint = { ip: send.ip!, port: send.port! };
    const relayTarget: Endpoint = {
      ip: '127.0.0.1',
      port: await relay.ask<number>({ cmd: 'relay' }),
    };
    await talker.ask({
      cmd: 'talk',
      streams: [{ ssrc, target: sfuTarget }],
      payloadType: PAYLOAD_TYPE,
      payloadBytes: options.payloadBytes,
    });

    const endpoints: Endpoint[] = [];
    const steps: StepResult[] = [];
    let window = 0;

    /** Measures one phase: the talker's packets go to `target` for `seconds`. */
    const phase = async (
      target: Endpoint,
      forwarderPid: number | null,
    ): Promise<{ result: PhaseResult; sample: number[] }> => {
      await talker.ask({ cmd: 'retarget', index: 0, target });
      await talker.ask({ cmd: 'window', window: 0 });
      await sleep(500); // warm-up, not counted
      window += 1;
      const id = window;
      const cpu = () => ({
        forwarder: forwarderPid === null ? null : cpuSeconds(forwarderPid),
        receivers: receivers.reduce<number | null>((sum, r) => {
          const s = cpuSeconds(r.pid);
          return sum === null || s === null ? null : sum + s;
        }, 0),
        talker: cpuSeconds(talker.pid),
      });
      const before = cpu();
      const udpBefore = udpCounters();
      const startedAt = performance.now();
      await talker.ask({ cmd: 'window', window: id });
      await sleep(options.seconds * 1000);
      const counts = await talker.ask<TalkerCounts>({ cmd: 'window', window: 0 });
      const elapsed = (performance.now() - startedAt) / 1000;
      const after = cpu();
      // Wait for stragglers: until the receivers' counts stop growing (a backlog in a
      // starved receiver is late, not lost — its latency shows it).
      let last = -1;
      for (let polls = 0; polls < 50; polls += 1) {
        await sleep(200);
        const seen = (
          await Promise.all(receivers.map((r) => r.ask<number>({ cmd: 'peek', window: id })))
        ).reduce((a, b) => a + b, 0);
        if (seen === last) break;
        last = seen;
      }
      const udpAfter = udpCounters();
      const parts = await Promise.all(
        receivers.map((r) => r.ask<WindowStats>({ cmd: 'collect', window: id })),
      );
      const merged = mergeWindows(parts, LATE_MS);
      const sent = counts[String(id)] ?? 0;
      const expected = sent * endpoints.length;
      const pct = (a: number | null, b: number | null) =>
        a === null || b === null ? null : round((100 * (b - a)) / elapsed, 1);
      const { sample, ...stats } = merged;
      return {
        sample,
        result: {
          ...stats,
          p50: round(stats.p50, 3),
          p95: round(stats.p95, 3),
          p99: round(stats.p99, 3),
          max: round(stats.max, 3),
          expected,
          loss_pct:
            expected === 0
              ? 0
              : round((100 * (expected - merged.received + merged.late)) / expected, 3),
          missing_pct:
            expected === 0 ? 0 : round((100 * (expected - merged.received)) / expected, 3),
          forwarder_cpu_pct: pct(before.forwarder, after.forwarder),
          receivers_cpu_pct: pct(before.receivers, after.receivers),
          talker_cpu_pct: pct(before.talker, after.talker),
          udp_drops:
            udpBefore && udpAfter
              ? {
                  receive_buffer: udpAfter.RcvbufErrors! - udpBefore.RcvbufErrors!,
                  send_buffer: udpAfter.SndbufErrors! - udpBefore.SndbufErrors!,
                }
              : null,
        },
      };
    };

    for (const n of [...options.listeners].sort((a, b) => a - b)) {
      // ---- grow to n listeners: sockets in the receivers, a transport + consumer each
      const missing = n - endpoints.length;
      if (missing > 0) {
        log(`adding ${missing} listeners (→ ${n})`);
        const perReceiver = receivers.map(
          (_, i) =>
            Math.floor(missing / receivers.length) + (i < missing % receivers.length ? 1 : 0),
        );
        const ports = (
          await Promise.all(
            receivers.map((r, i) => r.ask<number[]>({ cmd: 'open', count: perReceiver[i]! })),
          )
        ).flat();
        const added = ports.map((port) => ({ ip: '127.0.0.1', port }));
        const first = endpoints.length;
        const setupStarted = performance.now();
        await pool(
          added.map((endpoint, i) => ({ endpoint, name: `listener-${first + i}` })),
          16,
          async ({ endpoint, name }) => {
            await sfu.join(CHANNEL, name);
            const t = await sfu.createTransport(CHANNEL, name, 'plain');
            await sfu.connectTransport(CHANNEL, name, t.transportId, endpoint);
            await sfu.consume(CHANNEL, name, t.transportId, producerId, listenerCaps, {
              paused: false,
            });
          },
        );
        endpoints.push(...added);
        log(
          `  ${missing} listeners set up in ${round((performance.now() - setupStarted) / 1000, 1)} s`,
        );
        await relay.ask({ cmd: 'relayTo', targets: endpoints });
      }

      log(`${n} listeners: through the SFU for ${options.seconds} s`);
      const viaSfu = await phase(sfuTarget, workerPid);
      log(`${n} listeners: through the raw UDP relay for ${options.seconds} s`);
      const viaRelay = await phase(relayTarget, relay.pid);
      const rss = rssBytes(workerPid);
      const step: StepResult = {
        listeners: n,
        sfu: viaSfu.result,
        relay: viaRelay.result,
        added_p50_ms: round(viaSfu.result.p50 - viaRelay.result.p50, 3),
        added_p99_ms: round(viaSfu.result.p99 - viaRelay.result.p99, 3),
        worker_rss_mb: rss === null ? null : round(rss / 2 ** 20),
        samples: { sfu: viaSfu.sample, relay: viaRelay.sample },
      };
      steps.push(step);
      log(
        `  SFU   p50 ${step.sfu.p50} · p99 ${step.sfu.p99} ms, loss ${step.sfu.loss_pct} %, worker CPU ${step.sfu.forwarder_cpu_pct} %, receivers CPU ${step.sfu.receivers_cpu_pct} %`,
      );
      log(
        `  relay p50 ${step.relay.p50} · p99 ${step.relay.p99} ms, loss ${step.relay.loss_pct} %, relay CPU ${step.relay.forwarder_cpu_pct} %  → added p99 ${step.added_p99_ms} ms`,
      );
      if (step.sfu.loss_pct > options.stopLossPct) {
        log(`  loss above ${options.stopLossPct} %: not stepping further`);
        break;
      }
    }
    await talker.ask({ cmd: 'stop' });

    // ---- what one worker sustains, and the figures at the target step
    const sustained = steps
      .filter((s) => s.sfu.loss_pct < TARGETS.loss_pct)
      .map((s) => s.listeners);
    const sustainedListeners = sustained.length > 0 ? Math.max(...sustained) : 0;
    // Latency is judged where the SFU still delivers (< 1 % loss): the largest such step.
    // Past it, queues and drops make latency figures meaningless (the relay's too).
    const at = [...steps].reverse().find((s) => s.sfu.loss_pct < TARGETS.loss_pct) ?? steps[0]!;
    const target = (
      value: number | null,
      limit: number,
      unit: string,
      atLeast = false,
    ): Target => ({
      value,
      limit,
      unit,
      met: value !== null && Number.isFinite(value) && (atLeast ? value >= limit : value <= limit),
    });
    const result = {
      scenario: 'sfu-forward',
      started_at: startedAt,
      params: {
        listeners: options.listeners,
        seconds_per_phase: options.seconds,
        receiver_processes: options.receivers,
        payload_bytes: options.payloadBytes,
        packets_per_s: 50,
        cores: os.cpus().length,
        sfu_url: options.sfuUrl,
        load_average_at_start: loadAtStart,
        load_average_at_end: os.loadavg().map((v) => round(v, 1)),
      },
      note:
        'Talker, receivers and relay run on the same machine as the worker and compete with it for the cores; ' +
        'receivers_cpu_pct shows how much; the load averages show what else ran. ' +
        `loss = never arrived or arrived ${LATE_MS} ms or later (useless for push-to-talk). ` +
        'Latency = talker send → receiver socket, CLOCK_MONOTONIC. ' +
        `Top-level figures are at ${at.listeners} listeners, the largest step the SFU delivered with < 1 % loss.`,
      expected: at.sfu.expected,
      delivered: at.sfu.received,
      loss_pct: at.sfu.loss_pct,
      p50_ms: at.sfu.p50,
      p95_ms: at.sfu.p95,
      p99_ms: at.sfu.p99,
      max_ms: at.sfu.max,
      baseline_p50_ms: at.relay.p50,
      baseline_p99_ms: at.relay.p99,
      baseline_loss_pct: at.relay.loss_pct,
      ratio_p99: round(at.sfu.p99 / at.relay.p99, 2),
      added_p50_ms: at.added_p50_ms,
      added_p99_ms: at.added_p99_ms,
      throughput_per_s: round((at.sfu.received / options.seconds) * 1, 0),
      sustained_listeners: sustainedListeners,
      server_rss_mb: at.worker_rss_mb,
      server_cpu_pct: at.sfu.forwarder_cpu_pct,
      server_cpu_s: (() => {
        const s = cpuSeconds(workerPid);
        return s === null ? null : round(s, 2);
      })(),
      steps: steps.map(({ samples: _samples, ...step }) => step),
      targets: {
        added_p99_ms: target(
          at.sfu.loss_pct < TARGETS.loss_pct ? at.added_p99_ms : null,
          TARGETS.added_p99_ms,
          'ms',
        ),
        listeners_per_worker: target(
          sustainedListeners,
          TARGETS.listeners_per_worker,
          'listeners',
          true,
        ),
        loss_pct: target(at.sfu.loss_pct, TARGETS.loss_pct, '%'),
      },
      report: { json: '', html: '' },
    };
    const xs = steps.map((s) => s.listeners);
    result.report = writeReport('sfu-forward', result, [
      {
        title: `Talker → listener latency at ${at.listeners} listeners (ms)`,
        svg: histogramSvg(
          [
            { name: 'through the SFU', color: '#d1242f', values: at.samples.sfu },
            { name: 'raw UDP relay', color: '#0969da', values: at.samples.relay },
          ],
          'ms from send to receipt',
          40,
          'packets (sample)',
        ),
      },
      {
        title: `Latency distribution at ${at.listeners} listeners`,
        svg: cumulativeSvg(
          [
            { name: 'through the SFU', color: '#d1242f', values: at.samples.sfu },
            { name: 'raw UDP relay', color: '#0969da', values: at.samples.relay },
          ],
          'ms from send to receipt',
          'packets (sample)',
        ),
      },
      {
        title: 'Latency p99 and loss per number of listeners',
        svg: lineChartSvg(
          xs,
          [
            { name: 'SFU p99 ms', color: '#d1242f', values: steps.map((s) => s.sfu.p99) },
            { name: 'relay p99 ms', color: '#0969da', values: steps.map((s) => s.relay.p99) },
            {
              name: 'SFU loss %',
              color: '#bf8700',
              values: steps.map((s) => s.sfu.loss_pct),
              right: true,
            },
            {
              name: 'relay loss %',
              color: '#8250df',
              values: steps.map((s) => s.relay.loss_pct),
              right: true,
            },
          ],
          { x: 'listeners', left: 'p99 latency (ms)', right: 'loss (%)' },
        ),
      },
      {
        title: 'CPU per number of listeners (% of one core)',
        svg: lineChartSvg(
          xs,
          [
            {
              name: 'mediasoup worker',
              color: '#d1242f',
              values: steps.map((s) => s.sfu.forwarder_cpu_pct),
            },
            {
              name: 'UDP relay',
              color: '#0969da',
              values: steps.map((s) => s.relay.forwarder_cpu_pct),
            },
            {
              name: 'receivers (SFU phase)',
              color: '#1a7f37',
              values: steps.map((s) => s.sfu.receivers_cpu_pct),
            },
          ],
          { x: 'listeners', left: '% of one core' },
        ),
      },
    ]);
    return result;
  } finally {
    for (const peer of peers) peer.close();
    await under?.stop();
  }
}
