import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { lineChartSvg } from '../lib/chart.ts';
import { nowMs } from '../lib/device.ts';
import { cumulativeSvg, histogramSvg, round, writeReport, type Target } from '../lib/report.ts';
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
import type { PerSecond, SwarmCounts, SwarmKind, SwarmPositions } from '../swarm/protocol.ts';

/**
 * positions: N member devices report their position every `interval` seconds (N /
 * interval reports a second, evenly spread) while C dispatch consoles are subscribed to
 * the tenant's live positions. Measures device → console latency, reports lost among the
 * accepted ones (per console, and in MariaDB's history), the database write rate, server
 * CPU and RSS — and, first and on a quiet machine, a plain socket.io relay of the same
 * messages with the same batching but no domain logic as the baseline.
 */
export interface PositionsOptions {
  devices: number;
  intervalS: number;
  consoles: number;
  durationS: number;
  swarm: number;
  /** A running deployment (with its database, to seed into); else a fresh server. */
  url: string | null;
  databaseUrl: string | null;
  serverPid: number | null;
  databaseServer: string;
  cpuProfDir: string | null;
}

export const TARGETS = { lost: 0, p99_ms: 200, server_cpu_cores: 1 } as const;

const CONNECTS_IN_FLIGHT_PER_PROCESS = 50;
/** After the last report: time for the last batches to arrive and be written. */
const DRAIN_MS = 4_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Log = (line: string) => void;

interface Pools {
  phones: Swarm;
  consoles: Swarm;
}

/** One second of the Trupp run, sampled by the bench. */
interface Sample {
  second: number;
  cpuCores: number | null;
  rssMb: number | null;
  /** position_points rows written in that second (this run's database). */
  historyRows: number | null;
  /** INSERT/UPDATE/DELETE statements in that second, MariaDB server-wide. */
  statements: number | null;
}

interface Measured {
  sent: number;
  accepted: number;
  notStored: number;
  refused: Record<string, number>;
  ackHistogram: number[];
  acceptedPerSecond: number[];
  /** Per device (global index): accepted reports and the newest accepted `recordedAt`. */
  phones: Array<[number, number]>;
  consoles: SwarmPositions['consoles'];
  errors: string[];
}

async function connect(
  swarm: Swarm,
  kind: SwarmKind,
  url: string,
  tokens: string[],
  log: Log,
): Promise<number> {
  const shares = swarm.shares(tokens);
  const started = Date.now();
  const ticker = setInterval(
    () => log(`connecting ${kind}: ${swarm.progress}/${tokens.length}`),
    3_000,
  );
  try {
    const counts = await swarm.all<SwarmCounts>((i) => ({
      cmd: 'connect',
      kind,
      url,
      tokens: shares[i]!,
      concurrency: CONNECTS_IN_FLIGHT_PER_PROCESS,
    }));
    const n = counts.reduce((a, c) => a + c.connected, 0);
    log(`connected ${kind}: ${n}/${tokens.length} in ${round((Date.now() - started) / 1000)} s`);
    return n;
  } finally {
    clearInterval(ticker);
  }
}

