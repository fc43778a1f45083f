#!/usr/bin/env node
/*
 * Makes sure a working mediasoup worker binary sits where mediasoup looks for it
 * (node_modules/mediasoup/worker/out/Release/mediasoup-worker), without the internet.
 *
 *   npm run build:worker -w sfu        find, restore, download or build it (~5 min)
 *   node scripts/build-worker.mjs --if-cached
 *                                      (npm postinstall) find, restore or download it;
 *                                      never builds, never fails the install
 *   node scripts/build-worker.mjs --install-packages
 *                                      (CI, as root) only install the Debian packages
 *
 * Order: a worker already in place that runs → the cached build for this mediasoup
 * version and these shims → mediasoup's prebuilt download (machines with internet;
 * skipped with MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD=1) → a build from Debian's
 * libraries through the shim subprojects in ../worker-shims, cached in
 * ${XDG_CACHE_HOME:-~/.cache}/trupp/mediasoup-worker/<version>-<shim hash>/ so that
 * `npm ci` (which deletes node_modules) and CI runs restore it in milliseconds.
 * mediasoup's own postinstall is switched off ("allowScripts" in the root package.json):
 * it would try GitHub, then pip and meson wrap downloads, all unreachable here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sfuDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shimsDir = path.join(sfuDir, 'worker-shims');
const ifCached = process.argv.includes('--if-cached');

/** Build flags; part of the cache key. liburing is off: Debian 12's 2.3 is too old. */
const MESON_SETUP_ARGS = [
  '--buildtype',
  'release',
  '-Db_ndebug=true',
  '-Db_pie=true',
  '--wrap-mode=nodownload',
  '-Dms_disable_liburing=true',
];
/** Debian packages the build needs besides meson (checked separately: ≥ 1.1). */
const DEBIAN_PACKAGES = [
  'g++',
  'pkg-config',
  'ninja-build',
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libabsl-dev',
  'libusrsctp-dev',
  'flatbuffers-compiler',
  'libflatbuffers-dev',
];
const MIN_MESON = [1, 1, 0];
const PROGRESS_INTERVAL_MS = 10_000;

const log = (message) => console.warn(`[build-worker] ${message}`);

function fail(sentence) {
  console.error(`[build-worker] ${sentence}`);
  process.exit(ifCached ? 0 : 1);
}

// As npm's postinstall nothing here may fail the install: report and move on.
if (ifCached) {
  const soft = (error) =>
    fail(`skipped (${error?.message ?? error}); run \`npm run build:worker\`.`);
  process.on('uncaughtException', soft);
  process.on('unhandledRejection', soft);
}

