/**
 * Push-to-talk on this device: the channels the member may use, the ones joined (the
 * selected one the button talks on, plus scanned ones), each channel's floor as the
 * button shows it, the media (mediasoup-client, see ptt/channel-media.ts), emergency
 * calls, and for dispatch the emergency alerts.
 *
 * The server forgets a socket's channels when it disconnects. So the channels to be in
 * are kept here (and per user in localStorage), and every (re)connection joins them
 * again from scratch — new transports, producer and consumers — without user action; a
 * button still held across the gap asks for the floor again. `ptt.channel.left` with
 * `media_reset` (the channel's media worker was replaced) rejoins that one channel.
 *
 * Every join gets a generation number; an answer that arrives after a newer join or a
 * leave of the same channel is dropped, so a slow join can never resurrect old media.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef, watch } from 'vue';
import {
  PTT_CLIENT_EVENTS,
  PTT_SERVER_EVENTS,
  type PttAudible,
  type PttChannelLeft,
  type PttConsumer,
  type PttEmergency,
  type PttFloorEnded,
  type PttFloorRequestResult,
  type PttFloorState,
  type PttFloorWarning,
  type PttJoined,
  type PttMyChannel,
  type PttPosition,
  type PttRecording,
} from '@trupp/shared';
import * as pttApi from '../api/ptt.ts';
import * as directoryApi from '../api/directory.ts';
import { isApiError } from '../api/http.ts';
import {
  emitWithAck,
  isConnected,
  onConnected,
  onDisconnected,
  onServerEvent,
} from '../realtime/socket.ts';
import { useSessionStore } from './session.ts';
import type { ChannelMedia, InboundAudio } from '../ptt/channel-media.ts';
import {
  floorView,
  initialFloorState,
  reduceFloor,
  type FloorInput,
  type FloorState,
  type FloorTalker,
  type FloorView,
} from '../ptt/floor-view.ts';
import { AudioFlowMonitor } from '../ptt/audio-flow.ts';
import { monitoredChannels, pruneScan, type ScanSettings } from '../ptt/scan.ts';
import { playTone, unlockAudio } from '../ptt/audio.ts';
import { sharedChannel } from '../ptt/shared-channel.ts';

/** How often the received audio is measured (no-audio detection, the level shown). */
const STATS_INTERVAL_MS = 500;
/** How long an emergency call waits for a fresh position before it goes without one. */
const EMERGENCY_POSITION_WAIT_MS = 1000;
const SETTINGS_KEY = 'trupp.ptt';

export type JoinStatus = 'joining' | 'ready' | 'failed';

export interface JoinedChannel {
  channelId: string;
  status: JoinStatus;
  error: unknown;
  floor: FloorState;
  queueLength: number;
}

function storageKey(userId: string): string {
  return `${SETTINGS_KEY}.${userId}`;
}

function readSettings(userId: string): ScanSettings {
  try {
    const raw = localStorage.getItem(storageKey(userId));
    const parsed = raw ? (JSON.parse(raw) as Partial<ScanSettings>) : {};
    return {
      selected: typeof parsed.selected === 'string' ? parsed.selected : null,
      scanned: Array.isArray(parsed.scanned)
        ? parsed.scanned.filter((id): id is string => typeof id === 'string')
        : [],
    };
  } catch {
    return { selected: null, scanned: [] };
  }
}

function writeSettings(userId: string, settings: ScanSettings): void {
  try {
    localStorage.setItem(storageKey(userId), JSON.stringify(settings));
  } catch {
    // Storage disabled: the choice lasts for this visit.
  }
}

/** The position for an emergency call, if the device has one within a second. */
function currentPosition(): Promise<PttPosition | null> {
  const geo = typeof navigator !== 'undefined' ? navigator.geolocation : undefined;
  if (!geo) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), EMERGENCY_POSITION_WAIT_MS);
    geo.getCurrentPosition(
      (p) => {
        clearTimeout(timer);
        resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy });
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
      { enableHighAccuracy: true, maximumAge: 30_000, timeout: EMERGENCY_POSITION_WAIT_MS },
    );
  });
}

