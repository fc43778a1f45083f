import { cpus, loadavg } from 'node:os';
import mysql from 'mysql2/promise';
import type { ChatConversation } from '@trupp/shared';
import {
  TEXT_CHARS,
  type ChatCollected,
  type ChatCounts,
  type ChatDeviceSpec,
  type ChatPhase,
  type ChatPrepareResult,
  type ChatSent,
  type ChatSetupResult,
  type ChatSyncResult,
  type ChatWorkerCommand,
} from '../chat/protocol.ts';
import { lineChartSvg } from '../lib/chart.ts';
import { nowMs } from '../lib/device.ts';
import {
  forkListening,
  openSystem,
  ProcessSampler,
  target,
  type Log,
  type SystemOptions,
  type SystemUnderTest,
} from '../lib/harness.ts';
import { ProcessPool } from '../lib/pool.ts';
import { cumulativeSvg, histogramSvg, percentiles, round, writeReport } from '../lib/report.ts';
import { seedFleet, type SeededDevice } from '../lib/seed.ts';
import { cpuSeconds } from '../lib/system.ts';

/**
 * chat: one MLS group of `group` devices, every one a real `@trupp/chat-client` in Node
 * that entered the group through the protocol (one device creates it and adds the others
 * with their key packages in one commit; each joins from its welcome). Every device holds
 * a socket and receives every `chat.message`; the devices that do not decrypt send, open
 * loop, `rate` messages a second between them, each really encrypted by its ChatClient.
 * Measured: send (`chat.send` leaving the sender) → socket arrival on every device — the
 * delivery service's latency — and, on `decrypt` sampled devices that decrypt every
 * message as the web app does, send → decrypted, with every text checked. First, in the
 * same run, the same sockets and schedule against a plain socket.io relay of opaque
 * payloads of the same size (no database, no MLS): the baseline.
 *
 * The senders encrypt every message of the run ahead, before the baseline
 * (`ChatClient.prepare`, timed per message and reported as the encryption cost), and only
 * send them in the timed phase (`ChatClient.sendPrepared`): in production each sender is
 * its own phone with its own CPU, while here the devices' cryptography would compete with
 * the server for the same cores and hold the send rate back. No commit may come in
 * between (checked before and after): a refused message (CHAT_EPOCH_STALE) is a failure.
 *
 * Decrypting every message on all devices would take ≈ 2 ms × rate × (group − 1) of CPU
 * (≈ 20 cores for 200/s in 50) on a 2-core box shared with the server, hence the sample.
 */
export interface ChatOptions extends SystemOptions {
  group: number;
  rate: number;
  seconds: number;
  warmupS: number;
  decrypt: number;
  /** Processes for the sending and receiving devices; each decrypting one has its own. */
  procs: number;
}

export const TARGETS = { p99_ms: 150, lost: 0 } as const;
/** A generator that reaches less than this share of the rate did not keep up. */
const KEPT_UP_SHARE = 0.98;
/** After the last send: how long receipts may stall before the bench stops waiting. */
const DRAIN_IDLE_MS = 5_000;
const DRAIN_MAX_MS = 120_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Pool = ProcessPool<ChatWorkerCommand>;

interface PhaseData {
  phase: ChatPhase;
  startAt: number;
  /** Indexed by k. */
  sent: ChatSent[];
  collected: ChatCollected[];
  drainMs: number;
  /** CPU cores each device process used over the run. */
  generatorCores: number[];
}

/** What one phase measured, over the messages after the warm-up unless said otherwise. */
interface PhaseStats {
  total: number;
  acked: number;
  failed: number;
  failures: Record<string, number>;
  /** Deliveries due (acked messages × devices) and made (distinct seqs), whole run. */
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  /** Seqs that arrived but no sender saw acknowledged. */
  unexpected: number;
  latency: number[];
  /** Per delivery: second of the run the message was sent in (for the per-second p99). */
  latencySecond: number[];
  /** Due (pressed send) → socket arrival: adds encryption and the device's own queue. */
  fromDue: number[];
  ack: number[];
  /** Taken up by the device → handed to its socket (the messages are encrypted ahead). */
  handoff: number[];
  /** Schedule loop late (the generator's own lag). */
  lag: number[];
  /** Waiting for the device's previous message to be acknowledged. */
  deviceWait: number[];
  /** Rate at which the schedule handed messages to the devices, and they left on the wire. */
  generatorRate: number;
  sendRate: number;
  storedPerS: number;
  deliveriesPerS: number;
  decrypt: {
    expected: number;
    decrypted: number;
    missing: number;
    garbled: number;
    /** Decrypted text of another message than the one stored under that seq. */
    misplaced: number;
    latency: number[];
    latencySecond: number[];
    /** The same devices' socket arrivals, for comparison. */
    arrival: number[];
    clientErrors: Record<string, number>;
  };
  errors: string[];
  perSecond: { sends: number[]; acks: number[]; deliveries: number[] };
}

