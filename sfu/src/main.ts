import { pino } from 'pino';
import { loadSfuConfig, MIN_SECRET_LENGTH, SfuConfigError } from './config.ts';
import { Server } from './Server.ts';
import { startSfuService, type SfuService } from './service.ts';

/**
 * `npm run start:sfu`: the SFU as its own process. Starts the workers, serves the control
 * API on SFU_CONTROL_HOST:SFU_CONTROL_PORT (loopback by default) for backends holding
 * SFU_SECRET, and on SIGINT/SIGTERM closes connections, then finishes recordings still
 * being written before it exits.
 */
let config;
try {
  config = loadSfuConfig();
} catch (error) {
  if (!(error instanceof SfuConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
if (!config.secret) {
  process.stderr.write(
    `SFU_SECRET is not set: the SFU service needs a shared secret of at least ${MIN_SECRET_LENGTH} characters, and the backend the same value in its SFU_SECRET.\n`,
  );
  process.exit(1);
}

const log = pino({ name: 'sfu', level: config.logLevel, redact: ['secret', 'config.secret'] });

let service: SfuService | null = null;
const server = await Server.start({
  config,
  log,
  onNotification: (notification) => service?.notify(notification),
}).catch((error: unknown) => {
  log.fatal({ err: error }, 'the SFU could not start its media workers');
  process.exit(1);
});
try {
  service = await startSfuService({
    api: server,
    host: config.controlHost,
    port: config.controlPort,
    secret: config.secret,
    log,
  });
} catch (error) {
  log.fatal({ err: error, port: config.controlPort }, 'the SFU control API could not listen');
  server.close();
  process.exit(1);
}
// For scripts and tests that start the service on port 0: the URL on a line of its own.
process.stdout.write(`SFU_URL=${service.url}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'sfu stopping');
    void (async () => {
      await service?.close();
      await server.shutdown();
      process.exit(0);
    })();
  });
}
