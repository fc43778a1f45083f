import type { FastifyInstance } from 'fastify';
import { deliverDueWebhooks, enqueueAlarmChange } from './webhooks.ts';

/**
 * Turns every committed alarm change into webhook deliveries (the outbox) and sends due
 * deliveries every WEBHOOK_INTERVAL_MS (0 = never; tests call deliverDueWebhooks).
 * On close it stops the timer and waits for the outbox writes and the run in flight.
 */
export default async function webhookWorker(app: FastifyInstance) {
  const writing = new Set<Promise<unknown>>();
  const off = app.bus.on('alarm.changed', (change) => {
    const write = enqueueAlarmChange(app, change)
      .catch((err: unknown) =>
        app.log.error(
          { err, tenantId: change.tenantId, alarmId: change.alarmId },
          'webhook enqueue failed',
        ),
      )
      .finally(() => writing.delete(write));
    writing.add(write);
  });

  const intervalMs = app.config.webhookIntervalMs;
  let running: Promise<unknown> | null = null;
  const timer =
    intervalMs === 0
      ? null
      : setInterval(() => {
          running ??= deliverDueWebhooks(app)
            .catch((err: unknown) => app.log.error({ err }, 'webhook delivery run failed'))
            .finally(() => {
              running = null;
            });
        }, intervalMs);
  timer?.unref();

  app.addHook('onClose', async () => {
    off();
    if (timer) clearInterval(timer);
    await Promise.all([...writing]);
    await running;
  });
}
