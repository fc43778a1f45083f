import { parseArgs } from 'node:util';
import { join } from 'node:path';
import type { Target } from './lib/report.ts';
import { DEFAULT_DATABASE_SERVER, repoRoot } from './lib/system.ts';
import { positions } from './scenarios/positions.ts';

/**
 * Options and output of the `positions` benchmark, parsed here so cli.ts only dispatches
 * to it. Logs go to stderr; `--json` prints exactly one JSON object on stdout.
 */
export const POSITIONS_USAGE = `       npm run bench -- positions [--devices 10000] [--interval 5] [--consoles 10]
         [--duration 30] [--swarm 4] [--json] [--cpu-prof]
         [--url http://host:port --database-url mysql://… [--server-pid PID]]`;

export async function runPositionsCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      devices: { type: 'string', default: '10000' },
      interval: { type: 'string', default: '5' },
      consoles: { type: 'string', default: '10' },
      duration: { type: 'string', default: '30' },
      swarm: { type: 'string', default: '4' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      'database-url': { type: 'string' },
      'server-pid': { type: 'string' },
      'database-server': { type: 'string', default: DEFAULT_DATABASE_SERVER },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const number = (name: string, raw: string | undefined, min: number, integer = true): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
      process.stderr.write(
        `--${name} must be a ${integer ? 'whole ' : ''}number ≥ ${min}\n${POSITIONS_USAGE}\n`,
      );
      process.exit(2);
    }
    return value;
  };
  const result = await positions(
    {
      devices: number('devices', values.devices, 1),
      intervalS: number('interval', values.interval, 0.1, false),
      consoles: number('consoles', values.consoles, 1),
      durationS: number('duration', values.duration, 1),
      swarm: number('swarm', values.swarm, 1),
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
    params: { reports_per_s: number };
    targets: Record<string, Target>;
    refused: Record<string, number>;
    report: { html: string };
  };
  const out = [
    `positions · ${r.accepted as number} accepted of ${r.sent as number} sent (${r.params.reports_per_s}/s planned), ${r.not_stored as number} not stored, refused ${JSON.stringify(r.refused)}`,
    `  device → console p50 ${r.p50_ms} · p95 ${r.p95_ms} · p99 ${r.p99_ms} · max ${r.max_ms} ms (server ack p99 ${r.ack_p99_ms} ms)`,
    `  plain relay      p50 ${r.baseline_p50_ms} · p95 ${r.baseline_p95_ms} · p99 ${r.baseline_p99_ms} · max ${r.baseline_max_ms} ms → ratio p99 ${r.ratio_p99}×`,
    `  lost             per console ${JSON.stringify(r.lost_per_console)} (left behind at the end: ${r.behind_at_end}), in MariaDB ${r.lost_in_database}`,
    `  database         ${r.db_history_rows_per_s} track rows/s, ${r.db_statements_per_s_server_wide} statements/s (server-wide)`,
    `  server           CPU ${r.server_cpu_cores} cores, RSS ${r.server_rss_start_mb} → ${r.server_rss_mb} MB; ${r.batches_per_console_per_s} batches/s per console`,
    '  targets:',
    ...Object.entries(r.targets).map(
      ([name, t]) =>
        `    ${t.met ? 'PASS' : 'FAIL'}  ${name.padEnd(18)} ${t.value ?? '–'} ${t.unit} (limit ${t.limit} ${t.unit})`,
    ),
    `  report           ${r.report.html}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