function assignDevices(
  fleet: SeededDevice[],
  options: ChatOptions,
): { specs: ChatDeviceSpec[][]; senders: number[] } {
  const plain = options.group - options.decrypt;
  const specs: ChatDeviceSpec[][] = Array.from(
    { length: options.procs + options.decrypt },
    () => [],
  );
  fleet.forEach((member, index) => {
    const decrypt = index >= plain;
    // Round robin, so consecutive messages come from different processes.
    const slot = decrypt ? options.procs + (index - plain) : index % options.procs;
    specs[slot]!.push({
      index,
      userId: member.userId,
      deviceId: member.deviceId,
      token: member.accessToken,
      decrypt,
    });
  });
  return { specs, senders: Array.from({ length: plain }, (_, i) => i) };
}

async function withProgress<T>(pool: Pool, label: string, of: number, log: Log, step: Promise<T>) {
  const started = Date.now();
  const ticker = setInterval(() => log(`${label}: ${pool.progress}/${of}`), 3_000);
  try {
    const result = await step;
    log(`${label}: done in ${round((Date.now() - started) / 1000)} s`);
    return result;
  } finally {
    clearInterval(ticker);
  }
}

/** The group through the protocol: created and committed by device 0, joined by the rest. */
async function buildGroup(
  system: SystemUnderTest,
  pool: Pool,
  fleet: SeededDevice[],
  options: ChatOptions,
  log: Log,
) {
  const res = await fetch(`${system.url}/api/chat/conversations`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${fleet[0]!.accessToken}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      kind: 'group',
      title: 'Load test',
      userIds: fleet.slice(1).map((m) => m.userId),
    }),
  });
  if (res.status !== 201)
    throw new Error(`creating the conversation: ${res.status} ${await res.text()}`);
  const conversationId = ((await res.json()) as ChatConversation).id;
  // Device 0 sits in process 0 (round robin); it creates the group and adds everyone.
  const [created] = (
    await system.alive(pool.ask<ChatSyncResult>(0, { cmd: 'sync', conversationId, only: [0] }))
  ).devices;
  if (created?.epoch !== 1)
    throw new Error(`the creator did not reach epoch 1 (${created?.epoch})`);
  log(
    `group created and ${options.group - 1} devices added in one commit: ${round(created.ms)} ms`,
  );
  const joined = await withProgress(
    pool,
    'devices joining from their welcomes',
    options.group - 1,
    log,
    system.alive(
      pool.all<ChatSyncResult>(() => ({
        cmd: 'sync',
        conversationId,
        only: Array.from({ length: options.group - 1 }, (_, i) => i + 1),
      })),
    ),
  );
  const devices = joined.flatMap((j) => j.devices);
  const outside = devices.filter((d) => d.epoch !== 1);
  if (outside.length > 0 || devices.length !== options.group - 1) {
    const errors = joined.flatMap((j) => j.errors).slice(0, 5);
    throw new Error(
      `${outside.length} of ${options.group - 1} devices are not in the group: ${errors.join('; ')}`,
    );
  }
  const joinMs = percentiles(devices.map((d) => d.ms));
  return {
    conversationId,
    createCommitMs: round(created.ms),
    joinP50Ms: round(joinMs.p50),
    joinMaxMs: round(joinMs.max),
  };
}

