import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PmtilesHeaderError, readPmtilesHeader } from '@trupp/maps/pmtiles-header';
import { loadSfuConfig, SfuConfigError, type SfuConfig } from '@trupp/sfu';

/**
 * The backend's only reader of `process.env`. `loadConfig()` validates every variable,
 * reports all problems at once and returns a frozen, typed object. Every variable is
 * documented in README.md (Configuration) and `.env.example`.
 */
export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  /** Origin users reach Trupp at; used for links in invitations and as WebAuthn origin. */
  readonly publicUrl: string;
  /** mysql://user:pass@host:port/db, or null to use/start a local MariaDB. */
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  /** Secret for signing short-lived tokens (MFA step, device-limit step). */
  readonly tokenSecret: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Where local state lives (private MariaDB, generated secrets). */
  readonly dataDir: string;
  /** Directory of the built webapp, served at `/`. */
  readonly webappDir: string;
  /** Directory of the built basemap archive(s), served at `/tiles/`. */
  readonly mapsDir: string;
  /** An OpenStreetMap extract (Protomaps schema) served at `/tiles/region.pmtiles`, or null. */
  readonly mapPmtiles: string | null;
  /** Create the demo tenant and users on first start (default: on unless production). */
  readonly demoData: boolean;
  /** Failed sign-ins per account or address before a temporary lockout. */
  readonly loginMaxFailures: number;
  readonly loginLockoutSeconds: number;
  /** Requests per minute per client address on the whole API. */
  readonly rateLimitPerMinute: number;
  /** Seconds a socket has to authenticate before it is dropped. */
  readonly socketAuthTimeoutSeconds: number;
  /** Seconds between runs of the retention job; 0 switches it off (tests). */
  readonly retentionIntervalSeconds: number;
  /** Milliseconds between alarm escalation checks; 0 switches them off (tests tick by hand). */
  readonly alarmEscalationIntervalMs: number;
  /** Milliseconds between runs of the webhook delivery worker; 0 switches it off (tests). */
  readonly webhookIntervalMs: number;
  /** Contact for push services (RFC 8292 `sub`): a mailto: or https: URL of the operator. */
  readonly pushSubject: string;
  /** Shortest time between two stored position reports of one device (rate limit). */
  readonly positionMinIntervalMs: number;
  /** Shortest time between two live updates of one member to a console (coalescing). */
  readonly positionLiveIntervalMs: number;
  /** How long accepted positions gather before one batch writes them to MariaDB. */
  readonly positionWriteIntervalMs: number;
  /** Straight-line speed for distance-based ETAs to an incident (until routing exists). */
  readonly positionTravelSpeedKmh: number;
  /**
   * The push-to-talk SFU: a remote one (`SFU_URL`, authenticated with `SFU_SECRET`) shared
   * by every backend node, or null to run it in this process with `sfu` (the `SFU_*`
   * variables of sfu/README.md).
   */
  readonly sfuUrl: string | null;
  readonly sfuSecret: string | null;
  readonly sfu: SfuConfig;
  /** Where push-to-talk recordings (Ogg Opus files) are stored. */
  readonly recordingsDir: string;
  /** Where encrypted chat attachments are stored (opaque blobs named by id). */
  readonly chatBlobsDir: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Env = Record<string, string | undefined>;