/** The report schedule on every phone process, then the drain; merged results. */
async function reportAll(
  pools: Pools,
  options: PositionsOptions,
  log: Log,
  everySecond?: (second: number) => void,
): Promise<Measured> {
  const startAt = nowMs() + 1_000;
  // Consoles only listen; their process learns the start for its per-second series.
  await pools.consoles.all(() => ({
    cmd: 'report',
    startAt,
    intervalMs: 1,
    durationMs: 0,
    offset: 0,
    total: 1,
  }));
  const indices = pools.phones.shares(Array.from({ length: options.devices }, (_, i) => i));
  let second = 0;
  const ticker = setInterval(() => {
    second++;
    if (second % 10 === 0) log(`reporting: ${second} of ${options.durationS} s`);
    everySecond?.(second);
  }, 1_000);
  try {
    await Promise.all(
      indices.map((share, i) =>
        pools.phones.ask(i, {
          cmd: 'report',
          startAt,
          intervalMs: options.intervalS * 1000,
          durationMs: options.durationS * 1000,
          offset: share[0] ?? 0,
          total: options.devices,
        }),
      ),
    );
    await sleep(DRAIN_MS);
  } finally {
    clearInterval(ticker);
  }
  const phones = await pools.phones.all<SwarmPositions>(() => ({ cmd: 'positions' }));
  const [listening] = await pools.consoles.all<SwarmPositions>(() => ({ cmd: 'positions' }));
  const refused: Record<string, number> = {};
  for (const p of phones) {
    for (const [code, n] of Object.entries(p.refused)) refused[code] = (refused[code] ?? 0) + n;
  }
  const sumArrays = (lists: number[][]) =>
    Array.from({ length: Math.max(0, ...lists.map((l) => l.length)) }, (_, i) =>
      lists.reduce((a, l) => a + (l[i] ?? 0), 0),
    );
  return {
    sent: phones.reduce((a, p) => a + p.sent, 0),
    accepted: phones.reduce((a, p) => a + p.accepted, 0),
    notStored: phones.reduce((a, p) => a + p.notStored, 0),
    refused,
    ackHistogram: sumArrays(phones.map((p) => p.ackHistogram)),
    acceptedPerSecond: sumArrays(phones.map((p) => p.acceptedPerSecond)),
    phones: phones.flatMap((p) => p.phones),
    consoles: listening?.consoles ?? [],
    errors: [...new Set([...phones, listening].flatMap((p) => p?.errors ?? []))],
  };
}

/** Percentiles from 1 ms bins. */
function fromHistogram(bins: number[]): {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
} {
  const n = bins.reduce((a, b) => a + b, 0);
  const at = (q: number) => {
    const rank = Math.ceil(q * n);
    let seen = 0;
    for (let ms = 0; ms < bins.length; ms++) {
      seen += bins[ms]!;
      if (seen >= rank) return ms;
    }
    return NaN;
  };
  let max = NaN;
  for (let ms = bins.length - 1; ms >= 0; ms--) {
    if (bins[ms]! > 0) {
      max = ms;
      break;
    }
  }
  return { n, p50: at(0.5), p95: at(0.95), p99: at(0.99), max };
}

/**
 * Per console: `missing` = accepted reports it never received (each device's reports are
 * matched by the key the server sends as `userId`), `behind` = devices whose newest
 * accepted position it never received (a marker left on an old position).
 */
function consoleSummary(m: Measured, keys: string[]) {
  const merged = m.consoles.reduce<number[]>(
    (acc, c) => acc.map((v, i) => v + (c.latencyHistogram[i] ?? 0)),
    new Array<number>(m.consoles[0]?.latencyHistogram.length ?? 1).fill(0),
  );
  const missing = m.consoles.map((c) =>
    m.phones.reduce((sum, [n], i) => sum + Math.max(0, n - (c.byUser[keys[i]!]?.[0] ?? 0)), 0),
  );
  const behind = m.consoles.map(
    (c) => m.phones.filter(([n, last], i) => n > 0 && (c.byUser[keys[i]!]?.[1] ?? 0) < last).length,
  );
  return {
    latency: fromHistogram(merged),
    missingPerConsole: missing,
    missingMax: missing.length ? Math.max(...missing) : m.accepted,
    behindMax: behind.length ? Math.max(...behind) : 0,
    stale: m.consoles.reduce((a, c) => a + c.stale, 0),
  };
}

/** Per-second p99 over all consoles (the worst console's p99 in that second). */
function p99PerSecond(m: Measured): number[] {
  const seconds = Math.max(0, ...m.consoles.map((c) => c.perSecond.length));
  return Array.from({ length: seconds }, (_, s) => {
    const values = m.consoles
      .map((c: { perSecond: PerSecond[] }) => c.perSecond[s]?.p99 ?? NaN)
      .filter((v) => !Number.isNaN(v));
    return values.length ? Math.max(...values) : NaN;
  });
}

