import { io, type Socket } from 'socket.io-client';
import {
  ALARM_CLIENT_EVENTS,
  ALARM_SERVER_EVENTS,
  AlarmInbox,
  CLIENT_EVENTS,
  type AlarmSummary,
  type SocketAck,
  type SyncResponse,
} from '@trupp/shared';

/** Monotonic milliseconds (CLOCK_MONOTONIC: the same clock in every process on this machine). */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

const ACK_TIMEOUT_MS = 30_000;

export interface AlarmDeviceOptions {
  /** Reconnect after losing the server (the kill test); off for the bench. */
  reconnect?: boolean;
  /** Called on each live `alarm.raised`, with the monotonic receipt time. */
  onRaised?: (alarm: AlarmSummary, receivedAt: number) => void;
  /** Called when the server acknowledged this device's `alarm.ack`. */
  onAcked?: (alarmId: string, ackedAt: number) => void;
}

/**
 * One member's device as the webapp behaves: an `AlarmInbox`, live `alarm.raised`
 * merged and acknowledged with `alarm.ack`, and a `sync` of the `alarms` source from its
 * cursor on every (re)connect, its items merged into the same inbox.
 */
export class AlarmDevice {
  readonly inbox = new AlarmInbox();
  readonly socket: Socket;
  cursor: string | null = null;
  /** How often merging told the device to alert (siren); once per alarm is right. */
  alerts = 0;
  liveReceipts = 0;
  syncedItems = 0;
  /** Completed syncs; the first one follows the first connect. */
  syncs = 0;
  lastError: string | null = null;
  #syncing: Promise<void> | null = null;

  constructor(
    url: string,
    accessToken: string,
    private readonly options: AlarmDeviceOptions = {},
  ) {
    this.socket = io(url, {
      transports: ['websocket'],
      auth: { token: accessToken },
      // Every device is its own connection (no shared Manager per URL).
      forceNew: true,
      autoConnect: false,
      reconnection: options.reconnect ?? false,
      reconnectionDelay: 250,
      reconnectionDelayMax: 2_000,
      timeout: 20_000,
    });
    this.socket.on(ALARM_SERVER_EVENTS.raised, (alarm: AlarmSummary) => {
      const at = nowMs();
      this.liveReceipts++;
      this.#merge(alarm);
      options.onRaised?.(alarm, at);
      // One process plays thousands of phones: acknowledging on the next turn of the event
      // loop lets it timestamp the other devices' arrivals first, as separate phones would.
      setImmediate(() =>
        this.socket.emit(ALARM_CLIENT_EVENTS.ack, { alarmId: alarm.id }, (ack: SocketAck<null>) => {
          if (ack.ok) options.onAcked?.(alarm.id, nowMs());
          else this.lastError = ack.error.code;
        }),
      );
    });
    this.socket.on('connect', () => {
      this.#syncing = this.sync().catch((error: unknown) => {
        this.lastError = error instanceof Error ? error.message : String(error);
      });
    });
    this.socket.on('connect_error', (error) => {
      this.lastError = error.message;
    });
  }

  /** Connects and resolves after the first sync (rejects on a refused handshake). */
  connect(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), timeoutMs);
      const fail = (error: Error) => {
        if (this.options.reconnect) return;
        clearTimeout(timer);
        reject(error);
      };
      this.socket.once('connect_error', fail);
      this.socket.once('connect', () => {
        this.socket.off('connect_error', fail);
        void this.#syncing!.then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.socket.connect();
    });
  }

  /** Pulls every page of the `alarms` source since the cursor into the inbox. */
  async sync(): Promise<void> {
    for (;;) {
      const ack = (await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(CLIENT_EVENTS.sync, {
        cursors: { alarms: this.cursor },
      })) as SocketAck<SyncResponse>;
      if (!ack.ok) throw new Error(`sync refused: ${ack.error.code}`);
      const page = ack.data.sources.alarms;
      if (!page) throw new Error('sync answered without the alarms source');
      for (const item of page.items) {
        this.syncedItems++;
        this.#merge(item as AlarmSummary);
      }
      this.cursor = page.cursor;
      if (!page.hasMore) break;
    }
    this.syncs++;
  }

  /** Answers an alarm; resolves with the server's acknowledgement. */
  async respond(
    alarmId: string,
    response: 'coming' | 'not_coming' | 'later',
  ): Promise<SocketAck<AlarmSummary>> {
    return (await this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck(ALARM_CLIENT_EVENTS.respond, { alarmId, response })) as SocketAck<AlarmSummary>;
  }

  close(): void {
    this.socket.disconnect();
  }

  #merge(alarm: AlarmSummary): void {
    if (this.inbox.merge(alarm).alert) this.alerts++;
  }
}