async function runPhase(
  pool: Pool,
  system: SystemUnderTest,
  phase: ChatPhase,
  conversationId: string,
  senders: number[],
  payloadChars: number,
  options: ChatOptions,
  log: Log,
): Promise<PhaseData> {
  const total = Math.round((options.warmupS + options.seconds) * options.rate);
  const startAt = nowMs() + 1_000;
  const pids = pool.pids();
  const cpuBefore = pids.map((pid) => cpuSeconds(pid));
  const ticker = setInterval(
    () =>
      log(
        `${phase}: ${round((nowMs() - startAt) / 1000, 0)} of ${options.warmupS + options.seconds} s (${options.warmupS} s warm-up), ${pool.progress}/${total} due messages handed to their devices`,
      ),
    5_000,
  );
  try {
    await system.alive(
      pool.all(() => ({
        cmd: 'run',
        phase,
        conversationId,
        startAt,
        rate: options.rate,
        total,
        senders,
        payloadChars,
      })),
    );
  } finally {
    clearInterval(ticker);
  }
  const runEnd = nowMs();
  const generatorCores = pids.map((pid, i) => {
    const after = cpuSeconds(pid);
    const before = cpuBefore[i];
    return after === null || before === null || before === undefined
      ? NaN
      : round((after - before) / ((runEnd - startAt) / 1000), 2);
  });
  // Wait until every device has everything, or receipts stop coming.
  const want = {
    received: total * options.group,
    decrypted: phase === 'trupp' ? total * options.decrypt : 0,
  };
  let last = -1;
  let lastChange = nowMs();
  for (;;) {
    const counts = await pool.all<ChatCounts>(() => ({ cmd: 'counts' }));
    const received = counts.reduce((a, c) => a + c.received, 0);
    const decrypted = counts.reduce((a, c) => a + c.decrypted, 0);
    if (received >= want.received && decrypted >= want.decrypted) break;
    if (received + decrypted !== last) {
      last = received + decrypted;
      lastChange = nowMs();
    }
    if (nowMs() - lastChange > DRAIN_IDLE_MS || nowMs() - runEnd > DRAIN_MAX_MS) {
      log(
        `${phase}: stopped waiting with ${received}/${want.received} receipts, ${decrypted}/${want.decrypted} decrypted`,
      );
      break;
    }
    await sleep(250);
  }
  const drainMs = nowMs() - runEnd;
  const collected = await pool.all<ChatCollected>(() => ({ cmd: 'collect' }));
  const sent: ChatSent[] = [];
  for (const c of collected) for (const s of c.sent) sent[s.k] = s;
  return { phase, startAt, sent, collected, drainMs, generatorCores };
}

/** The conversation's MLS epoch as the server has it. */
async function serverEpoch(url: string, token: string, conversationId: string): Promise<number> {
  const res = await fetch(`${url}/api/chat/conversations`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`listing conversations: ${res.status} ${await res.text()}`);
  const conversation = ((await res.json()) as ChatConversation[]).find(
    (c) => c.id === conversationId,
  );
  if (conversation?.epoch == null) throw new Error('the conversation has no group epoch');
  return conversation.epoch;
}

/**
 * Every sending device encrypts all its messages of the run (warm-up included) with its
 * real ChatClient, at the group's current epoch. Throws when a message could not be
 * prepared or the epoch was not the server's.
 */
async function prepareMessages(
  system: SystemUnderTest,
  pool: Pool,
  conversationId: string,
  senders: number[],
  options: ChatOptions,
  epoch: number,
  log: Log,
) {
  const total = Math.round((options.warmupS + options.seconds) * options.rate);
  const started = nowMs();
  const parts = await withProgress(
    pool,
    'senders encrypting the run ahead',
    total,
    log,
    system.alive(
      pool.all<ChatPrepareResult>(() => ({ cmd: 'prepare', conversationId, total, senders })),
    ),
  );
  const errors = parts.flatMap((p) => p.errors);
  const encryptMs = parts.flatMap((p) => p.encryptMs);
  if (errors.length > 0 || encryptMs.length !== total) {
    throw new Error(
      `${encryptMs.length} of ${total} messages prepared: ${errors.slice(0, 5).join('; ')}`,
    );
  }
  const epochs = [...new Set(parts.flatMap((p) => p.epochs))];
  if (epochs.length !== 1 || epochs[0] !== epoch) {
    throw new Error(`messages prepared at epochs ${epochs.join(', ')}, the group is at ${epoch}`);
  }
  return {
    encryptMs,
    payloadChars: Math.max(...parts.map((p) => p.payloadChars)),
    seconds: (nowMs() - started) / 1000,
  };
}

function tally(record: Record<string, number>, key: string, n = 1): void {
  record[key] = (record[key] ?? 0) + n;
}

