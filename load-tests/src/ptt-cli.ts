import { parseArgs } from 'node:util';
import type { Target } from './lib/report.ts';
import { join } from 'node:path';
import { DEFAULT_DATABASE_SERVER, repoRoot } from './lib/system.ts';
import { pttFloor } from './scenarios/ptt-floor.ts';

/**
 * Options and output of the `ptt-floor` benchmark, parsed here so cli.ts only dispatches
 * to it. Logs go to stderr; `--json` prints exactly one JSON object on stdout.
 */
export const PTT_USAGE = `       npm run bench -- ptt-floor [--channels 1000] [--members 5] [--duration 20]
         [--period-ms 2000] [--hold-ms 600] [--contend 4] [--swarm 2] [--sfu-workers 1] [--json] [--cpu-prof]
         [--url http://host:port --database-url mysql://… [--server-pid PID]]`;

export async function runPttCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      channels: { type: 'string', default: '1000' },
      members: { type: 'string', default: '5' },
      duration: { type: 'string', default: '20' },
      'period-ms': { type: 'string', default: '2000' },
      'hold-ms': { type: 'string', default: '600' },
      contend: { type: 'string', default: '4' },
      swarm: { type: 'string', default: '2' },
      'sfu-workers': { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      'database-url': { type: 'string' },
      'server-pid': { type: 'string' },
      'database-server': { type: 'string', default: DEFAULT_DATABASE_SERVER },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const number = (name: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      process.stderr.write(`--${name} must be a whole number ≥ ${min}\n${PTT_USAGE}\n`);
      process.exit(2);
    }
    return value;
  };
  const periodMs = number('period-ms', values['period-ms'], 100);
  const holdMs = number('hold-ms', values['hold-ms'], 10);
  if (holdMs >= periodMs) {
    process.stderr.write(`--hold-ms must be shorter than --period-ms\n${PTT_USAGE}\n`);
    process.exit(2);
  }
  const result = await pttFloor(
    {
      channels: number('channels', values.channels, 1),
      members: number('members', values.members, 1),
      durationS: number('duration', values.duration, 1),
      periodMs,
      holdMs,
      contendEvery: number('contend', values.contend, 0),
      swarm: number('swarm', values.swarm, 1),
      sfuWorkers: number('sfu-workers', values['sfu-workers'], 1),
      url: values.url ?? null,
      databaseUrl: values['database-url'] ?? null,
      serverPid: values['server-pid'] ? number('server-pid', values['server-pid'], 1) : null,
      databaseServer: values['database-server']!,
      cpuProfDir: values['cpu-prof'] ? join(repoRoot, 'load-tests/reports/profiles') : null,
    },
    log,
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const r = result as Record<string, unknown> & {
    params: { channels: number; members: number };
    targets: Record<string, Target>;
    queued: { count: number; p50_ms: number; p99_ms: number };
    release: { count: number; p50_ms: number; p99_ms: number };
    setup: { connected: number; joined: number; produced: number; seconds: number };
    report: { html: string };
  };
  const out = [
    `ptt-floor · ${r.params.channels} channels × ${r.params.members} members`,
    `  setup            ${r.setup.connected} connected, ${r.setup.joined} joined, ${r.setup.produced} producing in ${r.setup.seconds} s`,
    `  press → granted  p50 ${r.p50_ms} · p95 ${r.p95_ms} · p99 ${r.p99_ms} · max ${r.max_ms} ms (${r.delivered} granted of ${r.expected} presses)`,
    `  echo baseline    p50 ${r.baseline_p50_ms} · p95 ${r.baseline_p95_ms} · p99 ${r.baseline_p99_ms} · max ${r.baseline_max_ms} ms → ratio p99 ${r.ratio_p99}×`,
    `  queued           ${r.queued.count} · p50 ${r.queued.p50_ms} · p99 ${r.queued.p99_ms} ms; release p50 ${r.release.p50_ms} · p99 ${r.release.p99_ms} ms`,
    `  outcomes         ${JSON.stringify(r.outcomes)}`,
    `  server           RSS ${r.server_rss_mb} MB, CPU ${r.server_cpu_s} s during the run`,
    '  targets:',
    ...Object.entries(r.targets).map(
      ([name, t]) =>
        `    ${t.met ? 'PASS' : 'FAIL'}  ${name.padEnd(18)} ${t.value ?? '–'} ${t.unit} (limit ${t.limit} ${t.unit})`,
    ),
    `  report           ${r.report.html}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
