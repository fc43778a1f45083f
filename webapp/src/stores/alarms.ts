/**
 * Alarms on this device. Members: the inbox (live `alarm.raised` plus a sync of the
 * `alarms` source at every (re)connection, merged by id), the alarm shown full screen,
 * answers and availability. Dispatch: live boards and the list of alarms.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import {
  ALARM_CLIENT_EVENTS,
  ALARM_SERVER_EVENTS,
  AlarmInbox,
  alarmTotals,
  requirementStatus,
  type AlarmBoard,
  type AlarmBoardDelta,
  type AlarmResponse,
  type AlarmSummary,
  type AvailabilityState,
  type AvailabilityWindow,
  type SyncResponse,
} from '@trupp/shared';
import * as alarmsApi from '../api/alarms.ts';
import type { AlarmListItem, TriggerBody } from '../api/alarms.ts';
import { emitWithAck, isConnected, onConnected, onServerEvent } from '../realtime/socket.ts';
import { alarmSound } from '../composables/alarm-sound.ts';

/** An unanswered open alarm older than this is listed but not alerted again on reload. */
const REALERT_WINDOW_MS = 60 * 60_000;

export const useAlarmStore = defineStore('alarms', () => {
  const inbox = new AlarmInbox();
  const mine = shallowRef<AlarmSummary[]>([]);
  const activeId = ref<string | null>(null);
  const availability = ref<AvailabilityState | null>(null);
  const availabilityDetail = ref<alarmsApi.Availability | null>(null);
  let cursor: string | null = null;
  let started = false;

  const active = computed(() => mine.value.find((a) => a.id === activeId.value) ?? null);

  function refreshList(): void {
    mine.value = inbox.list();
  }

  function receive(alarm: AlarmSummary, live: boolean): void {
    const { alert } = inbox.merge(alarm);
    refreshList();
    const fresh = Date.now() - Date.parse(alarm.createdAt) < REALERT_WINDOW_MS;
    if (alert && alarm.myResponse === null && (live || fresh)) {
      activeId.value = alarm.id;
      alarmSound.start(alarm.priority, alarm.isTest, alarm.sound);
      navigator.vibrate?.([600, 300, 600, 300, 600]);
      void emitWithAck(ALARM_CLIENT_EVENTS.ack, { alarmId: alarm.id }).catch(() => undefined);
    }
    if (activeId.value === alarm.id && alarm.closedAt !== null) dismiss();
  }

  async function sync(): Promise<void> {
    for (let page = 0; page < 20; page += 1) {
      const result = await emitWithAck<SyncResponse>('sync', { cursors: { alarms: cursor } });
      const source = result.sources.alarms;
      if (!source) return;
      for (const item of source.items) receive(item as AlarmSummary, false);
      cursor = source.cursor;
      if (!source.hasMore) return;
    }
  }

  /** Subscribes once per page load; the socket module keeps subscriptions across reconnects. */
  function start(): void {
    if (started) return;
    started = true;
    onServerEvent<AlarmSummary>(ALARM_SERVER_EVENTS.raised, (alarm) => receive(alarm, true));
    onServerEvent<AlarmSummary>(ALARM_SERVER_EVENTS.updated, (alarm) => {
      if (inbox.get(alarm.id)) {
        const known = inbox.get(alarm.id)!;
        receive(
          {
            ...alarm,
            myResponse: alarm.myResponse ?? known.myResponse,
            alertCount: known.alertCount,
          },
          true,
        );
      }
      updateListed(alarm);
    });
    onServerEvent<AlarmBoardDelta>(ALARM_SERVER_EVENTS.board, applyDelta);
    onConnected(() => {
      void sync().catch(() => undefined);
    });
    answerFromNotification();
  }

  /**
   * The service worker opens `/?alarm=…&answer=…` when it could not send an answer tapped
   * on a notification itself (its token had expired); the app sends it once signed in.
   */
  function answerFromNotification(): void {
    const params = new URLSearchParams(window.location.search);
    const alarmId = params.get('alarm');
    const response = params.get('answer');
    if (!alarmId || (response !== 'coming' && response !== 'not_coming')) return;
    window.history.replaceState(null, '', window.location.pathname);
    void alarmsApi
      .respond(alarmId, response, null)
      .then((summary) => receive(summary, false))
      .catch(() => undefined);
  }

  function markRead(alarmId: string): void {
    void emitWithAck(ALARM_CLIENT_EVENTS.read, { alarmId }).catch(() => undefined);
  }

  function dismiss(): void {
    activeId.value = null;
    alarmSound.stop();
  }

  async function answer(
    alarmId: string,
    response: AlarmResponse,
    etaMinutes: number | null,
  ): Promise<void> {
    const summary = isConnected()
      ? await emitWithAck<AlarmSummary>(ALARM_CLIENT_EVENTS.respond, {
          alarmId,
          response,
          etaMinutes,
        })
      : await alarmsApi.respond(alarmId, response, etaMinutes);
    const known = inbox.get(alarmId);
    inbox.merge({ ...summary, alertCount: known?.alertCount ?? summary.alertCount });
    refreshList();
    if (activeId.value === alarmId) dismiss();
  }

  function adoptAvailability(detail: alarmsApi.Availability): void {
    availabilityDetail.value = detail;
    availability.value = detail.status;
  }
  async function loadAvailability(): Promise<void> {
    adoptAvailability(await alarmsApi.getMyAvailability());
  }
  async function setAvailability(status: AvailabilityState): Promise<void> {
    adoptAvailability(await alarmsApi.setMyAvailability(status));
  }
  async function setSchedule(windows: AvailabilityWindow[]): Promise<void> {
    adoptAvailability(await alarmsApi.setMySchedule(windows));
  }

  // ---- dispatch
  const listed = ref<AlarmListItem[]>([]);
  const boards = shallowRef(new Map<string, AlarmBoard>());

  async function loadList(filter: {
    status: 'open' | 'closed' | 'all';
    includeTests: boolean;
  }): Promise<void> {
    listed.value = await alarmsApi.listAlarms(filter);
  }

  function updateListed(alarm: AlarmSummary): void {
    const index = listed.value.findIndex((a) => a.id === alarm.id);
    if (index >= 0) listed.value[index] = { ...listed.value[index]!, ...alarm };
    else listed.value = [{ ...alarm, recipients: 0, coming: 0, source: '' }, ...listed.value];
    const board = boards.value.get(alarm.id);
    if (board) {
      setBoard({
        ...board,
        alarm: { ...board.alarm, ...alarm, myResponse: null, myEtaMinutes: null },
      });
    }
  }

  async function loadBoard(alarmId: string): Promise<AlarmBoard> {
    const board = await alarmsApi.getBoard(alarmId);
    setBoard(board);
    return board;
  }

  function setBoard(board: AlarmBoard): void {
    boards.value.set(board.alarm.id, board);
    triggerRef(boards);
  }

  /** Merges a batch of recipient changes; first delivery and read times are kept. */
  function applyDelta(delta: AlarmBoardDelta): void {
    const board = boards.value.get(delta.alarmId);
    if (!board) return;
    const byId = new Map(board.recipients.map((r) => [r.userId, r]));
    let unknown = false;
    for (const change of delta.recipients) {
      const row = byId.get(change.userId);
      if (!row) {
        // A full row (from an update that added members) is taken as it is; a partial one
        // for a member this board does not know means it is out of date: reload once.
        if (change.displayName === undefined) unknown = true;
        else byId.set(change.userId, change as (typeof board.recipients)[number]);
        continue;
      }
      byId.set(change.userId, {
        ...row,
        ...change,
        deliveredAt: row.deliveredAt ?? change.deliveredAt ?? null,
        readAt: row.readAt ?? change.readAt ?? null,
      });
    }
    const names = new Map(board.requirements.map((r) => [r.qualificationId, r.name]));
    const recipients = [...byId.values()];
    // A new object, so computed views of this board see the change.
    setBoard({
      alarm: {
        ...board.alarm,
        ...(delta.escalationStage !== undefined ? { escalationStage: delta.escalationStage } : {}),
        ...(delta.closedAt !== undefined ? { closedAt: delta.closedAt } : {}),
      },
      recipients,
      totals: alarmTotals(recipients),
      requirements: requirementStatus(
        board.alarm.requirements,
        recipients,
        (qid) => names.get(qid) ?? '?',
      ),
    });
    // A member added by another node's change: fetch the full board once.
    if (unknown) void loadBoard(delta.alarmId).catch(() => undefined);
  }

  async function trigger(body: TriggerBody): Promise<AlarmBoard> {
    const board = await alarmsApi.triggerAlarm(body);
    setBoard(board);
    return board;
  }
  async function close(alarmId: string): Promise<void> {
    setBoard(await alarmsApi.closeAlarm(alarmId));
  }
  async function update(
    alarmId: string,
    change: { text?: string; addTargets?: alarmsApi.TriggerBody['targets'] },
  ): Promise<void> {
    setBoard(await alarmsApi.updateAlarm(alarmId, change));
  }

  function reset(): void {
    inbox.clear();
    cursor = null;
    mine.value = [];
    dismiss();
    listed.value = [];
    boards.value = new Map();
  }

  return {
    mine,
    active,
    availability,
    availabilityDetail,
    setSchedule,
    start,
    markRead,
    dismiss,
    answer,
    loadAvailability,
    setAvailability,
    listed,
    boards,
    loadList,
    loadBoard,
    trigger,
    close,
    update,
    reset,
  };
});