// CI's Debian packages step: install what the build needs (root), before `npm ci`.
if (process.argv.includes('--install-packages')) {
  await ensureDebianPackages();
  log('the Debian packages the worker build needs are installed.');
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Where things are

const require = createRequire(path.join(sfuDir, 'package.json'));
let mediasoupDir;
try {
  // mediasoup's "exports" hide package.json; its entry point is node/lib/index.js.
  mediasoupDir = path.resolve(path.dirname(require.resolve('mediasoup')), '..', '..');
} catch {
  fail('mediasoup is not installed: run `npm install` first.');
}
const mediasoupVersion = JSON.parse(
  fs.readFileSync(path.join(mediasoupDir, 'package.json'), 'utf8'),
).version;
const targetBin = path.join(mediasoupDir, 'worker', 'out', 'Release', 'mediasoup-worker');

function listFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

/** Hash of everything that shapes the binary besides mediasoup's own sources. */
function shimHash() {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ MESON_SETUP_ARGS, arch: os.arch() }));
  for (const file of listFiles(shimsDir)) {
    hash.update(`\0${file}\0`);
    hash.update(fs.readFileSync(path.join(shimsDir, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

const cacheRoot = path.join(
  process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
  'trupp',
  'mediasoup-worker',
);
const cacheDir = path.join(cacheRoot, `${mediasoupVersion}-${shimHash()}`);
const cachedBin = path.join(cacheDir, 'mediasoup-worker');

// ---------------------------------------------------------------------------------------
// Checks

/** The bare worker, started without mediasoup's environment, exits with 41 (main.cpp). */
function workerRuns(bin) {
  if (!bin || !fs.existsSync(bin)) return false;
  const result = spawnSync(bin, [], { env: {}, stdio: 'ignore', timeout: 10_000 });
  return result.status === 41;
}

/** Starts a real worker through mediasoup's API: proves the binary speaks its protocol. */
async function workerStarts() {
  const { createWorker } = await import(require.resolve('mediasoup'));
  const worker = await createWorker({ logLevel: 'error' });
  worker.close();
}

function installInto(source, destination) {
  fs.mkdirSync(path.dirname(destination), { recursive: true });
  const temporary = `${destination}.${process.pid}.tmp`;
  fs.copyFileSync(source, temporary);
  fs.chmodSync(temporary, 0o755);
  fs.renameSync(temporary, destination);
}

async function done(how) {
  try {
    await workerStarts();
  } catch (error) {
    fs.rmSync(targetBin, { force: true });
    fail(`the mediasoup worker (${how}) does not start: ${error.message}`);
  }
  log(`mediasoup ${mediasoupVersion} worker ready (${how}): ${targetBin}`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// 1. Already there?

const envBin = process.env.MEDIASOUP_WORKER_BIN;
if (envBin) {
  if (workerRuns(envBin)) {
    log(`MEDIASOUP_WORKER_BIN=${envBin} runs; nothing to do.`);
    process.exit(0);
  }
  fail(`MEDIASOUP_WORKER_BIN is set to ${envBin}, which does not run as a mediasoup worker.`);
}
if (workerRuns(targetBin)) {
  log(`mediasoup ${mediasoupVersion} worker already present: ${targetBin}`);
  process.exit(0);
}

// 2. Cached build?
if (workerRuns(cachedBin)) {
  installInto(cachedBin, targetBin);
  await done(`restored from ${cacheDir}`);
}

// 3. mediasoup's prebuilt binary (GitHub release), where the internet is reachable.
if (!process.env.MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD && (await downloadPrebuilt())) {
  await done('prebuilt download');
}

if (ifCached) {
  log(
    `no mediasoup worker yet; run \`npm run build:worker\` (builds it offline in ~5 min, once per version).`,
  );
  process.exit(0);
}

// 4. Build it (or wait for a build another process is running, e.g. a parallel test run).
await ensureDebianPackages();
if (!(await acquireBuildLock())) {
  installInto(cachedBin, targetBin);
  await done('built by another process');
}
const started = Date.now();
await build();
log(`built in ${Math.round((Date.now() - started) / 1000)} s; cached at ${cachedBin}`);
installInto(cachedBin, targetBin);
await done('built from source');

// ---------------------------------------------------------------------------------------

async function downloadPrebuilt() {
  const kernel = Number(os.release().split('.')[0]);
  const name = `mediasoup-worker-${mediasoupVersion}-${os.platform()}-${os.arch()}${
    os.platform() === 'linux' ? `-kernel${kernel}` : ''
  }.tgz`;
  const url = `https://github.com/versatica/mediasoup/releases/download/${mediasoupVersion}/${name}`;
  let body;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(20_000) });
    if (!response.ok) return false;
    body = Buffer.from(await response.arrayBuffer());
  } catch {
    log('prebuilt worker not downloadable here (no internet); using the offline build.');
    return false;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'trupp-worker-'));
  try {
    const untar = spawnSync('tar', ['-xz', '-C', scratch], { input: body });
    const bin = path.join(scratch, 'mediasoup-worker');
    if (untar.status !== 0 || !workerRuns(bin)) {
      log('the prebuilt worker does not run on this host; using the offline build.');
      return false;
    }
    installInto(bin, targetBin);
    return true;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function missingPackages() {
  const missing = DEBIAN_PACKAGES.filter(
    (pkg) =>
      spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.trim() !==
      'install ok installed',
  );
  return { missing, mesonOk: mesonVersionOk() };
}

function mesonVersionOk() {
  const result = spawnSync('meson', ['--version'], { encoding: 'utf8' });
  if (result.status !== 0) return false;
  const parts = result.stdout.trim().split('.').map(Number);
  for (let i = 0; i < MIN_MESON.length; i += 1) {
    if ((parts[i] ?? 0) !== MIN_MESON[i]) return (parts[i] ?? 0) > MIN_MESON[i];
  }
  return true;
}

function codename() {
  const release = fs.existsSync('/etc/os-release')
    ? fs.readFileSync('/etc/os-release', 'utf8')
    : '';
  return /^VERSION_CODENAME=(.+)$/m.exec(release)?.[1]?.replace(/"/g, '') ?? 'bookworm';
}

function installHint(missing, mesonOk) {
  const parts = [];
  if (missing.length > 0) parts.push(`apt-get install -y ${missing.join(' ')}`);
  if (!mesonOk) parts.push(`apt-get install -y -t ${codename()}-backports meson`);
  return parts.join(' && ');
}

async function ensureDebianPackages() {
  if (!fs.existsSync('/usr/bin/dpkg-query')) {
    fail(
      `Building the mediasoup worker needs meson ≥ 1.1 and the development packages of ${DEBIAN_PACKAGES.join(', ')} (Debian names); install their equivalents and run this again.`,
    );
  }
  const { missing, mesonOk } = missingPackages();
  if (missing.length === 0 && mesonOk) return;
  const hint = installHint(missing, mesonOk);
  if (process.getuid?.() !== 0) {
    fail(
      `Building the mediasoup worker needs Debian packages that are missing; as root run: ${hint}${
        mesonOk ? '' : ` (with ${codename()}-backports in your apt sources)`
      }`,
    );
  }
  log(`running as root: installing the Debian packages the worker build needs (${hint})`);
  if (!mesonOk) addBackportsSource();
  run('apt-get', ['update', '-qq']);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (missing.length > 0) run('apt-get', ['install', '-y', '-qq', ...missing], aptEnv);
  if (!mesonOk) {
    run('apt-get', ['install', '-y', '-qq', '-t', `${codename()}-backports`, 'meson'], aptEnv);
  }
  const after = missingPackages();
  if (after.missing.length > 0 || !after.mesonOk) {
    fail(
      `Installing the Debian packages did not work; run by hand: ${installHint(after.missing, after.mesonOk)}`,
    );
  }
}

/**
 * meson ≥ 1.1 is only in <codename>-backports. Adds a sources entry that copies the
 * machine's own Debian entry (same mirror, same keyring) with the backports suite.
 */
function addBackportsSource() {
  const suite = `${codename()}-backports`;
  const dir = '/etc/apt/sources.list.d';
  const existing = [];
  for (const file of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (file.endsWith('.sources') || file.endsWith('.list')) existing.push(path.join(dir, file));
  }
  if (fs.existsSync('/etc/apt/sources.list')) existing.push('/etc/apt/sources.list');
  const texts = existing.map((file) => fs.readFileSync(file, 'utf8'));
  if (texts.some((text) => new RegExp(`(^|\\s)${suite}(\\s|$)`, 'm').test(text))) return;

  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (suites.includes(codename()) && !/^Enabled:\s*no/im.test(stanza)) {
        const entry = stanza
          .split('\n')
          .filter((line) => !line.startsWith('#'))
          .join('\n')
          .replace(/^Suites:.*$/m, `Suites: ${suite}`);
        fs.writeFileSync(path.join(dir, 'trupp-backports.sources'), `${entry.trim()}\n`);
        log(`added ${path.join(dir, 'trupp-backports.sources')} (${suite}, same mirror)`);
        return;
      }
    }
    for (const line of text.split('\n')) {
      const match = new RegExp(`^deb\\s+(\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${codename()}\\s+(.+)$`).exec(
        line.trim(),
      );
      if (match) {
        const entry = `deb ${match[1] ?? ''}${match[2]} ${suite} ${match[3]}\n`;
        fs.writeFileSync(path.join(dir, 'trupp-backports.list'), entry);
        log(`added ${path.join(dir, 'trupp-backports.list')} (${suite}, same mirror)`);
        return;
      }
    }
  }
  fail(
    `meson ≥ 1.1 is needed and no Debian ${codename()} apt source was found to add ${suite} next to it.`,
  );
}

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) fail(`\`${command} ${args.join(' ')}\` failed (exit ${result.status}).`);
}

// ---------------------------------------------------------------------------------------

/**
 * One build per cache key at a time. Returns true when this process holds the lock
 * (released on exit), false when another process finished the build meanwhile.
 */
async function acquireBuildLock() {
  const lockFile = `${cacheDir}.lock`;
  fs.mkdirSync(cacheRoot, { recursive: true });
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      process.on('exit', () => fs.rmSync(lockFile, { force: true }));
      return true;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const owner = Number(fs.readFileSync(lockFile, 'utf8'));
    if (!isAlive(owner)) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (!announced) log(`another process (pid ${owner}) is building this worker; waiting for it`);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    if (!fs.existsSync(lockFile) && workerRuns(cachedBin)) return false;
  }
}