function analyse(data: PhaseData, options: ChatOptions): PhaseStats {
  const warmup = Math.round(options.warmupS * options.rate);
  const windowStart = data.startAt + options.warmupS * 1000;
  const windowEnd = windowStart + options.seconds * 1000;
  const inWindow = (t: number) => t >= windowStart && t < windowEnd;
  const secondOf = (t: number) => Math.floor((t - data.startAt) / 1000);
  // The series run until the last acknowledgement, which may be after the schedule ended.
  const lastAck = data.sent.reduce(
    (last, s) => (s && Number.isFinite(s.ackAt) ? Math.max(last, s.ackAt) : last),
    data.startAt,
  );
  const runSeconds = Math.max(options.warmupS + options.seconds, secondOf(lastAck) + 1);
  const perSecond = {
    sends: new Array<number>(runSeconds).fill(0),
    acks: new Array<number>(runSeconds).fill(0),
    deliveries: new Array<number>(runSeconds).fill(0),
  };
  const bump = (series: number[], t: number) => {
    const s = secondOf(t);
    if (s >= 0 && s < series.length) series[s]!++;
  };

  // seq → the message stored under it
  const bySeq = new Map<number, ChatSent>();
  const failures: Record<string, number> = {};
  const ack: number[] = [];
  const handoff: number[] = [];
  const lag: number[] = [];
  const deviceWait: number[] = [];
  let acksInWindow = 0;
  const measuredEmits: number[] = [];
  const measuredQueued: number[] = [];
  for (const s of data.sent) {
    if (!s) continue;
    if (!Number.isNaN(s.emitAt)) bump(perSecond.sends, s.emitAt);
    if (Number.isNaN(s.seq)) {
      tally(failures, s.error ?? 'never sent');
      continue;
    }
    bySeq.set(s.seq, s);
    bump(perSecond.acks, s.ackAt);
    if (inWindow(s.ackAt)) acksInWindow++;
    if (s.k < warmup) continue;
    measuredEmits.push(s.emitAt);
    measuredQueued.push(s.queuedAt);
    ack.push(s.ackAt - s.emitAt);
    handoff.push(s.emitAt - s.startAt);
    lag.push(s.queuedAt - s.dueAt);
    deviceWait.push(s.startAt - s.queuedAt);
  }

  const latency: number[] = [];
  const latencySecond: number[] = [];
  const fromDue: number[] = [];
  let delivered = 0;
  let duplicates = 0;
  let unexpected = 0;
  let deliveriesInWindow = 0;
  const decrypt: PhaseStats['decrypt'] = {
    expected: 0,
    decrypted: 0,
    missing: 0,
    garbled: 0,
    misplaced: 0,
    latency: [],
    latencySecond: [],
    arrival: [],
    clientErrors: {},
  };
  const errors = new Set<string>();
  for (const part of data.collected) {
    part.errors.forEach((e) => errors.add(e));
    for (const r of part.receipts) {
      duplicates += r.duplicates;
      for (let i = 0; i < r.seqs.length; i++) {
        const message = bySeq.get(r.seqs[i]!);
        const at = r.at[i]!;
        if (!message) {
          unexpected++;
          continue;
        }
        delivered++;
        bump(perSecond.deliveries, at);
        if (inWindow(at)) deliveriesInWindow++;
        if (message.k < warmup) continue;
        latency.push(at - message.emitAt);
        latencySecond.push(secondOf(message.emitAt));
        fromDue.push(at - message.dueAt);
        if (r.decrypted) decrypt.arrival.push(at - message.emitAt);
      }
      if (!r.decrypted) continue;
      decrypt.expected += bySeq.size;
      decrypt.garbled += r.garbled;
      for (const [reason, n] of Object.entries(r.clientErrors))
        tally(decrypt.clientErrors, reason, n);
      const seen = new Set<number>();
      for (let i = 0; i < r.decrypted.seqs.length; i++) {
        const message = bySeq.get(r.decrypted.seqs[i]!);
        if (!message) continue;
        if (message.k !== r.decrypted.ks[i]) decrypt.misplaced++;
        if (seen.has(message.seq)) continue;
        seen.add(message.seq);
        decrypt.decrypted++;
        if (message.k < warmup) continue;
        decrypt.latency.push(r.decrypted.at[i]! - message.emitAt);
        decrypt.latencySecond.push(secondOf(message.emitAt));
      }
    }
  }
  decrypt.missing = decrypt.expected - decrypt.decrypted;
  const expected = bySeq.size * options.group;
  return {
    total: data.sent.length,
    acked: bySeq.size,
    failed: data.sent.length - bySeq.size,
    failures,
    expected,
    delivered,
    missing: expected - delivered,
    duplicates,
    unexpected,
    latency,
    latencySecond,
    fromDue,
    ack,
    handoff,
    lag,
    deviceWait,
    generatorRate: rateOf(measuredQueued),
    sendRate: rateOf(measuredEmits),
    storedPerS: acksInWindow / options.seconds,
    deliveriesPerS: deliveriesInWindow / options.seconds,
    decrypt,
    errors: [...errors].slice(0, 20),
    perSecond,
  };
}

/**
 * MariaDB counters over the whole server (other databases on it count too): row lock
 * waits and time, fsyncs, commits — what the send transaction costs.
 */
