import os from 'node:os';
import { isIP } from 'node:net';

/**
 * The SFU's only reader of `process.env` (mediasoup itself also honours
 * `MEDIASOUP_WORKER_BIN`). `loadSfuConfig()` validates every variable, reports all
 * problems at once and returns a frozen, typed object. Documented in sfu/README.md.
 */
export interface SfuConfig {
  /** Number of mediasoup worker processes (one CPU core each). */
  readonly workers: number;
  /**
   * First WebRTC port: worker i listens on UDP and TCP port `rtcPort + i` through its
   * WebRtcServer. 0 lets the system pick free ports (tests).
   */
  readonly rtcPort: number;
  /** Address the WebRtcServers and plain transports bind to. */
  readonly listenIp: string;
  /** Address put into ICE candidates (public address behind NAT), or null for listenIp. */
  readonly announcedAddress: string | null;
  /** Address plain RTP transports (gateways, recorder, tests) bind to. */
  readonly plainListenIp: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly workerLogLevel: 'debug' | 'warn' | 'error' | 'none';
  /** Delay before a dead worker is started again after a failed restart. */
  readonly workerRestartDelayMs: number;
  /** `npm run start:sfu`: address and port of the network control API. */
  readonly controlHost: string;
  readonly controlPort: number;
  /** `npm run start:sfu`: the shared secret backends authenticate with (required there). */
  readonly secret: string | null;
}

/** Shortest SFU_SECRET accepted: a guessable secret would expose every channel. */
export const MIN_SECRET_LENGTH = 16;

export class SfuConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid SFU configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SfuConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const WORKER_LOG_LEVELS = ['debug', 'warn', 'error', 'none'] as const;

/**
 * @throws SfuConfigError listing every invalid variable.
 */
export function loadSfuConfig(
  env: Env = process.env,
  overrides: Partial<SfuConfig> = {},
): SfuConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined =>
    env[name] === undefined || env[name] === '' ? undefined : env[name];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return parsed;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };
  const ip = (name: string, fallback: string): string => {
    const raw = value(name) ?? fallback;
    if (isIP(raw) === 0) problems.push(`${name} must be an IPv4 or IPv6 address (got "${raw}")`);
    return raw;
  };

  const workers = int('SFU_WORKERS', os.availableParallelism(), 1, 256);
  const rtcPort = int('SFU_RTC_PORT', 40000, 0, 65535);
  if (rtcPort !== 0 && rtcPort + workers - 1 > 65535) {
    problems.push(`SFU_RTC_PORT + SFU_WORKERS - 1 must not exceed 65535`);
  }
  const listenIp = ip('SFU_LISTEN_IP', '0.0.0.0');
  const secret = value('SFU_SECRET') ?? null;
  if (secret !== null && secret.length < MIN_SECRET_LENGTH) {
    problems.push(`SFU_SECRET must be at least ${MIN_SECRET_LENGTH} characters long`);
  }
  const announced = value('SFU_ANNOUNCED_IP') ?? null;
  const config: SfuConfig = {
    workers,
    rtcPort,
    listenIp,
    // Clients cannot reach a wildcard address: announce this host's first external
    // IPv4 address unless told otherwise (behind NAT, set SFU_ANNOUNCED_IP).
    announcedAddress: announced ?? (isWildcard(listenIp) ? defaultHostAddress() : null),
    plainListenIp: ip('SFU_PLAIN_LISTEN_IP', '127.0.0.1'),
    logLevel: oneOf('SFU_LOG_LEVEL', LOG_LEVELS, 'info'),
    workerLogLevel: oneOf('SFU_WORKER_LOG_LEVEL', WORKER_LOG_LEVELS, 'warn'),
    workerRestartDelayMs: int('SFU_WORKER_RESTART_DELAY_MS', 1000, 0, 60_000),
    controlHost: ip('SFU_CONTROL_HOST', '127.0.0.1'),
    controlPort: int('SFU_CONTROL_PORT', 4080, 0, 65535),
    secret,
    ...overrides,
  };
  if (problems.length > 0) throw new SfuConfigError(problems);
  return Object.freeze(config);
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function defaultHostAddress(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}
