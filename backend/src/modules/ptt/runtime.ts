import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import type { types as ms } from 'mediasoup';
import {
  PTT_SERVER_EVENTS,
  PTT_TALK_WARNING_MS,
  roleHas,
  type PttAudible,
  type PttChannelLeft,
  type PttConsumer,
  type PttFloorEnded,
  type PttFloorGranted,
  type PttFloorRequestResult,
  type PttFloorState,
  type PttFloorWarning,
  type PttJoined,
  type PttPosition,
  type PttTransportOptions,
  type Role,
} from '@trupp/shared';
import type { SfuNotification, TransportInfo } from '@trupp/sfu';
import { users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { AuthContext } from '../auth/access-token.ts';
import type { TruppSocket } from '../../realtime/gateway.ts';
import { PttCluster, type ClusterMessage } from './cluster.ts';
import type { ParticipantDirectory, ParticipantInfo } from './directory.ts';
import type {
  FloorPriority,
  FloorSnapshot,
  FloorStore,
  FloorStoreHolder,
  FloorStoreResult,
} from './floor-store.ts';
import { mediaError, type SfuControl, type SfuProvider } from './media.ts';
import type { RecordingCatalogue } from './recorder.ts';
import {
  findChannel,
  isMember,
  toEmergencies,
  toMyChannel,
  type ChannelRow,
} from './repository.ts';
import { announceEmergency, channelRoom, raiseEmergency } from './service.ts';

/**
 * One backend node's push-to-talk: the sockets joined to channels here, their SFU
 * participants (transports, producer, consumers), floor timers and scan. The floor itself
 * lives in the FloorStore (memory, or Redis shared by every node) and is authoritative;
 * this class turns each floor change into SFU calls (only the holder's producer is
 * resumed), socket events and timers.
 *
 * Ordering: every floor operation of a channel runs in that channel's chain on this node
 * (store operation, then SFU, then events), so on one node the SFU always follows the
 * store's order of turns. With several nodes a node re-reads the store after applying a
 * change and applies again until they agree (see #syncMedia). Media work for one socket
 * (join, leave, consumers, scan) runs in that socket's chain. A channel chain never waits
 * for a socket chain, so the two cannot deadlock.
 */

/** One socket in one channel: the SFU participant (participantId = socket id). */
interface Participant {
  readonly id: string;
  readonly channelId: string;
  readonly listener: Listener;
  channel: ChannelRow;
  readonly sendTransportId: string;
  readonly recvTransportId: string;
  producerId: string | null;
  rtpCapabilities: ms.RtpCapabilities | null;
  /** By producer id. */
  readonly consumers: Map<string, { consumer: PttConsumer; paused: boolean }>;
  /** Producer ids being consumed right now (a producer announced twice is consumed once). */
  readonly consuming: Set<string>;
  closed: boolean;
}

/** One socket using push-to-talk. */
interface Listener {
  readonly socket: TruppSocket;
  readonly tenantId: string;
  readonly userId: string;
  readonly role: Role;
  readonly displayName: string;
  readonly priority: FloorPriority;
  /** Joined channels in join order. */
  readonly channels: Map<string, Participant>;
  /** Scanned channel ids; null = every joined channel. */
  scan: string[] | null;
  selected: string | null;
  /** The client chose its scan settings; joins no longer change the selection. */
  scanSet: boolean;
  audible: string | null;
  chain: Promise<unknown>;
  gone: boolean;
}

interface LocalChannel {
  readonly id: string;
  readonly participants: Map<string, Participant>;
  /** The floor holder as last seen by this node. */
  holder: FloorStoreHolder | null;
  expireTimer: NodeJS.Timeout | null;
  warnTimer: NodeJS.Timeout | null;
}

/** Floor priority of a role: dispatchers (and admins) > leads > members. */
export function floorPriorityOf(role: Role): FloorPriority {
  if (role === 'dispatcher' || role === 'admin') return 'dispatcher';
  if (role === 'lead') return 'lead';
  return 'member';
}

/** Slack after a deadline before this node's timer asks the store to expire the turn. */
const EXPIRE_SLACK_MS = 5;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Some SFU calls answer synchronously in-process and asynchronously over the network;
 * this makes both (and a synchronous throw) one promise.
 */
function settle(call: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

function transportOptions(info: TransportInfo): PttTransportOptions {
  return {
    id: info.transportId,
    iceParameters: info.iceParameters as unknown as Record<string, unknown>,
    iceCandidates: (info.iceCandidates ?? []) as unknown as Record<string, unknown>[],
    dtlsParameters: info.dtlsParameters as unknown as Record<string, unknown>,
  };
}

export interface PttRuntimeDeps {
  app: FastifyInstance;
  sfu: SfuProvider;
  store: FloorStore;
  directory: ParticipantDirectory;
  recordings: RecordingCatalogue;
}

export class PttRuntime {
  readonly #app: FastifyInstance;
  readonly #sfu: SfuProvider;
  readonly #store: FloorStore;
  readonly #directory: ParticipantDirectory;
  readonly #recordings: RecordingCatalogue;
  readonly #cluster: PttCluster;
  readonly #listeners = new Map<string, Listener>();
  readonly #channels = new Map<string, LocalChannel>();
  readonly #floorChains = new Map<string, Promise<unknown>>();
  #closed = false;

  constructor(deps: PttRuntimeDeps) {
    this.#app = deps.app;
    this.#sfu = deps.sfu;
    this.#store = deps.store;
    this.#directory = deps.directory;
    this.#recordings = deps.recordings;
    this.#cluster = new PttCluster(deps.app);
    this.#cluster.onMessage((message) => this.#onClusterMessage(message));
    this.#sfu.onNotification((notification) => {
      this.#onSfuNotification(notification);
      void this.#recordings.onNotification(notification);
    });
  }

  get #log() {
    return this.#app.log;
  }

  // ------------------------------------------------------------------ client events

  /**
   * Joins the socket to a channel: SFU participant with a send and a receive WebRTC
   * transport, the channel's room, and the floor as it is. Joining again starts afresh.
   * @throws AppError PTT_CHANNEL_NOT_FOUND (also: not a member), PTT_CHANNEL_ARCHIVED,
   *   PTT_MEDIA_UNAVAILABLE
   */
  async join(auth: AuthContext, socket: TruppSocket, channelId: string): Promise<PttJoined> {
    const db = this.#app.db;
    const channel = await findChannel(db, auth.tenantId, channelId);
    if (channel.archivedAt) throw appError('PTT_CHANNEL_ARCHIVED');
    if (!(await this.#mayJoin(channel, auth.userId, auth.role))) {
      throw appError('PTT_CHANNEL_NOT_FOUND');
    }
    const listener = await this.#listenerFor(auth, socket);
    return this.#inListener(listener, async () => {
      if (listener.channels.has(channelId)) await this.#leaveLocked(listener, channelId, null);
      const sfu = await this.#sfu.get();
      const participantId = socket.id;
      let joined: { rtpCapabilities: ms.RtpCapabilities };
      let send: TransportInfo;
      let recv: TransportInfo;
      try {
        joined = await sfu.join(channelId, participantId);
        if (channel.recorded) {
          await sfu.setRecording(channelId, { directory: this.#recordings.directoryOf(channel) });
        }
        send = await sfu.createTransport(channelId, participantId, 'webrtc');
        recv = await sfu.createTransport(channelId, participantId, 'webrtc');
      } catch (error) {
        await settle(() => sfu.leave(channelId, participantId)).catch(() => undefined);
        throw mediaError(error);
      }
      const participant: Participant = {
        id: participantId,
        channelId,
        listener,
        channel,
        sendTransportId: send.transportId,
        recvTransportId: recv.transportId,
        producerId: null,
        rtpCapabilities: null,
        consumers: new Map(),
        consuming: new Set(),
        closed: false,
      };
      const local = this.#localChannel(channelId);
      local.participants.set(participantId, participant);
      listener.channels.set(channelId, participant);
      if (!listener.scanSet) listener.selected = channelId;
      await this.#directory.set(channelId, participantId, {
        userId: listener.userId,
        displayName: listener.displayName,
        producerId: null,
      });
      await socket.join(channelRoom(channelId));
      const snapshot = await this.#store.state(channelId, Date.now());
      if (local.holder?.epoch !== snapshot.holder?.epoch) this.#onFloor(channelId, snapshot.holder);
      await this.#rescanLocked(listener);
      const floor = await this.#floorState(channelId, snapshot);
      if (!socket.connected) {
        // The socket dropped while joining; its disconnect handler found nothing to do.
        await this.#leaveLocked(listener, channelId, null);
        throw appError('PTT_NOT_JOINED');
      }
      return {
        channel: toMyChannel(channel),
        rtpCapabilities: joined.rtpCapabilities as unknown as Record<string, unknown>,
        sendTransport: transportOptions(send),
        recvTransport: transportOptions(recv),
        floor,
        audibleChannelId: listener.audible,
      };
    });
  }

  /** @throws AppError PTT_NOT_JOINED, PTT_MEDIA_INVALID */
  async connectTransport(
    socket: TruppSocket,
    input: { channelId: string; transportId: string; dtlsParameters: unknown },
  ): Promise<null> {
    const participant = this.#participant(socket, input.channelId);
    if (![participant.sendTransportId, participant.recvTransportId].includes(input.transportId)) {
      throw appError('PTT_MEDIA_INVALID', 'No such transport in this channel.');
    }
    const sfu = await this.#sfu.get();
    try {
      await sfu.connectTransport(input.channelId, participant.id, input.transportId, {
        dtlsParameters: input.dtlsParameters as ms.DtlsParameters,
      });
    } catch (error) {
      throw mediaError(error, true);
    }
    return null;
  }

  /**
   * The member's microphone: a producer on the send transport, kept paused by the SFU
   * unless the member holds the floor. Everyone else in the channel starts consuming it.
   * @throws AppError PTT_NOT_JOINED, PTT_MEDIA_INVALID
   */
  async produce(
    socket: TruppSocket,
    input: { channelId: string; transportId: string; rtpParameters: unknown },
  ): Promise<{ producerId: string }> {
    const participant = this.#participant(socket, input.channelId);
    if (input.transportId !== participant.sendTransportId) {
      throw appError('PTT_MEDIA_INVALID', 'Send audio on the send transport.');
    }
    const sfu = await this.#sfu.get();
    let producerId: string;
    try {
      ({ producerId } = await sfu.produce(
        input.channelId,
        participant.id,
        input.transportId,
        input.rtpParameters as ms.RtpParameters,
      ));
    } catch (error) {
      throw mediaError(error, true);
    }
    participant.producerId = producerId;
    const { listener } = participant;
    await this.#directory.set(input.channelId, participant.id, {
      userId: listener.userId,
      displayName: listener.displayName,
      producerId,
    });
    // Granted before the microphone existed (an emergency call right after joining)?
    const now = await this.#store.state(input.channelId, Date.now());
    if (now.holder?.participantId === participant.id) {
      await this.#inFloorChain(input.channelId, () => this.#syncMedia(input.channelId, now.holder));
    }
    await this.#cluster.send({
      type: 'producer',
      channelId: input.channelId,
      participantId: participant.id,
      producerId,
      userId: listener.userId,
    });
    return { producerId };
  }

  /**
   * Starts receiving: consumers for every producer in the channel (the current talker's
   * audio flows at once: late entry); later producers are pushed as `ptt.consumer`.
   * @throws AppError PTT_NOT_JOINED, PTT_MEDIA_INVALID
   */
  async consume(
    socket: TruppSocket,
    input: { channelId: string; rtpCapabilities: unknown },
  ): Promise<{ consumers: PttConsumer[] }> {
    const participant = this.#participant(socket, input.channelId);
    // Set before listing, so a producer announced meanwhile is seen by one path or both.
    participant.rtpCapabilities = input.rtpCapabilities as ms.RtpCapabilities;
    const producers = await this.#directory.all(input.channelId);
    return this.#inListener(participant.listener, async () => {
      const consumers: PttConsumer[] = [];
      for (const [participantId, info] of producers) {
        if (participantId === participant.id || !info.producerId) continue;
        const consumer = await this.#consumeLocked(participant, info.producerId, info.userId);
        if (consumer) consumers.push(consumer);
      }
      return { consumers };
    });
  }

  /** Idempotent. */
  async leave(socket: TruppSocket, channelId: string): Promise<null> {
    const listener = this.#listeners.get(socket.id);
    if (!listener) return null;
    await this.#inListener(listener, () => this.#leaveLocked(listener, channelId, null));
    return null;
  }

  /**
   * The member presses: granted, queued (granted later with `ptt.floor.granted`) or
   * denied. An emergency call is stored and announced to the channel and dispatch first,
   * then pre-empts everyone (see floor-store / sfu floor.ts: emergency beats every
   * priority; a second emergency call waits behind a running one).
   * @throws AppError PTT_NOT_JOINED, PTT_NOT_PRODUCING (not for emergency calls)
   */
  async requestFloor(
    auth: AuthContext,
    socket: TruppSocket,
    input: { channelId: string; emergency?: boolean; position?: PttPosition },
  ): Promise<PttFloorRequestResult> {
    const participant = this.#participant(socket, input.channelId);
    const { listener } = participant;
    const emergency = input.emergency ?? false;
    let emergencyId: string | null = null;
    if (emergency) {
      const row = await raiseEmergency(this.#app.db, {
        tenantId: listener.tenantId,
        channelId: input.channelId,
        userId: listener.userId,
        actor: { userId: auth.userId, deviceId: auth.deviceId },
        position: input.position ?? null,
      });
      emergencyId = row.id;
      const [view] = await toEmergencies(this.#app.db, [row]);
      announceEmergency(this.#app, view!, listener.tenantId);
    } else if (!participant.producerId) {
      throw appError('PTT_NOT_PRODUCING');
    }
    const { result, floor } = await this.#floorOp(
      input.channelId,
      (now) =>
        this.#store.request(
          input.channelId,
          {
            participantId: participant.id,
            priority: listener.priority,
            emergency,
            maxTalkMs: participant.channel.maxTalkSeconds * 1000,
            queue: true,
          },
          now,
        ),
      // A talker who declares an emergency keeps the turn: no event, but the state changed.
      { announce: emergency, requester: participant.id },
    );
    const queued = result.events.find((e) => e.type === 'floor.queued');
    const denied = result.events.find((e) => e.type === 'floor.denied');
    return {
      outcome: result.outcome === 'none' ? 'denied' : result.outcome,
      queuePosition: queued?.type === 'floor.queued' ? queued.position : null,
      reason: denied?.type === 'floor.denied' ? denied.reason : null,
      floor,
      emergencyId,
    };
  }

  /** Ends the member's turn (the next in the queue gets it) or leaves the queue. */
  async releaseFloor(socket: TruppSocket, channelId: string): Promise<{ floor: PttFloorState }> {
    const participant = this.#participant(socket, channelId);
    const { floor } = await this.#floorOp(channelId, (now) =>
      this.#store.release(channelId, participant.id, now),
    );
    return { floor };
  }

  /** Which joined channels this socket hears; see PTT_CLIENT_EVENTS.scan. */
  async setScan(
    auth: AuthContext,
    socket: TruppSocket,
    input: { scanChannelIds: string[]; selectedChannelId: string | null },
  ): Promise<PttAudible> {
    const listener = await this.#listenerFor(auth, socket);
    return this.#inListener(listener, async () => {
      listener.scan = [...new Set(input.scanChannelIds)];
      listener.selected = input.selectedChannelId;
      listener.scanSet = true;
      await this.#rescanLocked(listener);
      return { audibleChannelId: listener.audible };
    });
  }

  // ------------------------------------------------------------------ channel changes

  /** Takes every participant (on every node) out of the channel and closes its router. */
  async closeChannel(channelId: string, reason: 'archived' | 'deleted'): Promise<void> {
    await this.#cluster.send({ type: 'close', channelId, reason });
    const sfu = await this.#sfu.current();
    await settle(() => sfu?.closeChannel(channelId)).catch((err: unknown) =>
      this.#log.warn({ err, channelId }, 'could not close the sfu channel'),
    );
  }

  /** Settings or members changed: every node re-checks its participants of the channel. */
  async channelChanged(channelId: string): Promise<void> {
    await this.#cluster.send({ type: 'changed', channelId });
  }

  /** Stops timers; sockets are being closed by the realtime plugin. */
  close(): void {
    this.#closed = true;
    for (const channel of this.#channels.values()) this.#clearTimers(channel);
  }

  // ------------------------------------------------------------------ floor

  #inFloorChain<T>(channelId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#floorChains.get(channelId) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.#floorChains.set(channelId, tail);
    void tail.then(() => {
      if (this.#floorChains.get(channelId) === tail) this.#floorChains.delete(channelId);
    });
    return run;
  }

  /** One floor operation: store, SFU, events, timers (in the channel's chain). */
  #floorOp(
    channelId: string,
    op: (now: number) => Promise<FloorStoreResult>,
    options: { announce?: boolean; requester?: string } = {},
  ): Promise<{ result: FloorStoreResult; floor: PttFloorState }> {
    return this.#inFloorChain(channelId, async () => {
      const result = await op(Date.now());
      const floor = await this.#publish(channelId, result, options);
      return { result, floor };
    });
  }

  /**
   * Tells the channel what changed, in as few socket messages as the protocol allows
   * (each costs a write per member): one `ptt.floor` to the room, which carries the turn
   * that ended; `ptt.floor.ended` only to a talker who did not end the turn themselves
   * (pre-empted, expired); `ptt.floor.granted` only to a talker granted later than their
   * own request (from the queue) — `requester` already has the grant in its answer.
   */
  async #publish(
    channelId: string,
    result: FloorStoreResult,
    options: { announce?: boolean; requester?: string },
  ): Promise<PttFloorState> {
    const turnChanged = result.events.some(
      (e) => e.type === 'floor.granted' || e.type === 'floor.ended',
    );
    // Media first: when the talker hears "granted", the SFU forwards them already.
    if (turnChanged) await this.#syncMedia(channelId, result.holder);
    const infos = new Map<string, Promise<ParticipantInfo | null>>();
    const info = (participantId: string) => {
      let found = infos.get(participantId);
      if (!found) infos.set(participantId, (found = this.#directory.get(channelId, participantId)));
      return found;
    };
    const io = this.#app.io;
    const ended: PttFloorEnded[] = [];
    for (const event of result.events) {
      if (event.type === 'floor.ended') {
        const who = await info(event.participantId);
        const by = event.by ? await info(event.by) : null;
        const payload: PttFloorEnded = {
          channelId,
          userId: who?.userId ?? '',
          displayName: who?.displayName ?? '',
          reason: event.reason,
          byUserId: by?.userId ?? null,
          byDisplayName: by?.displayName ?? null,
          byEmergency:
            event.reason === 'preempted' &&
            (result.holder?.emergency ?? false) &&
            result.holder?.participantId === event.by,
          mine: false,
        };
        ended.push(payload);
        if (event.reason === 'preempted' || event.reason === 'expired') {
          io.to(event.participantId).emit(PTT_SERVER_EVENTS.ended, { ...payload, mine: true });
        }
      } else if (event.type === 'floor.granted') {
        const { holder } = event;
        const payload: PttFloorGranted = {
          channelId,
          since: iso(holder.grantedAt),
          deadline: holder.deadline === null ? null : iso(holder.deadline),
          emergency: holder.emergency,
        };
        if (holder.participantId !== options.requester) {
          io.to(holder.participantId).emit(PTT_SERVER_EVENTS.granted, payload);
        }
      }
    }
    const endedTurns = result.events.flatMap((e) => (e.type === 'floor.ended' ? [e.epoch] : []));
    const floor = await this.#floorState(
      channelId,
      result,
      info,
      result.holder?.epoch ?? Math.max(0, ...endedTurns),
    );
    if (result.events.length > 0 || options.announce) {
      io.to(channelRoom(channelId)).emit(
        PTT_SERVER_EVENTS.floor,
        ended.length > 0 ? { ...floor, ended } : floor,
      );
    }
    if (turnChanged) await this.#cluster.send({ type: 'floor', channelId, holder: result.holder });
    return floor;
  }

  /**
   * Makes the SFU forward exactly the holder's producer (or nobody). With several nodes,
   * another node may have applied an older turn after this one; re-reading the store
   * after applying and applying again until both agree ends in the store's state.
   */
  async #syncMedia(channelId: string, holder: FloorStoreHolder | null): Promise<void> {
    let target = holder;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await this.#applyMedia(channelId, target);
      if (!this.#app.redis) return;
      const now = await this.#store.state(channelId, Date.now());
      if ((now.holder?.epoch ?? null) === (target?.epoch ?? null)) return;
      target = now.holder;
    }
  }

  async #applyMedia(channelId: string, holder: FloorStoreHolder | null): Promise<void> {
    const sfu = await this.#sfu.current();
    if (!sfu) return;
    try {
      if (holder) {
        const info = await this.#directory.get(channelId, holder.participantId);
        if (info?.producerId) {
          // The talker label names the recording's talker (recorder.ts stores it as user id).
          await sfu.grantFloor(channelId, info.producerId, { talker: info.userId });
          return;
        }
      }
      await sfu.releaseFloor(channelId);
    } catch (error) {
      // A channel without media yet, or a producer that just closed with its participant.
      this.#log.debug({ err: error, channelId }, 'floor not applied to the sfu');
    }
  }

  async #floorState(
    channelId: string,
    snapshot: FloorSnapshot,
    info: (participantId: string) => Promise<ParticipantInfo | null> = (id) =>
      this.#directory.get(channelId, id),
    turn = snapshot.holder?.epoch ?? 0,
  ): Promise<PttFloorState> {
    const holder = snapshot.holder;
    const who = holder ? await info(holder.participantId) : null;
    return {
      channelId,
      holder: holder
        ? {
            userId: who?.userId ?? '',
            displayName: who?.displayName ?? '',
            priority: holder.priority,
            emergency: holder.emergency,
            since: iso(holder.grantedAt),
            deadline: holder.deadline === null ? null : iso(holder.deadline),
          }
        : null,
      queueLength: snapshot.queue.length,
      turn,
    };
  }

  /** This node learnt of a floor change: timers, and what each local listener hears. */
  #onFloor(channelId: string, holder: FloorStoreHolder | null): void {
    const local = this.#channels.get(channelId);
    if (!local || this.#closed) return;
    local.holder = holder;
    this.#clearTimers(local);
    if (holder?.deadline != null) {
      const deadline = holder.deadline;
      const epoch = holder.epoch;
      local.expireTimer = setTimeout(
        () => {
          local.expireTimer = null;
          void this.#floorOp(channelId, (now) => this.#store.expire(channelId, now))
            .then(({ result }) => {
              // Fired a hair early, or another node's clock is behind: try again.
              if (result.holder?.epoch === epoch) this.#onFloor(channelId, result.holder);
            })
            .catch((err: unknown) => this.#log.error({ err, channelId }, 'floor expiry failed'));
        },
        Math.max(0, deadline - Date.now() + EXPIRE_SLACK_MS),
      );
      const talker = this.#listeners.get(holder.participantId);
      const warnIn = deadline - PTT_TALK_WARNING_MS - Date.now();
      if (talker && warnIn > -PTT_TALK_WARNING_MS) {
        local.warnTimer = setTimeout(
          () => {
            local.warnTimer = null;
            if (local.holder?.epoch !== epoch) return;
            const warning: PttFloorWarning = {
              channelId,
              deadline: iso(deadline),
              remainingMs: Math.max(0, deadline - Date.now()),
            };
            this.#app.io.to(holder.participantId).emit(PTT_SERVER_EVENTS.warning, warning);
          },
          Math.max(0, warnIn),
        );
      }
    }
    for (const participant of local.participants.values()) {
      const listener = participant.listener;
      // A socket in this one channel hears it whatever happens: nothing to re-decide.
      if (listener.channels.size === 1 && !listener.scanSet && listener.audible === channelId) {
        continue;
      }
      void this.#inListener(listener, () => this.#rescanLocked(listener)).catch((err: unknown) =>
        this.#log.warn({ err, channelId }, 'scan update failed'),
      );
    }
  }

  #clearTimers(local: LocalChannel): void {
    if (local.expireTimer) clearTimeout(local.expireTimer);
    if (local.warnTimer) clearTimeout(local.warnTimer);
    local.expireTimer = null;
    local.warnTimer = null;
  }

  // ------------------------------------------------------------------ listeners and media

  async #mayJoin(channel: ChannelRow, userId: string, role: Role): Promise<boolean> {
    if (roleHas(role, 'ptt.manage')) return true;
    return isMember(this.#app.db, channel, { userId, role });
  }

  async #listenerFor(auth: AuthContext, socket: TruppSocket): Promise<Listener> {
    const existing = this.#listeners.get(socket.id);
    if (existing) return existing;
    const [user] = await this.#app.db
      .select({ displayName: users.displayName })
      .from(users)
      .where(eq(users.id, auth.userId));
    const again = this.#listeners.get(socket.id);
    if (again) return again;
    const listener: Listener = {
      socket,
      tenantId: auth.tenantId,
      userId: auth.userId,
      role: auth.role,
      displayName: user?.displayName ?? '',
      priority: floorPriorityOf(auth.role),
      channels: new Map(),
      scan: null,
      selected: null,
      scanSet: false,
      audible: null,
      chain: Promise.resolve(),
      gone: false,
    };
    this.#listeners.set(socket.id, listener);
    socket.once('disconnect', () => {
      listener.gone = true;
      void this.#inListener(listener, async () => {
        for (const channelId of [...listener.channels.keys()]) {
          await this.#leaveLocked(listener, channelId, null);
        }
        this.#listeners.delete(socket.id);
      }).catch((err: unknown) => this.#log.error({ err }, 'push-to-talk cleanup failed'));
    });
    return listener;
  }

  #inListener<T>(listener: Listener, task: () => Promise<T>): Promise<T> {
    const run = listener.chain.then(task, task);
    listener.chain = run.catch(() => undefined);
    return run;
  }

  /** @throws AppError PTT_NOT_JOINED */
  #participant(socket: TruppSocket, channelId: string): Participant {
    const participant = this.#listeners.get(socket.id)?.channels.get(channelId);
    if (!participant) throw appError('PTT_NOT_JOINED');
    return participant;
  }

  #localChannel(channelId: string): LocalChannel {
    let local = this.#channels.get(channelId);
    if (!local) {
      local = {
        id: channelId,
        participants: new Map(),
        holder: null,
        expireTimer: null,
        warnTimer: null,
      };
      this.#channels.set(channelId, local);
    }
    return local;
  }

  /**
   * Takes the socket out of a channel: ends its turn or queue place (the next one gets the
   * floor), closes its SFU participant, tells the socket why (when `reason`).
   */
  async #leaveLocked(
    listener: Listener,
    channelId: string,
    reason: PttChannelLeft['reason'] | null,
  ): Promise<void> {
    const participant = listener.channels.get(channelId);
    if (!participant) return;
    participant.closed = true;
    listener.channels.delete(channelId);
    if (listener.selected === channelId && !listener.scanSet) {
      listener.selected = [...listener.channels.keys()].at(-1) ?? null;
    }
    try {
      await this.#floorOp(channelId, (now) => this.#store.leave(channelId, participant.id, now));
    } catch (error) {
      this.#log.error({ err: error, channelId }, 'could not end the turn of a leaving member');
    }
    const sfu = await this.#sfu.current();
    await settle(() => sfu?.leave(channelId, participant.id)).catch((err: unknown) =>
      this.#log.debug({ err, channelId }, 'sfu leave failed'),
    );
    await this.#directory.delete(channelId, participant.id);
    const local = this.#channels.get(channelId);
    local?.participants.delete(participant.id);
    if (local && local.participants.size === 0) {
      this.#clearTimers(local);
      this.#channels.delete(channelId);
      // One node owns every participant: the router can go (it is re-created on join).
      if (!this.#app.redis) await settle(() => sfu?.closeChannel(channelId)).catch(() => undefined);
    }
    if (!listener.gone) {
      await listener.socket.leave(channelRoom(channelId));
      if (reason) {
        const left: PttChannelLeft = { channelId, reason };
        this.#app.io.to(listener.socket.id).emit(PTT_SERVER_EVENTS.channelLeft, left);
      }
      await this.#rescanLocked(listener);
    }
  }

  /** Creates a consumer of `producerId` for the participant (once per producer). */
  async #consumeLocked(
    participant: Participant,
    producerId: string,
    userId: string,
  ): Promise<PttConsumer | null> {
    const existing = participant.consumers.get(producerId);
    if (existing) return existing.consumer;
    if (participant.closed || !participant.rtpCapabilities) return null;
    if (participant.consuming.has(producerId)) return null;
    participant.consuming.add(producerId);
    try {
      const sfu = await this.#sfu.get();
      const paused = participant.channelId !== participant.listener.audible;
      const info = await sfu.consume(
        participant.channelId,
        participant.id,
        participant.recvTransportId,
        producerId,
        participant.rtpCapabilities,
        { paused },
      );
      const consumer: PttConsumer = {
        channelId: participant.channelId,
        id: info.consumerId,
        producerId,
        kind: 'audio',
        rtpParameters: info.rtpParameters as unknown as Record<string, unknown>,
        userId,
      };
      participant.consumers.set(producerId, { consumer, paused: info.paused });
      return consumer;
    } catch (error) {
      const mapped = mediaError(error, true);
      // The talker left meanwhile: nothing to play.
      if (
        error instanceof Error &&
        'code' in error &&
        (error as { code: string }).code === 'SFU_PRODUCER_NOT_FOUND'
      ) {
        return null;
      }
      throw mapped;
    } finally {
      participant.consuming.delete(producerId);
    }
  }

  /**
   * Scan: of the joined channels that are transmitting, a priority channel wins over the
   * selected one, which wins over the scanned ones (in list order); with nothing
   * transmitting the selected channel stays open. Only the winner's consumers are resumed
   * on the SFU; the socket is told when the winner changes.
   */
  async #rescanLocked(listener: Listener): Promise<void> {
    const audible = this.#audibleFor(listener);
    const sfu = await this.#sfu.current();
    if (sfu) {
      const tasks: Promise<unknown>[] = [];
      for (const participant of listener.channels.values()) {
        const paused = participant.channelId !== audible;
        for (const entry of participant.consumers.values()) {
          if (entry.paused === paused) continue;
          entry.paused = paused;
          const call = paused
            ? sfu.pauseConsumer(participant.channelId, participant.id, entry.consumer.id)
            : sfu.resumeConsumer(participant.channelId, participant.id, entry.consumer.id);
          tasks.push(
            call.catch((err: unknown) => this.#log.debug({ err }, 'consumer pause/resume failed')),
          );
        }
      }
      await Promise.all(tasks);
    }
    if (audible !== listener.audible) {
      listener.audible = audible;
      if (!listener.gone) {
        const payload: PttAudible = { audibleChannelId: audible };
        this.#app.io.to(listener.socket.id).emit(PTT_SERVER_EVENTS.audible, payload);
      }
    }
  }

  #audibleFor(listener: Listener): string | null {
    const joined = [...listener.channels.values()];
    if (joined.length === 0) return null;
    const selected =
      listener.selected && listener.channels.has(listener.selected) ? listener.selected : null;
    const scanned = (listener.scan ?? joined.map((p) => p.channelId)).filter((id) =>
      listener.channels.has(id),
    );
    const order = [
      ...joined.filter((p) => p.channel.priority).map((p) => p.channelId),
      ...(selected ? [selected] : []),
      ...scanned,
    ];
    for (const channelId of order) {
      const holder = this.#channels.get(channelId)?.holder;
      if (holder && holder.participantId !== listener.channels.get(channelId)?.id) {
        return channelId;
      }
    }
    return selected ?? (listener.scanSet ? null : (order[0] ?? null));
  }

  // ------------------------------------------------------------------ cluster and SFU

  async #onClusterMessage(message: ClusterMessage): Promise<void> {
    switch (message.type) {
      case 'floor':
        this.#onFloor(message.channelId, message.holder);
        return;
      case 'producer': {
        const local = this.#channels.get(message.channelId);
        if (!local) return;
        for (const participant of local.participants.values()) {
          if (participant.id === message.participantId || !participant.rtpCapabilities) continue;
          const listener = participant.listener;
          void this.#inListener(listener, async () => {
            const had = participant.consumers.has(message.producerId);
            const consumer = await this.#consumeLocked(
              participant,
              message.producerId,
              message.userId,
            );
            if (consumer && !had && !listener.gone) {
              this.#app.io.to(listener.socket.id).emit(PTT_SERVER_EVENTS.consumer, consumer);
            }
          }).catch((err: unknown) =>
            this.#log.warn({ err, channelId: message.channelId }, 'could not start a consumer'),
          );
        }
        return;
      }
      case 'close': {
        const local = this.#channels.get(message.channelId);
        if (!local) return;
        await Promise.all(
          [...local.participants.values()].map((participant) =>
            this.#inListener(participant.listener, () =>
              this.#leaveLocked(participant.listener, message.channelId, message.reason),
            ),
          ),
        );
        return;
      }
      case 'changed': {
        const local = this.#channels.get(message.channelId);
        if (!local || local.participants.size === 0) return;
        const first = local.participants.values().next().value!;
        let row: ChannelRow;
        try {
          row = await findChannel(this.#app.db, first.listener.tenantId, message.channelId);
        } catch {
          return;
        }
        const sfu = await this.#sfu.current();
        await sfu
          ?.setRecording(
            message.channelId,
            row.recorded ? { directory: this.#recordings.directoryOf(row) } : null,
          )
          .catch((err: unknown) =>
            this.#log.warn({ err, channelId: message.channelId }, 'recording not switched'),
          );
        await Promise.all(
          [...local.participants.values()].map(async (participant) => {
            const listener = participant.listener;
            participant.channel = row;
            const stays = await this.#mayJoin(row, listener.userId, listener.role);
            await this.#inListener(listener, () =>
              stays
                ? this.#rescanLocked(listener)
                : this.#leaveLocked(listener, message.channelId, 'not_member'),
            );
          }),
        );
        return;
      }
    }
  }

  #onSfuNotification(notification: SfuNotification): void {
    if (notification.type === 'consumer.closed') {
      const listener = this.#listeners.get(notification.participantId);
      const participant = listener?.channels.get(notification.channelId);
      if (!listener || !participant) return;
      const entry = participant.consumers.get(notification.producerId);
      if (entry?.consumer.id !== notification.consumerId) return;
      participant.consumers.delete(notification.producerId);
      if (!listener.gone) {
        this.#app.io.to(listener.socket.id).emit(PTT_SERVER_EVENTS.consumerClosed, {
          channelId: notification.channelId,
          consumerId: notification.consumerId,
        });
      }
    } else if (notification.type === 'channel.reset') {
      // The channel's worker died; the SFU re-created it empty. Everyone joins again.
      this.#reset(notification.channelId);
    } else if (notification.type === 'sfu.connected' && notification.restarted) {
      // A new SFU process behind SFU_URL: every channel is gone.
      for (const channelId of [...this.#channels.keys()]) this.#reset(channelId);
    }
  }

  #reset(channelId: string): void {
    const local = this.#channels.get(channelId);
    if (!local) return;
    for (const participant of [...local.participants.values()]) {
      const listener = participant.listener;
      void this.#inListener(listener, () =>
        this.#leaveLocked(listener, channelId, 'media_reset'),
      ).catch((err: unknown) => this.#log.error({ err }, 'reset handling failed'));
    }
  }

  /** For tests: the SFU this runtime uses, once started. */
  async sfuForTests(): Promise<SfuControl | null> {
    return this.#sfu.current();
  }
}
