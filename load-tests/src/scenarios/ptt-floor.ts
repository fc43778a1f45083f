import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { lineChartSvg } from '../lib/chart.ts';
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
import type {
  PttMember,
  PttRunResult,
  PttSetupResult,
  PttWorkerReply,
  PttWorkerRequest,
} from '../ptt/protocol.ts';

/**
 * ptt-floor: `channels` push-to-talk channels of `members` members each, every member
 * connected and joined (the SFU holds two WebRTC transports per member), one talker per
 * channel pressing every `period` ms for `hold` ms, and every `contend`-th press a second
 * member asking meanwhile (queued) and letting go. Measures press → "granted"
 * acknowledgement (KPI 1: target p99 ≤ 50 ms) with everything else going on, and — first,
 * in the same run — the same sockets and schedule against a plain socket.io server that
 * acknowledges at once and sends the same room message: the baseline.
 */
export interface PttFloorOptions {
  channels: number;
  members: number;
  durationS: number;
  periodMs: number;
  holdMs: number;
  contendEvery: number;
  swarm: number;
  sfuWorkers: number;
  url: string | null;
  databaseUrl: string | null;
  serverPid: number | null;
  databaseServer: string;
  /** Write a V8 CPU profile of the server here (`--cpu-prof`), or null. */
  cpuProfDir: string | null;
}

export const TARGETS = { grant_p99_ms: 50 } as const;

const CONNECTS_IN_FLIGHT_PER_PROCESS = 25;
type Log = (line: string) => void;

class Clients {
  readonly #workers: ChildProcess[] = [];
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  readonly #progress: number[] = [];
  #next = 1;

