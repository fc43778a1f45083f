import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { AlarmBoard } from '@trupp/shared';
import { nowMs } from '../lib/device.ts';
import {
  cumulativeSvg,
  histogramSvg,
  percentiles,
  round,
  writeReport,
  type Target,
} from '../lib/report.ts';
import { seedFleet } from '../lib/seed.ts';
import {
  cpuSeconds,
  rssBytes,
  scratchDatabase,
  startBackend,
  type BackendProcess,
  type ScratchDatabase,
} from '../lib/system.ts';
import { Swarm } from '../swarm/pool.ts';
import type { SwarmCollected, SwarmCounts, SwarmResponded } from '../swarm/protocol.ts';

/**
 * alarm-fanout: N member devices connected over socket.io; a dispatcher raises one alarm
 * through the public API. Measures per device trigger → receipt latency, delivered /
 * expected, `alarm.ack` throughput, N `alarm.respond` answers, server memory per idle
 * connection — and, in the same run, a raw `ws` broadcast of the same bytes to the same
 * number of sockets as the physical baseline.
 */
export interface FanoutOptions {
  devices: number;
  swarm: number;
  /** A running deployment; without it a server is started on a fresh database. */
  url: string | null;
  /** Database of that deployment (needed to seed devices into it). */
  databaseUrl: string | null;
  serverPid: number | null;
  databaseServer: string;
  timeoutMs: number;
  /** Write a V8 CPU profile of the server (started by the bench) to this directory. */
  cpuProfDir: string | null;
}

export const TARGETS = {
  delivered_pct: 100,
  p99_ms: 250,
  ratio_p99: 1.3,
  rss_per_connection_kb: 30,
  responses_s: 5,
} as const;

const CONNECTS_IN_FLIGHT_PER_PROCESS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Log = (line: string) => void;

async function waitCounts(
  swarm: Swarm,
  expected: number,
  field: keyof SwarmCounts,
  timeoutMs: number,
  log: Log,
  label: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastLog = 0;
  for (;;) {
    const counts = await swarm.all<SwarmCounts>(() => ({ cmd: 'counts' }));
    const n = counts.reduce((a, c) => a + c[field], 0);
    if (n >= expected) return;
    if (Date.now() > deadline) {
      log(`${label}: ${n}/${expected} after ${timeoutMs} ms, giving up`);
      return;
    }
    if (Date.now() - lastLog > 2_000) {
      log(`${label}: ${n}/${expected}`);
      lastLog = Date.now();
    }
    await sleep(50);
  }
}

async function connectAll(
  swarm: Swarm,
  kind: 'socketio' | 'ws',
  url: string,
  tokens: string[],
  log: Log,
) {
  const shares = swarm.shares(tokens);
  const started = Date.now();
  const ticker = setInterval(
    () => log(`connecting ${kind}: ${swarm.progress}/${tokens.length}`),
    2_000,
  );
  try {
    const counts = await swarm.all<SwarmCounts>((i) => ({
      cmd: 'connect',
      kind,
      url,
      tokens: shares[i]!,
      concurrency: CONNECTS_IN_FLIGHT_PER_PROCESS,
    }));
    const connected = counts.reduce((a, c) => a + c.connected, 0);
    log(
      `connected ${kind}: ${connected}/${tokens.length} in ${round((Date.now() - started) / 1000)} s`,
    );
    return connected;
  } finally {
    clearInterval(ticker);
  }
}

async function collect(swarm: Swarm): Promise<SwarmCollected> {
  const parts = await swarm.all<SwarmCollected>(() => ({ cmd: 'collect' }));
  // IPC carries JSON, where NaN ("did not happen") arrives as null.
  const times = (list: Array<number | null>) => list.map((v) => v ?? NaN);
  return {
    receivedAt: times(parts.flatMap((p) => p.receivedAt)),
    ackedAt: times(parts.flatMap((p) => p.ackedAt)),
    sample: parts.find((p) => p.sample !== null)?.sample ?? null,
    errors: [...new Set(parts.flatMap((p) => p.errors))],
  };
}

