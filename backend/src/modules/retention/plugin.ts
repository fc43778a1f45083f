import type { FastifyInstance } from 'fastify';
import { applyRetention } from './service.ts';

/** First run shortly after start, then every RETENTION_INTERVAL_SECONDS. */
const FIRST_RUN_DELAY_MS = 30_000;

/**
 * Runs the retention job on a timer. Every node runs it; the deletions are idempotent.
 * A failed run is logged and retried at the next interval.
 */
export default async function retentionJob(app: FastifyInstance) {
  const intervalMs = app.config.retentionIntervalSeconds * 1000;
  if (intervalMs === 0) return;
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= applyRetention(app)
      .then((results) => {
        const changed = results.filter(
          (r) =>
            r.connectionsDeleted +
              r.auditRecordsDeleted +
              r.devicesSignedOut +
              r.devicesDeleted +
              r.positionPointsDeleted +
              r.alarmsDeleted +
              r.recordingsDeleted +
              r.emergenciesDeleted >
            0,
        );
        if (changed.length > 0) app.log.info({ retention: changed }, 'retention applied');
      })
      .catch((err: unknown) => app.log.error({ err }, 'retention run failed'))
      .finally(() => {
        running = null;
      });
  };
  const first = setTimeout(run, Math.min(FIRST_RUN_DELAY_MS, intervalMs));
  const every = setInterval(run, intervalMs);
  first.unref();
  every.unref();
  app.addHook('onClose', async () => {
    clearTimeout(first);
    clearInterval(every);
    await running;
  });
}