  constructor(size: number) {
    const script = fileURLToPath(new URL('../ptt/worker.ts', import.meta.url));
    for (let i = 0; i < size; i += 1) {
      const worker = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      worker.on('message', (message: PttWorkerReply) => {
        if ('progress' in message) {
          this.#progress[i] = message.progress;
          return;
        }
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.data);
        else waiter?.reject(new Error(message.error));
      });
      // A client process that dies (killed, out of memory) fails the run instead of hanging it.
      worker.on('exit', (code, signal) => {
        for (const [id, waiter] of this.#pending) {
          this.#pending.delete(id);
          waiter.reject(new Error(`client process ${i} exited (${signal ?? code})`));
        }
      });
      this.#workers.push(worker);
    }
  }

  get progress(): number {
    return this.#progress.reduce((a, b) => a + (b ?? 0), 0);
  }

  all<T>(command: (i: number) => Omit<PttWorkerRequest, 'id'>): Promise<T[]> {
    this.#progress.length = 0;
    return Promise.all(
      this.#workers.map(
        (worker, i) =>
          new Promise<T>((resolve, reject) => {
            const id = this.#next++;
            this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
            worker.send({ ...command(i), id });
          }),
      ),
    );
  }

  /** Splits members so that a channel's members stay in one process. */
  shares(members: PttMember[], perChannel: number): PttMember[][] {
    const channels = Math.ceil(members.length / perChannel);
    const per = Math.ceil(channels / this.#workers.length) * perChannel;
    return this.#workers.map((_, i) => members.slice(i * per, (i + 1) * per));
  }

  close(): void {
    for (const worker of this.#workers) worker.kill();
  }
}

async function startEcho(): Promise<{ url: string; pid: number; stop: () => void }> {
  const script = fileURLToPath(new URL('../ptt/echo.ts', import.meta.url));
  const child = fork(script, [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

/** The channels, `members` users each, written straight into the database. */
async function seedChannels(
  databaseUrl: string,
  tenantId: string,
  userIds: string[],
  channels: number,
  members: number,
): Promise<string[]> {
  const conn = await mysql.createConnection({ uri: databaseUrl, timezone: 'Z' });
  try {
    const now = new Date();
    const ids = Array.from({ length: channels }, () => randomUUID());
    const rows = ids.map((id, c) => [
      id,
      tenantId,
      `Channel ${c + 1}`,
      JSON.stringify({
        unitIds: [],
        roles: [],
        userIds: userIds.slice(c * members, (c + 1) * members),
      }),
      now,
      now,
    ]);
    for (let i = 0; i < rows.length; i += 500) {
      await conn.query(
        'INSERT INTO ptt_channels (id, tenant_id, name, members, created_at, updated_at) VALUES ?',
        [rows.slice(i, i + 500)],
      );
    }
    return ids;
  } finally {
    await conn.end();
  }
}

async function phase(
  clients: Clients,
  label: string,
  url: string,
  members: PttMember[],
  options: PttFloorOptions,
  mode: 'trupp' | 'echo',
  log: Log,
  onSetupDone: () => void = () => undefined,
): Promise<{ setup: PttSetupResult; run: PttRunResult; setupS: number }> {
  const shares = clients.shares(members, options.members);
  const started = Date.now();
  const ticker = setInterval(
    () => log(`${label}: connecting and joining ${clients.progress}/${members.length}`),
    3000,
  );
  let setups: PttSetupResult[];
  try {
    setups = await clients.all<PttSetupResult>((i) => ({
      cmd: 'setup',
      url,
      members: shares[i]!,
      mode,
      concurrency: CONNECTS_IN_FLIGHT_PER_PROCESS,
    }));
  } finally {
    clearInterval(ticker);
  }
  const setupS = (Date.now() - started) / 1000;
  const setup: PttSetupResult = {
    connected: setups.reduce((a, s) => a + s.connected, 0),
    joined: setups.reduce((a, s) => a + s.joined, 0),
    produced: setups.reduce((a, s) => a + s.produced, 0),
    errors: setups.flatMap((s) => s.errors).slice(0, 20),
  };
  log(
    `${label}: ${setup.connected} connected, ${setup.joined} joined, ${setup.produced} producing in ${round(setupS)} s`,
  );
  onSetupDone();
  const startAt = nowMs() + 1000;
  const progress = setInterval(
    () =>
      log(`${label}: pressing, ${round((nowMs() - startAt) / 1000, 0)} of ${options.durationS} s`),
    5000,
  );
  let runs: PttRunResult[];
  try {
    runs = await clients.all<PttRunResult>(() => ({
      cmd: 'run',
      startAt,
      durationMs: options.durationS * 1000,
      periodMs: options.periodMs,
      holdMs: options.holdMs,
      contendEvery: options.contendEvery,
    }));
  } finally {
    clearInterval(progress);
  }
  const outcomes: Record<string, number> = {};
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  }
  await clients.all(() => ({ cmd: 'close' }));
  return {
    setup,
    setupS,
    run: {
      grant: runs.flatMap((r) => r.grant),
      grantAt: runs.flatMap((r) => r.grantAt),
      queued: runs.flatMap((r) => r.queued),
      release: runs.flatMap((r) => r.release),
      outcomes,
      presses: runs.reduce((a, r) => a + r.presses, 0),
      errors: runs.flatMap((r) => r.errors).slice(0, 20),
    },
  };
}

/** p99 of the grant latency per second of the run. */
function p99PerSecond(run: PttRunResult, seconds: number): number[] {
  const buckets = Array.from({ length: seconds }, () => [] as number[]);
  run.grantAt.forEach((at, i) =>
    buckets[Math.min(seconds - 1, Math.floor(at / 1000))]?.push(run.grant[i]!),
  );
  return buckets.map((b) => (b.length ? percentiles(b).p99 : NaN));
}

export async function pttFloor(
  options: PttFloorOptions,
  log: Log,
): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString();
  const total = options.channels * options.members;
  let db: ScratchDatabase | null = null;
  let server: BackendProcess | null = null;
  let echo: Awaited<ReturnType<typeof startEcho>> | null = null;
  let clients: Clients | null = null;
  try {
    let url = options.url;
    let databaseUrl = options.databaseUrl;
    let serverPid = options.serverPid;
    if (!url) {
      db = scratchDatabase(options.databaseServer);
      log(`starting the backend on a fresh database (${db.name})`);
      server = await startBackend({
        databaseUrl: db.url,
        ...(options.cpuProfDir
          ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] }
          : {}),
        env: {
          SFU_WORKERS: String(options.sfuWorkers),
          SFU_RTC_PORT: '0',
          SFU_LISTEN_IP: '127.0.0.1',
          SFU_LOG_LEVEL: 'warn',
          RATE_LIMIT_PER_MINUTE: '1000000',
        },
      });
      url = server.url;
      databaseUrl = db.url;
      serverPid = server.pid;
    } else if (!databaseUrl) {
      throw new Error('--url needs --database-url (the bench seeds its members there)');
    }
    log(`seeding ${options.channels} channels × ${options.members} members`);
    const fleet = await seedFleet(databaseUrl!, total);
    const channelIds = await seedChannels(
      databaseUrl!,
      fleet.tenantId,
      fleet.members.map((m) => m.userId),
      options.channels,
      options.members,
    );
    const members: PttMember[] = fleet.members.map((m, i) => ({
      token: m.accessToken,
      channelId: channelIds[Math.floor(i / options.members)]!,
      talker: i % options.members === 0,
      contender: options.members > 1 && i % options.members === 1,
    }));

    clients = new Clients(options.swarm);
    echo = await startEcho();
    const baseline = await phase(clients, 'baseline', echo.url, members, options, 'echo', log);
    echo.stop();
    echo = null;

    let rssBefore: number | null = null;
    let cpuBefore: number | null = null;
    // Server CPU and memory are taken over the pressing only, after every member joined.
    const trupp = await phase(clients, 'trupp', url, members, options, 'trupp', log, () => {
      rssBefore = serverPid ? rssBytes(serverPid) : null;
      cpuBefore = serverPid ? cpuSeconds(serverPid) : null;
    });
    const rssAfter = serverPid ? rssBytes(serverPid) : null;
    const cpuAfter = serverPid ? cpuSeconds(serverPid) : null;

    const grant = percentiles(trupp.run.grant);
    const queued = percentiles(trupp.run.queued);
    const release = percentiles(trupp.run.release);
    const base = percentiles(baseline.run.grant);
    const ratio = grant.p99 / base.p99;
    const target = (value: number, limit: number, unit: string): Target => ({
      value: Number.isFinite(value) ? round(value, 2) : null,
      limit,
      unit,
      met: Number.isFinite(value) && value <= limit,
    });
    const result = {
      scenario: 'ptt-floor',
      started_at: startedAt,
      params: {
        channels: options.channels,
        members: options.members,
        duration_s: options.durationS,
        period_ms: options.periodMs,
        hold_ms: options.holdMs,
        contend_every: options.contendEvery,
        swarm_processes: options.swarm,
        sfu_workers: options.url ? null : options.sfuWorkers,
        url: options.url,
        cores: cpus().length,
      },
      expected: trupp.run.presses,
      delivered: trupp.run.grant.length,
      p50_ms: round(grant.p50),
      p95_ms: round(grant.p95),
      p99_ms: round(grant.p99),
      max_ms: round(grant.max),
      baseline_p50_ms: round(base.p50),
      baseline_p95_ms: round(base.p95),
      baseline_p99_ms: round(base.p99),
      baseline_max_ms: round(base.max),
      ratio_p99: round(ratio, 2),
      throughput_per_s: round(
        (trupp.run.grant.length + trupp.run.queued.length + trupp.run.release.length) /
          options.durationS,
        0,
      ),
      queued: {
        count: trupp.run.queued.length,
        p50_ms: round(queued.p50),
        p99_ms: round(queued.p99),
      },
      release: {
        count: trupp.run.release.length,
        p50_ms: round(release.p50),
        p99_ms: round(release.p99),
      },
      outcomes: trupp.run.outcomes,
      baseline_presses: baseline.run.presses,
      setup: { ...trupp.setup, seconds: round(trupp.setupS) },
      baseline_setup: { ...baseline.setup, seconds: round(baseline.setupS) },
      server_rss_mb: rssAfter === null ? null : round(rssAfter / 2 ** 20),
      server_rss_before_run_mb: rssBefore === null ? null : round(rssBefore / 2 ** 20),
      server_cpu_s: cpuBefore === null || cpuAfter === null ? null : round(cpuAfter - cpuBefore, 2),
      errors: [...trupp.setup.errors, ...trupp.run.errors],
      targets: { grant_p99_ms: target(grant.p99, TARGETS.grant_p99_ms, 'ms') },
      report: { json: '', html: '' },
    };
    const seconds = options.durationS;
    result.report = writeReport('ptt-floor', result, [
      {
        title: 'Press → granted acknowledgement (ms)',
        svg: histogramSvg(
          [
            { name: 'Trupp floor request', color: '#d1242f', values: trupp.run.grant },
            { name: 'socket.io echo baseline', color: '#0969da', values: baseline.run.grant },
          ],
          'ms from press to acknowledgement',
        ),
      },
      {
        title: 'Latency distribution (cumulative)',
        svg: cumulativeSvg(
          [
            { name: 'Trupp granted', color: '#d1242f', values: trupp.run.grant },
            { name: 'Trupp queued', color: '#bf8700', values: trupp.run.queued },
            { name: 'Trupp release', color: '#8250df', values: trupp.run.release },
            { name: 'echo baseline', color: '#0969da', values: baseline.run.grant },
          ],
          'ms',
          'requests',
        ),
      },
      {
        title: 'Grant p99 per second of the run',
        svg: lineChartSvg(
          Array.from({ length: seconds }, (_, s) => s + 1),
          [
            { name: 'Trupp p99', color: '#d1242f', values: p99PerSecond(trupp.run, seconds) },
            { name: 'baseline p99', color: '#0969da', values: p99PerSecond(baseline.run, seconds) },
          ],
          { x: 'second of the run', left: 'ms' },
        ),
      },
    ]);
    return result;
  } finally {
    clients?.close();
    echo?.stop();
    await server?.stop();
    await db?.drop();
  }
}