export const usePttStore = defineStore('ptt', () => {
  const session = useSessionStore();
  const me = computed(() => session.me?.id ?? '');

  const channels = ref<PttMyChannel[]>([]);
  const settings = ref<ScanSettings>({ selected: null, scanned: [] });
  const joined = shallowRef(new Map<string, JoinedChannel>());
  const audibleChannelId = ref<string | null>(null);
  const microphone = ref<'unknown' | 'ready' | 'denied' | 'unavailable'>('unknown');
  /** Last measurement of the heard talker's audio (also on the page as data attributes). */
  const inbound = ref<InboundAudio | null>(null);
  const emergencies = ref<PttEmergency[]>([]);
  /** The member's own emergency call: raised and not ended yet. */
  const emergencyActive = ref(false);

  const media = new Map<string, ChannelMedia>();
  const generations = new Map<string, number>();
  /** Consumers announced before the channel's media was ready. */
  const earlyConsumers = new Map<string, PttConsumer[]>();
  /** The local start of each turn, keyed channel + server start, so timers stay steady. */
  const turnStarts = new Map<string, number>();
  /** The newest floor state applied per channel (several server nodes may reorder them). */
  const lastTurn = new Map<string, { turn: number; ended: boolean }>();
  const flow = new AudioFlowMonitor();
  let micTrack: MediaStreamTrack | null = null;
  let micRequest: Promise<MediaStreamTrack | null> | null = null;
  let statsTimer: ReturnType<typeof setInterval> | null = null;
  let started = false;
  /** Whose settings are loaded (another user may sign in on this page later). */
  let settingsOf: string | null = null;

  const selected = computed(() =>
    settings.value.selected ? (joined.value.get(settings.value.selected) ?? null) : null,
  );

  function update(channelId: string, change: (entry: JoinedChannel) => JoinedChannel): void {
    const entry = joined.value.get(channelId);
    if (!entry) return;
    joined.value.set(channelId, change(entry));
    triggerRef(joined);
  }

  function feed(channelId: string, input: FloorInput): void {
    const entry = joined.value.get(channelId);
    if (!entry) return;
    const floor = reduceFloor(entry.floor, input, me.value);
    if (floor !== entry.floor) update(channelId, (e) => ({ ...e, floor }));
  }

  /** What the button shows for a channel at `now`. */
  function viewOf(channelId: string, now: number): FloorView {
    const entry = joined.value.get(channelId);
    return floorView(entry?.floor ?? initialFloorState(), me.value, now);
  }

  // ---------------------------------------------------------------- floor

  function talkerFrom(floor: PttFloorState): FloorTalker | null {
    const holder = floor.holder;
    if (!holder) return null;
    const since = Date.parse(holder.since);
    const deadline = holder.deadline ? Date.parse(holder.deadline) : null;
    // Without a deadline the turn has no limit.
    const maxTalkMs = deadline !== null && !Number.isNaN(since) ? deadline - since : 0;
    const key = `${floor.channelId}|${holder.since}`;
    let startedAt = turnStarts.get(key);
    if (startedAt === undefined) {
      const now = Date.now();
      // Our own turn starts now (the grant just arrived); someone else's started at the
      // server's time, kept within what is possible despite a skewed clock.
      startedAt =
        holder.userId === me.value
          ? now
          : Math.min(now, Math.max(now - (maxTalkMs || 0), Number.isNaN(since) ? now : since));
      turnStarts.set(key, startedAt);
      if (turnStarts.size > 200) turnStarts.delete(turnStarts.keys().next().value!);
    }
    return {
      userId: holder.userId,
      name: holder.displayName,
      priority: holder.priority,
      emergency: holder.emergency,
      startedAt,
      maxTalkMs: Math.max(0, maxTalkMs),
    };
  }

  /** A state older than one applied already: a lower turn, or an ended turn re-announced. */
  function isStale(floor: PttFloorState): boolean {
    const seen = lastTurn.get(floor.channelId);
    if (floor.turn > 0 && seen) {
      if (floor.turn < seen.turn) return true;
      if (floor.turn === seen.turn && seen.ended && floor.holder) return true;
    }
    if (floor.turn > 0) {
      lastTurn.set(floor.channelId, { turn: floor.turn, ended: floor.holder === null });
    }
    return false;
  }

  /** A turn ended (the channel's floor message carries it): feed, tones, stop sending. */
  function onTurnEnded(ended: PttFloorEnded): void {
    const entry = joined.value.get(ended.channelId);
    if (!entry) return;
    const mine = ended.userId === me.value;
    feed(ended.channelId, {
      type: 'ended',
      userId: ended.userId,
      reason: ended.reason,
      by: ended.byDisplayName,
      byEmergency: ended.byEmergency,
      at: Date.now(),
    });
    if (mine && (ended.reason === 'preempted' || ended.reason === 'expired')) {
      media.get(ended.channelId)?.setTransmitting(false);
      emergencyActive.value = false;
      playTone('end');
    } else if (!mine && ended.channelId === audibleChannelId.value) {
      playTone('end');
    }
  }

  function applyFloor(floor: PttFloorState): void {
    const entry = joined.value.get(floor.channelId);
    if (!entry) return;
    // Turns that ended come first, as they happened, also with a state that is stale.
    for (const ended of floor.ended ?? []) onTurnEnded(ended);
    if (isStale(floor)) return;
    const talker = talkerFrom(floor);
    const previous = entry.floor.holder;
    feed(floor.channelId, talker ? { type: 'granted', holder: talker } : { type: 'idle' });
    update(floor.channelId, (e) => ({ ...e, queueLength: floor.queueLength }));
    if (talker && talker.userId !== previous?.userId && talker.userId === me.value) {
      if (entry.floor.pressed) playTone('permit');
    }
  }

  async function request(channelId: string, emergency: boolean): Promise<void> {
    const position = emergency ? await currentPosition() : null;
    try {
      const result = await emitWithAck<PttFloorRequestResult>(PTT_CLIENT_EVENTS.floorRequest, {
        channelId,
        ...(emergency ? { emergency: true } : {}),
        ...(position ? { position } : {}),
      });
      const entry = joined.value.get(channelId);
      if (!entry) return;
      applyFloor(result.floor);
      if (result.outcome === 'queued' && entry.floor.pressed) {
        feed(channelId, { type: 'queued', position: result.queuePosition ?? 1 });
        playTone('busy');
      } else if (result.outcome === 'denied') {
        feed(channelId, { type: 'denied', at: Date.now() });
        media.get(channelId)?.setTransmitting(false);
        playTone('busy');
      }
    } catch (error) {
      feed(channelId, {
        type: 'failed',
        code: isApiError(error) ? error.code : 'NETWORK_ERROR',
        at: Date.now(),
      });
      media.get(channelId)?.setTransmitting(false);
      if (emergency) emergencyActive.value = false;
    }
  }

  /**
   * The button goes down on the selected channel. The microphone starts at once (the
   * server forwards it only after the grant), the request goes out in parallel.
   */
  function press(): void {
    unlockAudio();
    const channelId = settings.value.selected;
    const entry = channelId ? joined.value.get(channelId) : null;
    if (!channelId || !entry || entry.floor.pressed) return;
    feed(channelId, { type: 'press', at: Date.now() });
    if (entry.status !== 'ready') return;
    media.get(channelId)?.setTransmitting(true);
    void request(channelId, false);
  }

  /** The button comes up: stop sending, end the turn or leave the queue. */
  function release(): void {
    const channelId = settings.value.selected;
    if (!channelId) return;
    const entry = joined.value.get(channelId);
    if (!entry?.floor.pressed) return;
    feed(channelId, { type: 'release', at: Date.now() });
    media.get(channelId)?.setTransmitting(false);
    emergencyActive.value = false;
    if (isConnected()) {
      void emitWithAck(PTT_CLIENT_EVENTS.floorRelease, { channelId }).catch(() => undefined);
    }
  }

  /**
   * An emergency call on the selected channel: pre-empts everyone, opens the microphone
   * hands-free until the member ends it (or the talk time runs out), sends the position.
   */
  function raiseEmergency(): void {
    unlockAudio();
    const channelId = settings.value.selected;
    const entry = channelId ? joined.value.get(channelId) : null;
    if (!channelId || !entry || entry.status !== 'ready') return;
    emergencyActive.value = true;
    if (!entry.floor.pressed) feed(channelId, { type: 'press', at: Date.now() });
    media.get(channelId)?.setTransmitting(true);
    playTone('emergency');
    void request(channelId, true);
  }

  // ---------------------------------------------------------------- joining

  async function openMicrophone(): Promise<MediaStreamTrack | null> {
    if (micTrack && micTrack.readyState === 'live') return micTrack;
    micRequest ??= (async () => {
      if (!navigator.mediaDevices?.getUserMedia) {
        microphone.value = 'unavailable';
        return null;
      }
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        });
        micTrack = stream.getAudioTracks()[0] ?? null;
        microphone.value = micTrack ? 'ready' : 'unavailable';
        return micTrack;
      } catch (error) {
        microphone.value =
          error instanceof DOMException && error.name === 'NotAllowedError'
            ? 'denied'
            : 'unavailable';
        return null;
      }
    })().finally(() => {
      micRequest = null;
    });
    return micRequest;
  }

  function closeMedia(channelId: string): void {
    media.get(channelId)?.close();
    media.delete(channelId);
    earlyConsumers.delete(channelId);
  }

  function signalFor(channelId: string) {
    return {
      connectTransport: async (transportId: string, dtlsParameters: unknown) => {
        await emitWithAck(PTT_CLIENT_EVENTS.connectTransport, {
          channelId,
          transportId,
          dtlsParameters,
        });
      },
      produce: async (transportId: string, rtpParameters: unknown) => {
        const answer = await emitWithAck<{ producerId: string }>(PTT_CLIENT_EVENTS.produce, {
          channelId,
          transportId,
          rtpParameters,
        });
        return answer.producerId;
      },
    };
  }

  /** Joins (or joins again, from scratch) one channel: floor, transports, producer, consumers. */
  async function join(channelId: string): Promise<void> {
    const generation = (generations.get(channelId) ?? 0) + 1;
    generations.set(channelId, generation);
    const current = () => generations.get(channelId) === generation;
    closeMedia(channelId);
    lastTurn.delete(channelId);
    const previous = joined.value.get(channelId);
    joined.value.set(channelId, {
      channelId,
      status: 'joining',
      error: null,
      floor: reduceFloor(
        previous?.floor ?? initialFloorState(),
        { type: 'connection', connected: false },
        me.value,
      ),
      queueLength: 0,
    });
    triggerRef(joined);
    if (!isConnected()) return; // joined at the next connection
    // Everything that can run in parallel does: the microphone prompt, the media code and
    // the join; the consumers come before the producer, so a late joiner hears at once.
    const microphoneTrack = openMicrophone();
    // mediasoup-client is loaded with the first channel, not with every page.
    const mediaModule = import('../ptt/channel-media.ts');
    mediaModule.catch(() => undefined); // awaited below; a failure surfaces there
    try {
      const answer = await emitWithAck<PttJoined>(PTT_CLIENT_EVENTS.join, { channelId }, 10_000);
      if (!current()) return;
      const { ChannelMedia } = await mediaModule;
      const m = await ChannelMedia.open(answer, signalFor(channelId));
      if (!current()) {
        m.close();
        return;
      }
      media.set(channelId, m);
      m.onFailed = () => {
        if (current()) void join(channelId);
      };
      feed(channelId, { type: 'connection', connected: true });
      applyFloor(answer.floor);
      audibleChannelId.value = answer.audibleChannelId;
      const { consumers } = await emitWithAck<{ consumers: PttConsumer[] }>(
        PTT_CLIENT_EVENTS.consume,
        { channelId, rtpCapabilities: m.device.rtpCapabilities },
        10_000,
      );
      if (!current()) return;
      const early = earlyConsumers.get(channelId) ?? [];
      earlyConsumers.delete(channelId);
      await Promise.all([...consumers, ...early].map((c) => m.addConsumer(c)));
      if (!current()) return;
      const track = await microphoneTrack;
      if (!current()) return;
      if (track) await m.startMicrophone(track);
      if (!current()) return;
      update(channelId, (e) => ({ ...e, status: 'ready' }));
      // A press held through a reconnect asks again, as if just pressed.
      const entry = joined.value.get(channelId);
      if (entry?.floor.pressed && settings.value.selected === channelId) {
        m.setTransmitting(true);
        void request(channelId, emergencyActive.value);
      }
    } catch (error) {
      if (!current()) return;
      closeMedia(channelId);
      update(channelId, (e) => ({ ...e, status: 'failed', error }));
    }
  }

  function leaveChannel(channelId: string): void {
    generations.set(channelId, (generations.get(channelId) ?? 0) + 1);
    closeMedia(channelId);
    if (joined.value.delete(channelId)) triggerRef(joined);
    if (isConnected()) {
      void emitWithAck(PTT_CLIENT_EVENTS.leave, { channelId }).catch(() => undefined);
    }
    if (joined.value.size === 0) stopMicrophone();
  }

  function stopMicrophone(): void {
    micTrack?.stop();
    micTrack = null;
    if (microphone.value === 'ready') microphone.value = 'unknown';
  }

  async function sendScan(): Promise<void> {
    if (!isConnected() || joined.value.size === 0) return;
    const ids = monitoredChannels(settings.value).filter((id) => joined.value.has(id));
    try {
      const answer = await emitWithAck<PttAudible>(PTT_CLIENT_EVENTS.scan, {
        scanChannelIds: ids,
        selectedChannelId: settings.value.selected,
      });
      setAudible(answer.audibleChannelId);
    } catch {
      // The next join or change sends it again.
    }
  }

  /** Brings the joined channels in line with the settings; joins missing ones. */
  async function reconcile(): Promise<void> {
    const wanted = monitoredChannels(settings.value);
    for (const channelId of [...joined.value.keys()]) {
      if (!wanted.includes(channelId)) leaveChannel(channelId);
    }
    const joins = wanted.filter((id) => !joined.value.has(id)).map((id) => join(id));
    await Promise.all(joins);
    await sendScan();
  }

  function saveSettings(next: ScanSettings): void {
    settings.value = next;
    if (me.value) writeSettings(me.value, next);
  }

  /** Talk on this channel (and monitor it). */
  async function select(channelId: string): Promise<void> {
    unlockAudio();
    const current = settings.value.selected;
    if (current && current !== channelId && joined.value.get(current)?.floor.pressed) release();
    saveSettings({ ...settings.value, selected: channelId });
    await reconcile();
  }

  /** Monitor a channel in addition to the selected one, or stop monitoring it. */
  async function setScanned(channelId: string, on: boolean): Promise<void> {
    unlockAudio();
    const scanned = settings.value.scanned.filter((id) => id !== channelId);
    if (on) scanned.push(channelId);
    saveSettings({ ...settings.value, scanned });
    await reconcile();
  }

  async function loadChannels(): Promise<void> {
    const list = await pttApi.listMyChannels();
    ensureSettings();
    channels.value = list;
    const pruned = pruneScan(
      settings.value,
      channels.value.map((c) => c.id),
    );
    // Nothing chosen yet: the first channel, so the button works right away.
    if (!pruned.selected && pruned.scanned.length === 0 && channels.value[0]) {
      pruned.selected = channels.value[0].id;
    }
    saveSettings(pruned);
  }

  /** Reads the signed-in user's scan settings once (another user may sign in later). */
  function ensureSettings(): void {
    if (me.value && settingsOf !== me.value) {
      settings.value = readSettings(me.value);
      settingsOf = me.value;
    }
  }

  /**
   * The PTT page opens: join what the settings say. The channel list was fetched when
   * the app started, so joining does not wait for it; it is refreshed alongside.
   * `channelId` (e.g. from "Talk" on the map) becomes the selected channel first, if it is
   * one of ours, so the old one is not joined only to be left again.
   */
  async function open(channelId: string | null = null): Promise<void> {
    start();
    const choose = () => {
      if (!channelId || settings.value.selected === channelId) return;
      if (channels.value.some((c) => c.id === channelId)) {
        saveSettings({ ...settings.value, selected: channelId });
      }
    };
    if (channels.value.length === 0) {
      await loadChannels();
      choose();
      await reconcile();
      return;
    }
    choose();
    await Promise.all([reconcile(), loadChannels().then(reconcile)]);
  }

  /**
   * The id of the first channel the viewer and this member share, for "Talk" on the map;
   * null when there is none or it cannot be known. Only managers see who belongs to a
   * channel, and they may join every open one, so their open channels are the candidates.
   */
  async function channelSharedWith(member: {
    userId: string;
    displayName: string;
    unitIds: readonly string[];
    alarmId: string | null;
  }): Promise<string | null> {
    if (!session.can('ptt.manage')) return null;
    const [open, units, namesakes] = await Promise.all([
      pttApi.listChannels(false),
      directoryApi.listUnits(),
      // The role decides channels for roles; the map does not carry it.
      directoryApi.listUsers({ q: member.displayName }),
    ]);
    const role = namesakes.find((u) => u.id === member.userId)?.role ?? null;
    return sharedChannel(open, { ...member, role }, units)?.id ?? null;
  }

  // ---------------------------------------------------------------- audio and stats

  /** The server pauses and resumes consumers itself; this is for display and meters. */
  function setAudible(channelId: string | null): void {
    audibleChannelId.value = channelId;
  }

  /** Samples the heard talker's inbound audio; drives "no audio" and the page's figures. */
  async function sampleStats(): Promise<void> {
    const channelId = audibleChannelId.value ?? settings.value.selected;
    const entry = channelId ? joined.value.get(channelId) : null;
    const holder = entry?.floor.holder ?? null;
    const m = channelId ? media.get(channelId) : undefined;
    const other = holder && holder.userId !== me.value ? holder : null;
    const stats = m && other ? await m.inbound(other.userId) : null;
    inbound.value = stats;
    const expecting = Boolean(other && entry?.status === 'ready');
    const state = flow.sample(Date.now(), expecting, stats ? stats.bytesReceived : null);
    if (channelId && entry) feed(channelId, { type: 'audio', state });
  }

  function startStats(): void {
    statsTimer ??= setInterval(() => void sampleStats().catch(() => undefined), STATS_INTERVAL_MS);
  }

  /** The track to meter: our microphone while talking, else the heard talker's audio. */
  function meterTrack(): MediaStreamTrack | null {
    const channelId = audibleChannelId.value ?? settings.value.selected;
    const entry = channelId ? joined.value.get(channelId) : null;
    const m = channelId ? media.get(channelId) : undefined;
    if (!entry || !m) return null;
    if (entry.floor.holder?.userId === me.value) return m.microphoneTrack;
    return entry.floor.holder ? m.trackOf(entry.floor.holder.userId) : null;
  }

  // ---------------------------------------------------------------- emergencies (dispatch)

  function mergeEmergency(emergency: PttEmergency): void {
    const rest = emergencies.value.filter((e) => e.id !== emergency.id);
    emergencies.value = [emergency, ...rest].sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
  }

  async function loadEmergencies(): Promise<void> {
    if (!session.can('ptt.manage')) return;
    const open = await pttApi.listEmergencies(true);
    for (const emergency of open) mergeEmergency(emergency);
  }

  async function acknowledge(emergencyId: string): Promise<void> {
    mergeEmergency(await pttApi.acknowledgeEmergency(emergencyId));
  }

  const openEmergencies = computed(() => emergencies.value.filter((e) => !e.acknowledgedAt));

  // ---------------------------------------------------------------- recordings

  function listRecordings(channelId: string, before?: string): Promise<PttRecording[]> {
    return pttApi.listRecordings(channelId, { limit: 50, before });
  }

  // ---------------------------------------------------------------- events

  /** Subscribes once per page load; the socket module keeps subscriptions across reconnects. */
  function start(): void {
    if (started) return;
    started = true;
    onServerEvent<PttFloorState>(PTT_SERVER_EVENTS.floor, applyFloor);
    onServerEvent<{ channelId: string }>(PTT_SERVER_EVENTS.granted, (granted) => {
      const entry = joined.value.get(granted.channelId);
      // Granted from the queue after the button came up: give it back at once.
      if (entry && !entry.floor.pressed && isConnected()) {
        void emitWithAck(PTT_CLIENT_EVENTS.floorRelease, { channelId: granted.channelId }).catch(
          () => undefined,
        );
      }
    });
    onServerEvent<PttFloorWarning>(PTT_SERVER_EVENTS.warning, () => playTone('warning'));
    onServerEvent<PttConsumer>(PTT_SERVER_EVENTS.consumer, (consumer) => {
      const m = media.get(consumer.channelId);
      if (m) void m.addConsumer(consumer).catch(() => undefined);
      else if (joined.value.has(consumer.channelId)) {
        const early = earlyConsumers.get(consumer.channelId) ?? [];
        earlyConsumers.set(consumer.channelId, [...early, consumer]);
      }
    });
    onServerEvent<{ channelId: string; consumerId: string }>(
      PTT_SERVER_EVENTS.consumerClosed,
      ({ channelId, consumerId }) => media.get(channelId)?.removeConsumer(consumerId),
    );
    onServerEvent<PttAudible>(PTT_SERVER_EVENTS.audible, (a) => setAudible(a.audibleChannelId));
    onServerEvent<PttChannelLeft>(PTT_SERVER_EVENTS.channelLeft, (left) => {
      if (!joined.value.has(left.channelId)) return;
      if (left.reason === 'media_reset') {
        void join(left.channelId).then(sendScan);
        return;
      }
      // Archived, deleted or no longer a member: drop it from the settings too.
      saveSettings(
        pruneScan(
          settings.value,
          channels.value.map((c) => c.id).filter((id) => id !== left.channelId),
        ),
      );
      leaveChannel(left.channelId);
      void loadChannels().catch(() => undefined);
    });
    onServerEvent(PTT_SERVER_EVENTS.channelsChanged, () => {
      void loadChannels()
        .then(reconcile)
        .catch(() => undefined);
    });
    onServerEvent<PttEmergency>(PTT_SERVER_EVENTS.emergency, (emergency) => {
      mergeEmergency(emergency);
      if (session.can('ptt.manage')) playTone('emergency');
    });
    onServerEvent<PttEmergency>(PTT_SERVER_EVENTS.emergencyAcknowledged, mergeEmergency);
    onDisconnected(() => {
      for (const channelId of joined.value.keys()) {
        generations.set(channelId, (generations.get(channelId) ?? 0) + 1);
        closeMedia(channelId);
        update(channelId, (e) => ({
          ...e,
          status: 'joining',
          floor: reduceFloor(e.floor, { type: 'connection', connected: false }, me.value),
        }));
      }
      setAudible(null);
    });
    onConnected(() => {
      void Promise.all([...joined.value.keys()].map((id) => join(id)))
        .then(sendScan)
        .catch(() => undefined);
      void loadEmergencies().catch(() => undefined);
    });
    watch(
      () => session.signedIn,
      (signedIn) => {
        if (!signedIn) reset();
      },
    );
    startStats();
    if (session.can('ptt.use')) void loadChannels().catch(() => undefined);
  }

  function reset(): void {
    for (const channelId of [...joined.value.keys()]) {
      generations.set(channelId, (generations.get(channelId) ?? 0) + 1);
      closeMedia(channelId);
    }
    joined.value = new Map();
    stopMicrophone();
    channels.value = [];
    emergencies.value = [];
    emergencyActive.value = false;
    audibleChannelId.value = null;
    settings.value = { selected: null, scanned: [] };
    settingsOf = null;
  }

  return {
    channels,
    settings,
    joined,
    selected,
    audibleChannelId,
    microphone,
    inbound,
    emergencies,
    openEmergencies,
    emergencyActive,
    viewOf,
    start,
    open,
    channelSharedWith,
    select,
    setScanned,
    press,
    release,
    raiseEmergency,
    meterTrack,
    loadChannels,
    loadEmergencies,
    acknowledge,
    listRecordings,
  };
});