/** Starts the raw ws broadcast server process; resolves with its URL and a stop function. */
async function startBaseline(): Promise<{ url: string; pid: number; stop: () => void }> {
  const script = fileURLToPath(new URL('../swarm/ws-broadcast.ts', import.meta.url));
  const child = fork(script, [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

export async function alarmFanout(
  options: FanoutOptions,
  log: Log,
): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString();
  const n = options.devices;
  let db: ScratchDatabase | null = null;
  let server: BackendProcess | null = null;
  let swarm: Swarm | null = null;
  let baseline: Awaited<ReturnType<typeof startBaseline>> | null = null;
  try {
    let url: string;
    let databaseUrl: string;
    let pid: number | null;
    if (options.url) {
      if (!options.databaseUrl) throw new Error('--url needs --database-url to seed the devices');
      url = options.url.replace(/\/$/, '');
      databaseUrl = options.databaseUrl;
      pid = options.serverPid;
    } else {
      db = scratchDatabase(options.databaseServer, 'trupp_bench');
      log(`starting the server on database ${db.name}`);
      server = await startBackend({
        databaseUrl: db.url,
        nodeArgs: options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [],
      });
      url = server.url;
      databaseUrl = db.url;
      pid = server.pid;
    }
    const cpuAtStart = pid === null ? null : cpuSeconds(pid);

    log(`seeding ${n} members with devices`);
    const fleet = await seedFleet(databaseUrl, n);
    swarm = new Swarm(options.swarm);

    // ---- baseline first, on a quiet machine: the same bytes to as many sockets, raw ws
    baseline = await startBaseline();
    // What Trupp sends for this alarm, byte for byte in shape and length (toSummary order).
    const at = new Date().toISOString();
    const payload = `42${JSON.stringify([
      'alarm.raised',
      {
        id: randomUUID(),
        keyword: 'BENCH',
        title: 'Load test alarm',
        text: '',
        priority: 'high',
        sound: 'siren',
        isTest: false,
        lat: null,
        lon: null,
        address: '',
        createdAt: at,
        updatedAt: at,
        closedAt: null,
        myResponse: null,
        myEtaMinutes: null,
        alertCount: 1,
      },
    ])}`;
    await sleep(500);
    const baseRssBefore = rssBytes(baseline.pid);
    const baseConnected = await connectAll(
      swarm,
      'ws',
      baseline.url.replace(/^http/, 'ws'),
      fleet.members.map((m) => m.accessToken),
      log,
    );
    await sleep(2_000);
    const baseRssAfter = rssBytes(baseline.pid);
    log('baseline broadcast');
    const baseAt = nowMs();
    await fetch(`${baseline.url}/broadcast`, { method: 'POST', body: payload });
    await waitCounts(swarm, n, 'received', options.timeoutMs, log, 'baseline delivered');
    const base = await collect(swarm);
    const baseLatencies = base.receivedAt.map((t) => t - baseAt);
    const baseDelivered = baseLatencies.filter((v) => !Number.isNaN(v)).length;
    const bl = percentiles(baseLatencies);
    await swarm.all(() => ({ cmd: 'close' }));
    baseline.stop();
    baseline = null;

    // ---- socket.io: connect, measure memory per idle connection
    await sleep(500);
    const rssBefore = pid === null ? null : rssBytes(pid);
    const connected = await connectAll(
      swarm,
      'socketio',
      url,
      fleet.members.map((m) => m.accessToken),
      log,
    );
    await sleep(2_000);
    const rssAfter = pid === null ? null : rssBytes(pid);

    // ---- trigger through the public API; receipt times are taken in the swarm processes
    log('raising the alarm');
    const triggeredAt = nowMs();
    const res = await fetch(`${url}/api/alarms`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fleet.dispatcher.accessToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        keyword: 'BENCH',
        title: 'Load test alarm',
        targets: { unitIds: [fleet.unitId] },
        allHands: true,
      }),
    });
    const answeredAt = nowMs();
    if (res.status !== 201) throw new Error(`trigger answered ${res.status}: ${await res.text()}`);
    const board = (await res.json()) as AlarmBoard;
    const alarmId = board.alarm.id;
    await waitCounts(swarm, n, 'received', options.timeoutMs, log, 'delivered');
    await waitCounts(swarm, n, 'acked', options.timeoutMs, log, 'acknowledged');
    const live = await collect(swarm);
    const latencies = live.receivedAt.map((t) => t - triggeredAt);
    const ackTimes = live.ackedAt.map((t) => t - triggeredAt);
    const delivered = latencies.filter((v) => !Number.isNaN(v)).length;
    const acked = ackTimes.filter((v) => !Number.isNaN(v)).length;
    const lat = percentiles(latencies);
    const firstReceipt = Math.min(...latencies.filter((v) => !Number.isNaN(v)));
    const allAcked = Math.max(...ackTimes.filter((v) => !Number.isNaN(v)));
    log(`delivered ${delivered}/${n}, p99 ${round(lat.p99)} ms; acknowledged ${acked}`);

    // ---- every device answers 'coming'
    log(`sending ${n} responses`);
    const answers = await swarm.all<SwarmResponded>(() => ({ cmd: 'respond', alarmId }));
    const respondStart = Math.min(...answers.map((a) => a.startedAt));
    const doneAt = answers.flatMap((a) => a.doneAt).map((v: number | null) => v ?? NaN);
    const answered = doneAt.filter((v) => !Number.isNaN(v)).length;
    const respondTimes = doneAt.map((t) => t - respondStart);
    const responsesMs = Math.max(...respondTimes.filter((v) => !Number.isNaN(v)));
    const responseErrors = [...new Set(answers.flatMap((a) => a.errors))];
    log(`responses: ${answered}/${n} in ${round(responsesMs)} ms`);
    const cpuAtEnd = pid === null ? null : cpuSeconds(pid);
    await swarm.all(() => ({ cmd: 'close' }));

    const perConnKb =
      rssBefore !== null && rssAfter !== null && connected > 0
        ? (rssAfter - rssBefore) / 1024 / connected
        : null;
    const ratio = lat.p99 / bl.p99;
    const deliveredPct = (100 * delivered) / n;
    const target = (
      value: number | null,
      limit: number,
      unit: string,
      atLeast = false,
    ): Target => ({
      value: value === null || Number.isNaN(value) ? null : round(value, 2),
      limit,
      unit,
      met: value !== null && !Number.isNaN(value) && (atLeast ? value >= limit : value <= limit),
    });
    const targets = {
      delivered: target(deliveredPct, TARGETS.delivered_pct, '%', true),
      p99_ms: target(lat.p99, TARGETS.p99_ms, 'ms'),
      ratio_p99: target(ratio, TARGETS.ratio_p99, '×'),
      rss_per_connection_kb: target(perConnKb, TARGETS.rss_per_connection_kb, 'KB'),
      responses_s: target(answered === n ? responsesMs / 1000 : NaN, TARGETS.responses_s, 's'),
    };

    const result = {
      scenario: 'alarm-fanout',
      started_at: startedAt,
      params: {
        devices: n,
        swarm_processes: options.swarm,
        url: options.url,
        cores: (await import('node:os')).cpus().length,
      },
      expected: n,
      delivered,
      p50_ms: round(lat.p50),
      p95_ms: round(lat.p95),
      p99_ms: round(lat.p99),
      max_ms: round(lat.max),
      first_receipt_ms: round(firstReceipt),
      http_answer_ms: round(answeredAt - triggeredAt),
      baseline_delivered: baseDelivered,
      baseline_p50_ms: round(bl.p50),
      baseline_p95_ms: round(bl.p95),
      baseline_p99_ms: round(bl.p99),
      baseline_max_ms: round(bl.max),
      ratio_p99: round(ratio, 2),
      throughput_per_s: round((acked / allAcked) * 1000, 0),
      acks: {
        expected: n,
        acked,
        all_acked_ms: round(allAcked),
        per_s: round((acked / allAcked) * 1000, 0),
      },
      responses: {
        expected: n,
        answered,
        failed: n - answered,
        errors: responseErrors,
        all_done_ms: round(responsesMs),
        per_s: round((answered / responsesMs) * 1000, 0),
        ...Object.fromEntries(
          Object.entries(percentiles(respondTimes)).map(([k, v]) => [`${k}_ms`, round(v)]),
        ),
      },
      connected,
      server_rss_mb: rssAfter === null ? null : round(rssAfter / 2 ** 20),
      server_rss_idle_before_mb: rssBefore === null ? null : round(rssBefore / 2 ** 20),
      rss_per_connection_kb: perConnKb === null ? null : round(perConnKb, 2),
      baseline_rss_per_connection_kb:
        baseRssBefore === null || baseRssAfter === null || baseConnected === 0
          ? null
          : round((baseRssAfter - baseRssBefore) / 1024 / baseConnected, 2),
      server_cpu_s:
        cpuAtStart === null || cpuAtEnd === null ? null : round(cpuAtEnd - cpuAtStart, 2),
      errors: live.errors,
      targets,
      report: { json: '', html: '' },
    };
    const paths = writeReport('alarm-fanout', result, [
      {
        title: 'Trigger → receipt latency (ms)',
        svg: histogramSvg(
          [
            { name: 'Trupp (socket.io)', color: '#d1242f', values: latencies },
            { name: 'raw ws baseline', color: '#0969da', values: baseLatencies },
          ],
          'ms after the trigger was sent',
        ),
      },
      {
        title: 'Delivered over time',
        svg: cumulativeSvg(
          [
            { name: 'Trupp delivered', color: '#d1242f', values: latencies },
            { name: 'Trupp acknowledged', color: '#bf8700', values: ackTimes },
            { name: 'raw ws delivered', color: '#0969da', values: baseLatencies },
          ],
          'ms after the trigger was sent',
          'devices',
        ),
      },
      {
        title: 'Responses processed over time',
        svg: cumulativeSvg(
          [{ name: "'coming' answered", color: '#1a7f37', values: respondTimes }],
          'ms after the first response was sent',
          'responses',
        ),
      },
    ]);
    result.report = paths;
    return result;
  } finally {
    swarm?.close();
    baseline?.stop();
    await server?.stop();
    await db?.drop();
  }
}
