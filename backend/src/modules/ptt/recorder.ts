import { join, relative, isAbsolute } from 'node:path';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { SfuNotification } from '@trupp/sfu';
import { pttChannels, pttRecordings } from '../../db/schema.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import type { ChannelRow } from './repository.ts';

type RecordingFinished = Extract<SfuNotification, { type: 'recording.finished' }>;

/**
 * Recording of push-to-talk channels. The SFU records (sfu/src/Recorder.ts: one Ogg Opus
 * file per transmission, written by the SFU into the directory the backend names per
 * channel); the backend switches it on per channel, labels each grant with the talker's
 * user id, and stores a metadata row when the SFU reports a finished file. The row id is
 * the SFU's recording id, so a report that reaches several nodes is stored once.
 *
 * With a remote SFU, RECORDINGS_DIR must be the same (shared) directory on the SFU host
 * and on every backend node: downloads read the files there.
 */
export class RecordingCatalogue {
  constructor(readonly app: FastifyInstance) {}

  /** Where the SFU writes a channel's files: `<RECORDINGS_DIR>/<tenant>/<channel>`. */
  directoryOf(channel: Pick<ChannelRow, 'tenantId' | 'id'>): string {
    return join(this.app.config.recordingsDir, channel.tenantId, channel.id);
  }

  /** The SFU reported a notification; stores finished recordings. Never throws. */
  async onNotification(notification: SfuNotification): Promise<void> {
    if (notification.type === 'recording.failed') {
      this.app.log.error(
        { channelId: notification.channelId, error: notification.error },
        'a push-to-talk recording failed',
      );
      return;
    }
    if (notification.type !== 'recording.finished') return;
    try {
      await this.#store(notification);
    } catch (error) {
      this.app.log.error({ err: error, channelId: notification.channelId }, 'recording not stored');
    }
  }

  async #store(finished: RecordingFinished): Promise<void> {
    const storagePath = relative(this.app.config.recordingsDir, finished.path);
    if (storagePath.startsWith('..') || isAbsolute(storagePath)) {
      this.app.log.warn(
        { channelId: finished.channelId },
        'recording outside RECORDINGS_DIR ignored (is the directory shared with the SFU?)',
      );
      return;
    }
    const [channel] = await this.app.db
      .select({ tenantId: pttChannels.tenantId })
      .from(pttChannels)
      .where(eq(pttChannels.id, finished.channelId));
    // The talker label is the user id (see runtime: grantFloor's `talker`).
    if (!channel || !/^[0-9a-f-]{36}$/.test(finished.talker)) return;
    try {
      await this.app.db.insert(pttRecordings).values({
        id: finished.recordingId,
        tenantId: channel.tenantId,
        channelId: finished.channelId,
        talkerUserId: finished.talker,
        startedAt: new Date(finished.startedAt),
        durationMs: Math.max(0, Math.round(finished.durationMs)),
        bytes: finished.bytes,
        storagePath,
        createdAt: new Date(),
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
  }
}