async function innodbCounters(sql: mysql.Connection) {
  const [rows] = await sql.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_row_lock_time', 'Innodb_data_fsyncs', 'Com_commit')",
  );
  const value = (name: string) =>
    Number(
      (rows as Array<{ Variable_name: string; Value: string }>).find(
        (r) => r.Variable_name === name,
      )?.Value ?? NaN,
    );
  return {
    rowLockWaits: value('Innodb_row_lock_waits'),
    rowLockMs: value('Innodb_row_lock_time'),
    fsyncs: value('Innodb_data_fsyncs'),
    commits: value('Com_commit'),
  };
}

/** Events per second over the span from the first to the last (NaN for fewer than two). */
function rateOf(times: number[]): number {
  const sorted = times.filter(Number.isFinite).sort((a, b) => a - b);
  const span = (sorted.at(-1)! - sorted[0]!) / 1000;
  return sorted.length > 1 && span > 0 ? (sorted.length - 1) / span : NaN;
}

/** p99 per second of the run (by the second the message was sent in). */
function p99PerSecond(values: number[], seconds: number[], runSeconds: number): number[] {
  const buckets = Array.from({ length: runSeconds }, () => [] as number[]);
  values.forEach((v, i) => buckets[seconds[i]!]?.push(v));
  return buckets.map((b) => (b.length ? round(percentiles(b).p99) : NaN));
}

const ms = (values: number[]) => {
  const p = percentiles(values);
  return { p50: round(p.p50), p95: round(p.p95), p99: round(p.p99), max: round(p.max) };
};