function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Reads the directory a wrap file's sources unpack to: where meson looks for a shim. */
function wrapDirectory(sourceDir, wrap) {
  const text = fs.readFileSync(path.join(sourceDir, 'subprojects', `${wrap}.wrap`), 'utf8');
  const directory = /^directory\s*=\s*(\S+)/m.exec(text)?.[1];
  if (!directory) fail(`mediasoup's subprojects/${wrap}.wrap names no directory.`);
  return directory;
}

async function build() {
  // Work directories of builds that were interrupted (their process is gone).
  for (const entry of fs.readdirSync(cacheRoot)) {
    const pid = /^build-.+-(\d+)$/.exec(entry)?.[1];
    if (pid && !isAlive(Number(pid)))
      fs.rmSync(path.join(cacheRoot, entry), { recursive: true, force: true });
  }
  const work = path.join(cacheRoot, `build-${mediasoupVersion}-${process.pid}`);
  const sourceDir = path.join(work, 'worker');
  const buildDir = path.join(work, 'build');
  const logFile = `${cacheDir}.build.log`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.writeFileSync(logFile, '');
  log(`building mediasoup ${mediasoupVersion} worker from Debian's libraries (~5 min on 2 cores)`);
  log(`full log: ${logFile}`);

  // A private copy of the worker sources: node_modules stays untouched, and a failed
  // build leaves nothing half-done behind.
  fs.cpSync(path.join(mediasoupDir, 'worker'), sourceDir, {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}out${path.sep}`) && !src.endsWith(`${path.sep}out`),
  });
  for (const shim of fs.readdirSync(shimsDir, { withFileTypes: true })) {
    if (!shim.isDirectory()) continue;
    fs.cpSync(
      path.join(shimsDir, shim.name),
      path.join(sourceDir, 'subprojects', wrapDirectory(sourceDir, shim.name)),
      { recursive: true },
    );
  }

  // mediasoup's tooling points NINJA at a pip location; meson must find Debian's.
  const env = { ...process.env };
  delete env.NINJA;
  const meson = (label, args) => step(label, 'meson', args, { cwd: sourceDir, env }, logFile);

  await meson('configure', ['setup', buildDir, ...MESON_SETUP_ARGS]);
  // The flatbuffers headers (FBS/*.h) must exist before any worker source compiles.
  await meson('generate flatbuffers headers', ['compile', '-C', buildDir, 'flatbuffers-generator']);
  await meson('compile', ['compile', '-C', buildDir, 'mediasoup-worker']);

  const built = path.join(buildDir, 'mediasoup-worker');
  if (!workerRuns(built)) fail(`the built worker does not start; see ${logFile}`);
  fs.mkdirSync(cacheDir, { recursive: true });
  installInto(built, cachedBin);
  fs.rmSync(work, { recursive: true, force: true });
}

/** Runs one build step, logs everything to logFile and shows ninja's [n/N] as progress. */
function step(label, command, args, options, logFile) {
  return new Promise((resolve) => {
    const started = Date.now();
    const out = fs.openSync(logFile, 'a');
    fs.writeSync(out, `\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let progress = '';
    let shown = 0;
    const show = (force = false) => {
      if (!force && Date.now() - shown < PROGRESS_INTERVAL_MS) return;
      shown = Date.now();
      const seconds = Math.round((Date.now() - started) / 1000);
      log(`${label}: ${progress || 'running'} (${seconds} s)`);
    };
    const onData = (chunk) => {
      fs.writeSync(out, chunk);
      const matches = [...chunk.toString().matchAll(/\[(\d+)\/(\d+)\]/g)];
      const last = matches.at(-1);
      if (last) {
        const [done, total] = [Number(last[1]), Number(last[2])];
        progress = `${done}/${total} (${Math.floor((done / total) * 100)} %)`;
      }
      show();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setInterval(() => show(), PROGRESS_INTERVAL_MS);
    child.on('error', (error) => {
      clearInterval(timer);
      fs.closeSync(out);
      fail(`${label} could not start ${command}: ${error.message}`);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      fs.closeSync(out);
      if (code !== 0) {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
        console.error(tail);
        fail(`${label} failed (exit ${code}); full log: ${logFile}`);
      }
      show(true);
      resolve();
    });
  });
}
