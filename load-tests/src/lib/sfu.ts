import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connectSfu, type SfuClient } from '@trupp/sfu';
import { repoRoot } from './system.ts';

/**
 * The SFU under test as its own process (`npm run start:sfu`, one worker, loopback),
 * controlled over its network API like a backend would — or a running one (`--sfu-url`
 * with `--sfu-secret`).
 */
export interface SfuUnderTest {
  sfu: SfuClient;
  /** The Node process of the SFU service (null for a running deployment). */
  pid: number | null;
  /** The mediasoup worker process that forwards the media. */
  workerPid: number;
  stop(): Promise<void>;
}

export async function startSfuUnderTest(
  options: { url: string | null; secret: string | null; workers?: number },
  log: (line: string) => void,
): Promise<SfuUnderTest> {
  if (options.url) {
    if (!options.secret) throw new Error('--sfu-url needs --sfu-secret');
    const sfu = await connectSfu({ url: options.url, secret: options.secret });
    const stats = await sfu.stats();
    return { sfu, pid: null, workerPid: stats.workers[0]!.pid!, stop: async () => sfu.close() };
  }
  const secret = randomBytes(24).toString('base64url');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'sfu/src/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SFU_SECRET: secret,
      SFU_CONTROL_HOST: '127.0.0.1',
      SFU_CONTROL_PORT: '0',
      SFU_WORKERS: String(options.workers ?? 1),
      SFU_RTC_PORT: '0',
      SFU_LISTEN_IP: '127.0.0.1',
      SFU_PLAIN_LISTEN_IP: '127.0.0.1',
      SFU_LOG_LEVEL: 'warn',
      SFU_WORKER_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /SFU_URL=(\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) =>
      reject(new Error(`the SFU exited with ${code} before listening:\n${out}`)),
    );
  });
  child.stdout!.resume();
  const sfu = await connectSfu({ url, secret });
  const stats = await sfu.stats();
  log(`SFU service pid ${child.pid}, mediasoup worker pid ${stats.workers[0]!.pid} at ${url}`);
  return {
    sfu,
    pid: child.pid!,
    workerPid: stats.workers[0]!.pid!,
    async stop() {
      sfu.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** RTP parameters of a synthetic Opus talker with one SSRC. */
export function opusProducerParameters(ssrc: number, payloadType = 100) {
  return {
    codecs: [
      {
        mimeType: 'audio/opus',
        payloadType,
        clockRate: 48000,
        channels: 2,
        parameters: { useinbandfec: 1 },
      },
    ],
    encodings: [{ ssrc }],
  };
}