export async function chat(options: ChatOptions, log: Log): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg().map((v) => round(v, 2));
  let system: SystemUnderTest | null = null;
  let pool: Pool | null = null;
  let relay: Awaited<ReturnType<typeof forkListening>> | null = null;
  let sql: mysql.Connection | null = null;
  try {
    system = await openSystem(options, log);
    log(`seeding ${options.group} members with a device each`);
    const fleet = (await seedFleet(system.databaseUrl, options.group)).members;
    const { specs, senders } = assignDevices(fleet, options);
    pool = new ProcessPool<ChatWorkerCommand>(
      new URL('../chat/worker.ts', import.meta.url),
      specs.length,
    );
    const url = system.url;
    const setups = await withProgress(
      pool,
      'devices: identity, key packages, socket',
      options.group,
      log,
      system.alive(pool.all<ChatSetupResult>((i) => ({ cmd: 'setup', url, devices: specs[i]! }))),
    );
    const group = await buildGroup(system, pool, fleet, options, log);
    const probes = (
      await system.alive(
        pool.all<number[]>((i) => ({
          cmd: 'probe',
          conversationId: group.conversationId,
          only: specs[i]!.filter((d) => !d.decrypt).map((d) => d.index),
        })),
      )
    ).flat();
    log(
      `${probes.length} probe messages sent; ciphertext ${Math.max(...probes)} base64 characters`,
    );

    // ---- the senders encrypt the whole run ahead; the epoch must hold until it is sent
    const creatorToken = fleet[0]!.accessToken;
    const epoch = await serverEpoch(url, creatorToken, group.conversationId);
    const prepared = await prepareMessages(
      system,
      pool,
      group.conversationId,
      senders,
      options,
      epoch,
      log,
    );
    const payloadChars = Math.max(prepared.payloadChars, ...probes);
    const encrypt = ms(prepared.encryptMs);
    log(
      `${prepared.encryptMs.length} messages encrypted ahead at epoch ${epoch} in ${round(prepared.seconds, 1)} s: p50 ${encrypt.p50} · p99 ${encrypt.p99} ms per message`,
    );

    // ---- baseline first, on a quiet machine: the same sockets and schedule, plain relay
    relay = await forkListening(new URL('../chat/relay.ts', import.meta.url));
    const relayUrl = relay.url;
    await pool.all(() => ({ cmd: 'baseline', url: relayUrl }));
    await sleep(1_000);
    log(`baseline: ${options.rate} messages/s to ${options.group} sockets via a plain relay`);
    const baseData = await runPhase(
      pool,
      system,
      'baseline',
      group.conversationId,
      senders,
      payloadChars,
      options,
      log,
    );
    await pool.all(() => ({ cmd: 'baseline', url: null }));
    relay.stop();
    relay = null;
    const base = analyse(baseData, options);
    const bl = ms(base.latency);
    log(`baseline: p50 ${bl.p50} · p99 ${bl.p99} ms, ${base.missing} missing`);

    // ---- Trupp
    await sleep(2_000);
    log(`trupp: ${options.rate} messages/s in a group of ${options.group}`);
    sql = await mysql.createConnection({ uri: system.databaseUrl });
    const innodbBefore = await innodbCounters(sql);
    const epochBeforeRun = await serverEpoch(url, creatorToken, group.conversationId);
    if (epochBeforeRun !== epoch) {
      throw new Error(`the group moved from epoch ${epoch} to ${epochBeforeRun} before the run`);
    }
    const sampler = new ProcessSampler(system.pid);
    sampler.start();
    const truppData = await runPhase(
      pool,
      system,
      'trupp',
      group.conversationId,
      senders,
      payloadChars,
      options,
      log,
    );
    const server = sampler.stop();
    const innodbAfter = await innodbCounters(sql);
    const epochAfterRun = await serverEpoch(url, creatorToken, group.conversationId);
    const trupp = analyse(truppData, options);
    const lat = ms(trupp.latency);
    const dec = ms(trupp.decrypt.latency);
    log(
      `trupp: p50 ${lat.p50} · p99 ${lat.p99} ms, decrypted p99 ${dec.p99} ms, ${trupp.missing} missing`,
    );
    const [rows] = await sql.query(
      "SELECT COUNT(*) AS n FROM chat_messages WHERE conversation_id = ? AND kind = 'application'",
      [group.conversationId],
    );
    // Less the probes sent before the run.
    const storedInDatabase = Number((rows as Array<{ n: number }>)[0]!.n) - probes.length;
    await pool.all(() => ({ cmd: 'close' }));

    const runSeconds = trupp.perSecond.sends.length;
    const perMessage = (key: keyof typeof innodbAfter) =>
      trupp.acked > 0 ? round((innodbAfter[key] - innodbBefore[key]) / trupp.acked, 2) : null;
    const innodb = {
      row_lock_waits_per_message: perMessage('rowLockWaits'),
      row_lock_ms_per_message: perMessage('rowLockMs'),
      fsyncs_per_message: perMessage('fsyncs'),
      commits_per_message: perMessage('commits'),
    };
    const scheduleKeptUp = trupp.generatorRate >= KEPT_UP_SHARE * options.rate;
    const wireKeptUp = trupp.sendRate >= KEPT_UP_SHARE * options.rate;
    const handoff = ms(trupp.handoff);
    const ack = ms(trupp.ack);
    // A device has one message in flight (its ChatClient serializes sends), so when fewer
    // go out than are due, its cycle — handing the prepared message to the socket, then
    // waiting for the acknowledgement — was too long; the larger part held the rate back.
    const limitedBy = !scheduleKeptUp
      ? 'generator schedule'
      : wireKeptUp
        ? 'none'
        : handoff.p50 > ack.p50
          ? 'hand-off on the devices'
          : 'server acknowledgements';
    const generatorKeptUp =
      limitedBy !== 'generator schedule' && limitedBy !== 'hand-off on the devices';
    const epochStale = trupp.failures['CHAT_EPOCH_STALE'] ?? 0;
    const baseKeptUp = base.sendRate >= KEPT_UP_SHARE * options.rate;
    const lost =
      trupp.missing +
      trupp.duplicates +
      trupp.failed +
      trupp.decrypt.missing +
      trupp.decrypt.garbled +
      trupp.decrypt.misplaced;
    const notes: string[] = [];
    if (!scheduleKeptUp) {
      notes.push(
        `The load generator did not keep up: its schedule handed out ${round(trupp.generatorRate)} of ${options.rate} messages/s (lag p99 ${ms(trupp.lag).p99} ms, device processes at ${truppData.generatorCores.join(' / ')} cores).`,
      );
    } else if (!wireKeptUp) {
      notes.push(
        `Only ${round(trupp.sendRate)} of ${options.rate} messages/s went out, limited by ${limitedBy}: each device sends one message at a time (as its ChatClient does), one due every ${round((1000 * senders.length) / options.rate)} ms, and took ${handoff.p50} ms to hand its prepared message to the socket (p99 ${handoff.p99}; the load generator's part, device processes at ${truppData.generatorCores.join(' / ')} cores) plus ${ack.p50} ms for the server's acknowledgement (p99 ${ack.p99}), so messages queued on the devices (wait p99 ${ms(trupp.deviceWait).p99} ms).`,
      );
    }
    if (epochStale > 0 || epochAfterRun !== epoch) {
      notes.push(
        `The group's epoch moved during the run (${epoch} → ${epochAfterRun}): ${epochStale} messages encrypted ahead were refused as stale (CHAT_EPOCH_STALE), counted as failed.`,
      );
    }
    if (!baseKeptUp) {
      notes.push(
        `The baseline generator did not keep up: ${round(base.sendRate)} of ${options.rate} messages/s.`,
      );
    }
    if (storedInDatabase !== trupp.acked) {
      notes.push(`${storedInDatabase} messages in the database, ${trupp.acked} acknowledged.`);
    }
    const ratio = lat.p99 / bl.p99;
    const result = {
      scenario: 'chat',
      started_at: startedAt,
      params: {
        group: options.group,
        rate: options.rate,
        seconds: options.seconds,
        warmup_s: options.warmupS,
        decrypt: options.decrypt,
        senders: senders.length,
        procs: options.procs,
        device_processes: specs.length,
        text_chars: TEXT_CHARS,
        encrypted_ahead: true,
        payload_chars: payloadChars,
        url: options.url,
        cores: cpus().length,
        loadavg_start: loadAtStart,
        loadavg_end: loadavg().map((v) => round(v, 2)),
      },
      expected: trupp.expected,
      delivered: trupp.delivered,
      lost: trupp.missing,
      duplicates: trupp.duplicates,
      unexpected: trupp.unexpected,
      sends: {
        planned: trupp.total,
        acknowledged: trupp.acked,
        failed: trupp.failed,
        failures: trupp.failures,
        /** Prepared at the group's epoch but refused as stale: a commit came in between. */
        epoch_stale: epochStale,
        epoch_prepared: epoch,
        epoch_after_run: epochAfterRun,
        stored_in_database: storedInDatabase,
      },
      p50_ms: lat.p50,
      p95_ms: lat.p95,
      p99_ms: lat.p99,
      max_ms: lat.max,
      decrypt_p50_ms: dec.p50,
      decrypt_p95_ms: dec.p95,
      decrypt_p99_ms: dec.p99,
      decrypt_max_ms: dec.max,
      decrypt: {
        devices: options.decrypt,
        expected: trupp.decrypt.expected,
        decrypted: trupp.decrypt.decrypted,
        missing: trupp.decrypt.missing,
        garbled: trupp.decrypt.garbled,
        misplaced: trupp.decrypt.misplaced,
        client_errors: trupp.decrypt.clientErrors,
        /** The same devices' socket arrivals, to tell decrypting from delivery. */
        arrival_p50_ms: ms(trupp.decrypt.arrival).p50,
        arrival_p99_ms: ms(trupp.decrypt.arrival).p99,
      },
      /** Per message, `ChatClient.prepare()` (encrypt and save state) before the baseline. */
      encrypt_p50_ms: encrypt.p50,
      encrypt_p99_ms: encrypt.p99,
      encrypt: {
        measured: 'ahead of the run, per message, senders in parallel by process',
        messages: prepared.encryptMs.length,
        p50_ms: encrypt.p50,
        p95_ms: encrypt.p95,
        p99_ms: encrypt.p99,
        max_ms: encrypt.max,
        seconds: round(prepared.seconds, 1),
      },
      handoff_p50_ms: handoff.p50,
      handoff_p99_ms: handoff.p99,
      ack_p50_ms: ack.p50,
      ack_p99_ms: ack.p99,
      send_rate_achieved: round(trupp.sendRate, 1),
      generator_rate: round(trupp.generatorRate, 1),
      generator_kept_up: generatorKeptUp,
      send_rate_limited_by: limitedBy,
      generator_lag_p50_ms: ms(trupp.lag).p50,
      generator_lag_p99_ms: ms(trupp.lag).p99,
      device_wait_p50_ms: ms(trupp.deviceWait).p50,
      device_wait_p99_ms: ms(trupp.deviceWait).p99,
      from_due_p50_ms: ms(trupp.fromDue).p50,
      from_due_p99_ms: ms(trupp.fromDue).p99,
      generator_cpu_cores: truppData.generatorCores,
      baseline_delivered: base.delivered,
      baseline_expected: base.expected,
      baseline_p50_ms: bl.p50,
      baseline_p95_ms: bl.p95,
      baseline_p99_ms: bl.p99,
      baseline_max_ms: bl.max,
      baseline_ack_p99_ms: ms(base.ack).p99,
      baseline_send_rate_achieved: round(base.sendRate, 1),
      baseline_generator_cpu_cores: baseData.generatorCores,
      ratio_p99: round(ratio, 2),
      throughput_per_s: round(trupp.storedPerS, 1),
      deliveries_per_s: round(trupp.deliveriesPerS, 0),
      baseline_deliveries_per_s: round(base.deliveriesPerS, 0),
      server_cpu_s: server.cpuS,
      server_cpu_cores: server.cores,
      server_rss_mb: server.rssMb,
      innodb_server_wide: innodb,
      setup: {
        init_ms_p50: round(percentiles(setups.flatMap((s) => s.initMs)).p50),
        create_and_add_commit_ms: group.createCommitMs,
        join_ms_p50: group.joinP50Ms,
        join_ms_max: group.joinMaxMs,
        prepare_s: round(prepared.seconds, 1),
        drain_ms: round(truppData.drainMs),
      },
      per_second: {
        sends: trupp.perSecond.sends,
        stored: trupp.perSecond.acks,
        deliveries: trupp.perSecond.deliveries,
        p99_ms: p99PerSecond(trupp.latency, trupp.latencySecond, runSeconds),
        decrypt_p99_ms: p99PerSecond(
          trupp.decrypt.latency,
          trupp.decrypt.latencySecond,
          runSeconds,
        ),
        baseline_p99_ms: p99PerSecond(base.latency, base.latencySecond, runSeconds),
        server_cpu_cores: sampler.samples.map((s) => s.cpuCores),
        server_rss_mb: sampler.samples.map((s) => s.rssMb),
      },
      notes,
      errors: trupp.errors,
      targets: {
        p99_ms: target(lat.p99, TARGETS.p99_ms, 'ms'),
        lost: target(lost, TARGETS.lost, 'messages'),
        send_rate: target(trupp.sendRate, round(KEPT_UP_SHARE * options.rate, 1), 'msg/s', true),
      },
      report: { json: '', html: '' },
    };

    const seconds = Array.from({ length: runSeconds }, (_, s) => s);
    result.report = writeReport('chat', result, [
      {
        title: 'Send → socket arrival, every device (ms)',
        svg: histogramSvg(
          [
            { name: 'Trupp', color: '#d1242f', values: trupp.latency },
            { name: 'plain socket.io relay', color: '#0969da', values: base.latency },
          ],
          'ms from chat.send leaving the sender to the chat.message arriving',
          60,
          'deliveries',
        ),
      },
      {
        title: 'Latency distribution (cumulative deliveries)',
        svg: cumulativeSvg(
          [
            { name: 'Trupp socket arrival', color: '#d1242f', values: trupp.latency },
            { name: 'relay socket arrival', color: '#0969da', values: base.latency },
          ],
          'ms after chat.send',
          'deliveries',
        ),
      },
      {
        title:
          'Encryption per message, ahead of the run (ChatClient.prepare: encrypt and save state)',
        svg: histogramSvg(
          [{ name: 'encrypt and save', color: '#1a7f37', values: prepared.encryptMs }],
          'ms per message',
          40,
          'messages',
        ),
      },
      {
        title: `Decrypting devices (${options.decrypt}): socket arrival and decrypted`,
        svg: cumulativeSvg(
          [
            { name: 'socket arrival', color: '#bf8700', values: trupp.decrypt.arrival },
            { name: 'decrypted and checked', color: '#8250df', values: trupp.decrypt.latency },
          ],
          'ms after chat.send',
          'messages',
        ),
      },
      {
        title: 'Per second: p99 latency (by second sent) and rate',
        svg: lineChartSvg(
          seconds,
          [
            { name: 'Trupp p99 (ms)', color: '#d1242f', values: result.per_second.p99_ms },
            {
              name: 'decrypted p99 (ms)',
              color: '#8250df',
              values: result.per_second.decrypt_p99_ms,
            },
            { name: 'relay p99 (ms)', color: '#0969da', values: result.per_second.baseline_p99_ms },
            { name: 'sent/s', color: '#1a7f37', values: trupp.perSecond.sends, right: true },
            { name: 'stored/s', color: '#57606a', values: trupp.perSecond.acks, right: true },
          ],
          {
            x: `second of the run (first ${options.warmupS} s warm-up)`,
            left: 'ms',
            right: 'messages/s',
          },
        ),
      },
      {
        title: 'Server: CPU (cores) and RSS (MB) per second',
        svg: lineChartSvg(
          sampler.samples.map((s) => s.second),
          [
            { name: 'CPU cores', color: '#bf8700', values: sampler.samples.map((s) => s.cpuCores) },
            {
              name: 'RSS MB',
              color: '#8250df',
              values: sampler.samples.map((s) => s.rssMb),
              right: true,
            },
          ],
          { x: 'second since the run was started', left: 'cores', right: 'MB' },
        ),
      },
    ]);
    return result;
  } catch (error) {
    const output = system?.output();
    if (output) log(`server output before the failure:\n${output}`);
    throw error;
  } finally {
    await sql?.end().catch(() => undefined);
    pool?.close();
    relay?.stop();
    await system?.close();
  }
}