/** Starts the plain socket.io relay process; resolves with its URL and a stop function. */
async function startRelay(): Promise<{ url: string; pid: number; stop: () => void }> {
  const script = fileURLToPath(new URL('../swarm/sio-relay.ts', import.meta.url));
  const child = fork(script, [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

/** Every member shares (switched on for the whole run), written straight into the database. */
async function shareAll(databaseUrl: string, tenantId: string, userIds: string[]): Promise<void> {
  const conn = await mysql.createConnection({ uri: databaseUrl, timezone: 'Z' });
  try {
    const now = new Date();
    const until = new Date(now.getTime() + 6 * 3_600_000);
    for (let i = 0; i < userIds.length; i += 1000) {
      await conn.query(
        'INSERT INTO position_sharing (user_id, tenant_id, until, updated_at) VALUES ?',
        [userIds.slice(i, i + 1000).map((id) => [id, tenantId, until, now])],
      );
    }
  } finally {
    await conn.end();
  }
}

export async function positions(
  options: PositionsOptions,
  log: Log,
): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString();
  const n = options.devices;
  let db: ScratchDatabase | null = null;
  let server: BackendProcess | null = null;
  let pools: Pools | null = null;
  let relay: Awaited<ReturnType<typeof startRelay>> | null = null;
  let sql: mysql.Connection | null = null;
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

    // A server that dies mid-run fails the run at once, with what it said.
    const running = server;
    const died = running
      ? running.exited.then((code) => {
          throw new Error(
            `the server exited (${code ?? 'killed'}):\n${running.stderr().slice(-4000)}${running.stdout().slice(-4000)}`,
          );
        })
      : new Promise<never>(() => undefined);
    died.catch(() => undefined);
    const alive = <T>(step: Promise<T>): Promise<T> => Promise.race([step, died]);

    log(`seeding ${n} members sharing their position and ${options.consoles} dispatchers`);
    const fleet = await seedFleet(databaseUrl, n, { dispatchers: options.consoles });
    await shareAll(
      databaseUrl,
      fleet.tenantId,
      fleet.members.map((m) => m.userId),
    );
    pools = { phones: new Swarm(options.swarm), consoles: new Swarm(1) };
    const phoneTokens = fleet.members.map((m) => m.accessToken);
    const consoleTokens = fleet.dispatchers.map((d) => d.accessToken);

    // ---- baseline first, on a quiet machine: plain socket.io relay, same messages
    relay = await startRelay();
    await connect(pools.phones, 'positions', relay.url, phoneTokens, log);
    await connect(pools.consoles, 'console', relay.url, consoleTokens, log);
    log(`baseline: ${n} devices every ${options.intervalS} s for ${options.durationS} s`);
    const base = await reportAll(pools, options, log);
    const baseSummary = consoleSummary(base, phoneTokens);
    log(
      `baseline: ${base.accepted} relayed, p99 ${baseSummary.latency.p99} ms, lost ${baseSummary.missingMax}`,
    );
    await pools.phones.all(() => ({ cmd: 'close' }));
    await pools.consoles.all(() => ({ cmd: 'close' }));
    relay.stop();
    relay = null;

    // ---- Trupp
    await sleep(1_000);
    await alive(connect(pools.phones, 'positions', url, phoneTokens, log));
    await alive(connect(pools.consoles, 'console', url, consoleTokens, log));
    await sleep(2_000);
    sql = await mysql.createConnection({ uri: databaseUrl });
    const statusCount = async () => {
      const [rows] = await sql!.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_insert', 'Com_update', 'Com_delete')",
      );
      return (rows as Array<{ Value: string }>).reduce((a, r) => a + Number(r.Value), 0);
    };
    const historyCount = async () => {
      const [rows] = await sql!.query('SELECT COALESCE(MAX(id), 0) AS n FROM position_points');
      return Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
    };
    const samples: Sample[] = [];
    let last = {
      at: nowMs(),
      cpu: pid === null ? null : cpuSeconds(pid),
      history: await historyCount(),
      statements: await statusCount(),
    };
    const cpuAtStart = last.cpu;
    const wallAtStart = nowMs();
    const rssAtStart = pid === null ? null : rssBytes(pid);
    let sampling = Promise.resolve();
    const sample = (second: number) => {
      sampling = sampling.then(async () => {
        const now = {
          at: nowMs(),
          cpu: pid === null ? null : cpuSeconds(pid),
          history: await historyCount(),
          statements: await statusCount(),
        };
        const dt = (now.at - last.at) / 1000;
        const rss = pid === null ? null : rssBytes(pid);
        samples.push({
          second,
          cpuCores: now.cpu === null || last.cpu === null ? null : (now.cpu - last.cpu) / dt,
          rssMb: rss === null ? null : rss / 2 ** 20,
          historyRows: (now.history - last.history) / dt,
          statements: (now.statements - last.statements) / dt,
        });
        last = now;
      });
    };
    log(`Trupp: ${n} devices every ${options.intervalS} s for ${options.durationS} s`);
    const trupp = await alive(reportAll(pools, options, log, sample));
    await sampling;
    const cpuAtEnd = pid === null ? null : cpuSeconds(pid);
    const wallAtEnd = nowMs();
    const rssAtEnd = pid === null ? null : rssBytes(pid);
    const historyRows = await historyCount();
    const summary = consoleSummary(
      trupp,
      fleet.members.map((m) => m.userId),
    );
    log(
      `Trupp: ${trupp.accepted}/${trupp.sent} accepted, p99 ${summary.latency.p99} ms, lost ${summary.missingMax}, history rows ${historyRows}`,
    );
    await pools.phones.all(() => ({ cmd: 'close' }));
    await pools.consoles.all(() => ({ cmd: 'close' }));

    // Server CPU over the reporting seconds only (connecting is alarm-fanout's business).
    const cpuCores =
      cpuAtStart === null || cpuAtEnd === null
        ? null
        : (cpuAtEnd - cpuAtStart) / ((wallAtEnd - wallAtStart) / 1000);
    const steady = samples.filter((s) => s.second > 1 && s.second <= options.durationS);
    const mean = (values: Array<number | null>) => {
      const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const steadyCpu = mean(steady.map((s) => s.cpuCores));
    const target = (value: number | null, limit: number, unit: string): Target => ({
      value: value === null || Number.isNaN(value) ? null : round(value, 2),
      limit,
      unit,
      met: value !== null && !Number.isNaN(value) && value <= limit,
    });
    const dbLost = Math.max(0, trupp.accepted - historyRows);
    const ratio = summary.latency.p99 / Math.max(1, baseSummary.latency.p99);
    const targets = {
      lost: target(summary.missingMax + dbLost, TARGETS.lost, 'reports'),
      p99_ms: target(summary.latency.p99, TARGETS.p99_ms, 'ms'),
      server_cpu_cores: target(steadyCpu ?? cpuCores, TARGETS.server_cpu_cores, 'cores'),
    };
    const ack = fromHistogram(trupp.ackHistogram);
    const result = {
      scenario: 'positions',
      started_at: startedAt,
      params: {
        devices: n,
        interval_s: options.intervalS,
        consoles: options.consoles,
        duration_s: options.durationS,
        swarm_processes: options.swarm,
        url: options.url,
        cores: cpus().length,
        reports_per_s: round(n / options.intervalS, 0),
      },
      expected: trupp.accepted * options.consoles,
      delivered: trupp.consoles.reduce((a, c) => a + c.received, 0),
      sent: trupp.sent,
      accepted: trupp.accepted,
      not_stored: trupp.notStored,
      refused: trupp.refused,
      lost_per_console: summary.missingPerConsole,
      /** Devices whose newest accepted position a console never got (worst console). */
      behind_at_end: summary.behindMax,
      lost_in_database: dbLost,
      stale_updates: summary.stale,
      p50_ms: summary.latency.p50,
      p95_ms: summary.latency.p95,
      p99_ms: summary.latency.p99,
      max_ms: summary.latency.max,
      ack_p50_ms: ack.p50,
      ack_p99_ms: ack.p99,
      baseline_relayed: base.accepted,
      baseline_lost_max: baseSummary.missingMax,
      baseline_p50_ms: baseSummary.latency.p50,
      baseline_p95_ms: baseSummary.latency.p95,
      baseline_p99_ms: baseSummary.latency.p99,
      baseline_max_ms: baseSummary.latency.max,
      ratio_p99: round(ratio, 2),
      throughput_per_s: round(trupp.accepted / options.durationS, 0),
      batches_per_console_per_s: round(
        trupp.consoles.reduce((a, c) => a + c.batches, 0) /
          Math.max(1, trupp.consoles.length) /
          options.durationS,
        1,
      ),
      db_history_rows: historyRows,
      db_history_rows_per_s: round(mean(steady.map((s) => s.historyRows)) ?? NaN, 0),
      db_statements_per_s_server_wide: round(mean(steady.map((s) => s.statements)) ?? NaN, 1),
      server_cpu_cores: steadyCpu === null ? null : round(steadyCpu, 2),
      server_cpu_s:
        cpuAtStart === null || cpuAtEnd === null ? null : round(cpuAtEnd - cpuAtStart, 2),
      server_rss_mb: rssAtEnd === null ? null : round(rssAtEnd / 2 ** 20),
      server_rss_start_mb: rssAtStart === null ? null : round(rssAtStart / 2 ** 20),
      per_second: {
        accepted: trupp.acceptedPerSecond,
        console_p99_ms: p99PerSecond(trupp),
        baseline_console_p99_ms: p99PerSecond(base),
        server_cpu_cores: samples.map((x) => (x.cpuCores === null ? null : round(x.cpuCores, 2))),
        server_rss_mb: samples.map((x) => (x.rssMb === null ? null : round(x.rssMb, 0))),
        track_rows: samples.map((x) => (x.historyRows === null ? null : round(x.historyRows, 0))),
      },
      errors: trupp.errors,
      targets,
      report: { json: '', html: '' },
    };

    const sampleOf = (m: Measured) => m.consoles.flatMap((c) => c.sample);
    const seconds = samples.map((s) => s.second);
    const paths = writeReport('positions', result, [
      {
        title: 'Device → console latency (ms), every 20th position',
        svg: histogramSvg(
          [
            { name: 'Trupp', color: '#d1242f', values: sampleOf(trupp) },
            { name: 'plain socket.io relay', color: '#0969da', values: sampleOf(base) },
          ],
          'ms from the device measuring to the console receiving',
        ),
      },
      {
        title: 'Latency distribution (cumulative, every 20th position)',
        svg: cumulativeSvg(
          [
            { name: 'Trupp', color: '#d1242f', values: sampleOf(trupp) },
            { name: 'plain socket.io relay', color: '#0969da', values: sampleOf(base) },
          ],
          'ms from the device measuring to the console receiving',
          'positions (sampled)',
        ),
      },
      {
        title: 'Per second: accepted reports and the worst console p99',
        svg: lineChartSvg(
          trupp.acceptedPerSecond.map((_, i) => i),
          [
            { name: 'accepted reports/s', color: '#1a7f37', values: trupp.acceptedPerSecond },
            {
              name: 'console p99 (ms)',
              color: '#d1242f',
              values: p99PerSecond(trupp),
              right: true,
            },
          ],
          { x: 'second of the run', left: 'reports/s', right: 'ms' },
        ),
      },
      {
        title: 'Server: CPU (cores) and RSS (MB) per second',
        svg: lineChartSvg(
          seconds,
          [
            { name: 'CPU cores', color: '#bf8700', values: samples.map((s) => s.cpuCores) },
            { name: 'RSS MB', color: '#8250df', values: samples.map((s) => s.rssMb), right: true },
          ],
          { x: 'second of the run', left: 'cores', right: 'MB' },
        ),
      },
      {
        title: 'MariaDB writes per second',
        svg: lineChartSvg(
          seconds,
          [
            {
              name: 'track rows written/s',
              color: '#0969da',
              values: samples.map((s) => s.historyRows),
            },
            {
              name: 'INSERT/UPDATE/DELETE statements/s (server-wide)',
              color: '#cf222e',
              values: samples.map((s) => s.statements),
              right: true,
            },
          ],
          { x: 'second of the run', left: 'rows/s', right: 'statements/s' },
        ),
      },
    ]);
    result.report = paths;
    return result;
  } finally {
    await sql?.end().catch(() => undefined);
    pools?.phones.close();
    pools?.consoles.close();
    relay?.stop();
    await server?.stop();
    await db?.drop();
  }
}