/**
 * @throws ConfigError listing every invalid variable.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];

  const str = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value === '' ? fallback : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  const url = (name: string, protocols: string[]): string | null => {
    const raw = env[name];
    if (raw === undefined || raw === '') return null;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return raw;
    } catch {
      problems.push(`${name} must be a ${protocols.join(' or ')}// URL (got "${raw}")`);
      return null;
    }
  };

  const pmtilesFile = (name: string): string | null => {
    const raw = env[name];
    if (raw === undefined || raw === '') return null;
    const path = resolve(raw);
    try {
      if (readPmtilesHeader(path).tileType !== 1) {
        problems.push(`${name} must be an archive of vector tiles (got raster tiles in "${raw}")`);
      }
    } catch (error) {
      const why = error instanceof PmtilesHeaderError ? error.message : 'cannot be read';
      problems.push(`${name} must be a PMTiles archive (Protomaps schema); "${raw}": ${why}`);
    }
    return path;
  };

  const nodeEnv = oneOf('NODE_ENV', ['development', 'production', 'test'], 'development');
  const port = int('PORT', 8080, 0, 65535);
  const host = str('HOST', '0.0.0.0');
  const dataDir = resolve(str('DATA_DIR', join(repoRoot, '.data')));
  const publicUrl =
    url('PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port === 0 ? 8080 : port}`;

  let tokenSecret = env.TOKEN_SECRET ?? '';
  if (tokenSecret !== '' && tokenSecret.length < 32) {
    problems.push('TOKEN_SECRET must be at least 32 characters');
  }
  if (tokenSecret === '') {
    if (nodeEnv === 'production') {
      problems.push('TOKEN_SECRET must be set in production (e.g. `openssl rand -hex 32`)');
    } else if (nodeEnv === 'test') {
      tokenSecret = randomBytes(32).toString('hex');
    } else {
      tokenSecret = persistentDevSecret(dataDir);
    }
  }

  const config: Config = {
    env: nodeEnv,
    host,
    port,
    publicUrl: publicUrl.replace(/\/$/, ''),
    databaseUrl: url('DATABASE_URL', ['mysql:', 'mariadb:']),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    tokenSecret,
    accessTokenTtlSeconds: int('ACCESS_TOKEN_TTL', 900, 30, 86_400),
    refreshTokenTtlSeconds: int('REFRESH_TOKEN_TTL', 30 * 86_400, 300, 365 * 86_400),
    logLevel: oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      nodeEnv === 'test' ? 'silent' : 'info',
    ),
    dataDir,
    webappDir: resolve(str('WEBAPP_DIR', join(repoRoot, 'webapp/dist'))),
    mapsDir: resolve(str('MAPS_DIR', join(repoRoot, 'maps/dist'))),
    mapPmtiles: pmtilesFile('MAP_PMTILES'),
    demoData: bool('DEMO_DATA', nodeEnv !== 'production'),
    loginMaxFailures: int('LOGIN_MAX_FAILURES', 5, 1, 100),
    loginLockoutSeconds: int('LOGIN_LOCKOUT_SECONDS', 900, 1, 86_400),
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', 600, 10, 1_000_000),
    socketAuthTimeoutSeconds: int('SOCKET_AUTH_TIMEOUT', 5, 1, 60),
    retentionIntervalSeconds: int(
      'RETENTION_INTERVAL_SECONDS',
      nodeEnv === 'test' ? 0 : 3600,
      0,
      7 * 86_400,
    ),
    alarmEscalationIntervalMs: int(
      'ALARM_ESCALATION_INTERVAL_MS',
      nodeEnv === 'test' ? 0 : 2000,
      0,
      60_000,
    ),
    webhookIntervalMs: int('WEBHOOK_INTERVAL_MS', nodeEnv === 'test' ? 0 : 1000, 0, 60_000),
    pushSubject: str('PUSH_SUBJECT', `mailto:admin@${new URL(publicUrl).hostname}`),
    positionMinIntervalMs: int('POSITION_MIN_INTERVAL_MS', 1000, 0, 3_600_000),
    positionLiveIntervalMs: int('POSITION_LIVE_INTERVAL_MS', 250, 0, 60_000),
    positionWriteIntervalMs: int('POSITION_WRITE_INTERVAL_MS', 1000, 10, 60_000),
    positionTravelSpeedKmh: int('POSITION_TRAVEL_SPEED_KMH', 40, 1, 1000),
    sfuUrl: url('SFU_URL', ['http:', 'https:', 'ws:', 'wss:']),
    sfuSecret: env.SFU_SECRET ? env.SFU_SECRET : null,
    sfu: sfuConfig(env, nodeEnv, problems),
    recordingsDir: resolve(str('RECORDINGS_DIR', join(dataDir, 'recordings'))),
    chatBlobsDir: resolve(str('CHAT_BLOBS_DIR', join(dataDir, 'chat-blobs'))),
    ...overrides,
  };

  if (config.sfuUrl && !config.sfuSecret) {
    problems.push(
      'SFU_SECRET must be set when SFU_URL is set (the secret the SFU service expects)',
    );
  }
  if (config.demoData && config.env === 'production') {
    problems.push('DEMO_DATA cannot be on in production');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/**
 * The in-process SFU's settings from the `SFU_*` variables. Tests default to one worker on
 * loopback with ports the system picks, so several test files can run side by side.
 */
function sfuConfig(env: Env, nodeEnv: Config['env'], problems: string[]): SfuConfig {
  const testDefaults: Env =
    nodeEnv === 'test'
      ? { SFU_WORKERS: '1', SFU_RTC_PORT: '0', SFU_LISTEN_IP: '127.0.0.1', SFU_LOG_LEVEL: 'warn' }
      : {};
  const merged: Env = { ...testDefaults };
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('SFU_') && value !== undefined && value !== '') merged[key] = value;
  }
  try {
    return loadSfuConfig(merged);
  } catch (error) {
    if (!(error instanceof SfuConfigError)) throw error;
    problems.push(...error.problems);
    return loadSfuConfig({});
  }
}

/** In development a secret is generated once and kept under DATA_DIR so sessions survive restarts. */
function persistentDevSecret(dataDir: string): string {
  const file = join(dataDir, 'token-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
