import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PTT_CLIENT_EVENTS, roleHas } from '@trupp/shared';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { recordAudit } from '../audit/service.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { createParticipantDirectory } from './directory.ts';
import { createFloorStore } from './floor-store.ts';
import { SfuProvider, type SfuHandle } from './media.ts';
import { RecordingCatalogue } from './recorder.ts';
import {
  channelsOfMember,
  findChannel,
  findRecording,
  listChannels,
  listEmergencies,
  listRecordings,
  toChannel,
  toEmergencies,
  toMyChannel,
} from './repository.ts';
import { PttRuntime } from './runtime.ts';
import {
  Channel,
  ChannelCreateBody,
  ChannelEvent,
  ChannelIdParams,
  ChannelListQuery,
  ChannelPatchBody,
  ConnectTransportEvent,
  ConsumeEvent,
  Emergency,
  EmergencyIdParams,
  EmergencyListQuery,
  FloorRequestEvent,
  MyChannel,
  ProduceEvent,
  Recording,
  RecordingIdParams,
  RecordingListQuery,
  ScanEvent,
} from './schemas.ts';
import {
  acknowledgeEmergency,
  createChannel,
  deleteChannel,
  onAlarmChanged,
  recordingFile,
  updateChannel,
  type PttDeps,
} from './service.ts';

export interface PttOptions {
  /** An SFU started elsewhere (tests; several nodes sharing one); default: our own. */
  sfu?: SfuHandle | null;
}

/**
 * Push-to-talk: channels (CRUD for dispatch, "my channels" for members), recordings and
 * emergency calls over HTTP; joining, media signalling and floor control over the socket
 * (protocol in shared/src/ptt.ts); the alarm hook that opens an alarm channel.
 */
const pttRoutes: FastifyPluginAsyncTypebox<PttOptions> = async (app, options) => {
  const tags = ['ptt'];
  const sfu = new SfuProvider({
    config: app.config.sfu,
    url: app.config.sfuUrl,
    secret: app.config.sfuSecret,
    log: app.log,
    shared: options.sfu ?? null,
  });
  const store = createFloorStore({ redis: app.redis });
  const runtime = new PttRuntime({
    app,
    sfu,
    store,
    directory: createParticipantDirectory(app.redis),
    recordings: new RecordingCatalogue(app),
  });
  const deps: PttDeps = { app, runtime };

  // In production the media workers start with the server, so a missing worker binary
  // shows in the log at once; in development and tests (where many servers may run side
  // by side) on the first join — as after a failed start.
  app.addHook('onReady', async () => {
    if (app.config.env === 'production') void sfu.get().catch(() => undefined);
  });
  app.addHook('onClose', async () => {
    runtime.close();
    await sfu.close();
    await store.close();
  });

  const offAlarm = app.bus.on('alarm.changed', (event) => {
    void onAlarmChanged(deps, event).catch((err: unknown) =>
      app.log.error({ err, alarmId: event.alarmId }, 'alarm channel hook failed'),
    );
  });
  app.addHook('preClose', async () => offAlarm());

  // ---- channels (dispatch, leads, admins)

  app.get(
    '/api/ptt/channels',
    {
      schema: {
        tags,
        querystring: ChannelListQuery,
        response: { 200: Type.Array(Channel), ...errorResponses(400, 401, 403) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request) =>
      (
        await listChannels(app.db, caller(request).tenantId, { archived: request.query.archived })
      ).map(toChannel),
  );

  app.post(
    '/api/ptt/channels',
    {
      schema: {
        tags,
        body: ChannelCreateBody,
        response: { 201: Channel, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request, reply) => {
      const channel = await createChannel(
        deps,
        caller(request).tenantId,
        requestActor(request),
        request.body,
      );
      return reply.code(201).send(channel);
    },
  );

  app.get(
    '/api/ptt/channels/:channelId',
    {
      schema: {
        tags,
        params: ChannelIdParams,
        response: { 200: Channel, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request) =>
      toChannel(await findChannel(app.db, caller(request).tenantId, request.params.channelId)),
  );

  app.patch(
    '/api/ptt/channels/:channelId',
    {
      schema: {
        tags,
        params: ChannelIdParams,
        body: ChannelPatchBody,
        response: { 200: Channel, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request) =>
      updateChannel(
        deps,
        caller(request).tenantId,
        requestActor(request),
        request.params.channelId,
        request.body,
      ),
  );

  app.delete(
    '/api/ptt/channels/:channelId',
    {
      schema: {
        tags,
        params: ChannelIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request, reply) => {
      await deleteChannel(
        deps,
        caller(request).tenantId,
        requestActor(request),
        request.params.channelId,
      );
      return reply.code(204).send(null);
    },
  );

  // ---- the member's side

  app.get(
    '/api/me/ptt/channels',
    {
      schema: { tags, response: { 200: Type.Array(MyChannel), ...errorResponses(401, 403) } },
      config: { access: 'ptt.use' },
    },
    async (request) => {
      const auth = caller(request);
      // Managers may join every open channel of the tenant (dispatch can always break in).
      const rows = roleHas(auth.role, 'ptt.manage')
        ? await listChannels(app.db, auth.tenantId, { archived: false })
        : await channelsOfMember(app.db, auth.tenantId, { userId: auth.userId, role: auth.role });
      return rows.map(toMyChannel);
    },
  );

  // ---- recordings

  app.get(
    '/api/ptt/channels/:channelId/recordings',
    {
      schema: {
        tags,
        params: ChannelIdParams,
        querystring: RecordingListQuery,
        response: { 200: Type.Array(Recording), ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request) => {
      const tenantId = caller(request).tenantId;
      const channel = await findChannel(app.db, tenantId, request.params.channelId);
      const rows = await listRecordings(app.db, tenantId, channel.id, {
        limit: request.query.limit ?? 100,
        ...(request.query.before ? { before: new Date(request.query.before) } : {}),
      });
      return rows.map((r) => ({
        id: r.id,
        channelId: r.channelId,
        talkerUserId: r.talkerUserId,
        talkerDisplayName: r.talkerDisplayName ?? '',
        startedAt: r.startedAt.toISOString(),
        durationMs: r.durationMs,
        bytes: r.bytes,
        audioUrl: `/api/ptt/recordings/${r.id}/audio`,
      }));
    },
  );

  app.get(
    '/api/ptt/recordings/:recordingId/audio',
    {
      schema: {
        tags,
        params: RecordingIdParams,
        produces: ['audio/ogg'],
        response: {
          200: Type.Unsafe<Buffer>({
            type: 'string',
            format: 'binary',
            description: 'Ogg Opus (RFC 7845)',
          }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
      config: { access: 'ptt.manage' },
    },
    async (request, reply) => {
      const auth = caller(request);
      const recording = await findRecording(app.db, auth.tenantId, request.params.recordingId);
      const file = recordingFile(app.config.recordingsDir, recording.storagePath);
      let audio: Buffer;
      try {
        if (!file) throw new Error('outside the recordings directory');
        audio = await readFile(file);
      } catch {
        throw appError('PTT_RECORDING_NOT_FOUND', 'The audio file of this recording is missing.');
      }
      // Listening to someone's voice is a read of personal data: audited.
      await recordAudit(app.db, auth.tenantId, {
        action: 'ptt.recording_downloaded',
        actor: requestActor(request),
        target: { type: 'ptt_recording', id: recording.id },
        details: { channelId: recording.channelId, talkerUserId: recording.talkerUserId },
      });
      return reply
        .header('content-type', 'audio/ogg')
        .header('content-disposition', `inline; filename="trupp-${recording.id}.opus"`)
        .header('cache-control', 'no-store')
        .send(audio);
    },
  );

  // ---- emergencies

  app.get(
    '/api/ptt/emergencies',
    {
      schema: {
        tags,
        querystring: EmergencyListQuery,
        response: { 200: Type.Array(Emergency), ...errorResponses(400, 401, 403) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request) => {
      const rows = await listEmergencies(app.db, caller(request).tenantId, {
        open: request.query.open ?? false,
        limit: request.query.limit ?? 100,
      });
      return toEmergencies(app.db, rows);
    },
  );

  app.post(
    '/api/ptt/emergencies/:emergencyId/acknowledge',
    {
      schema: {
        tags,
        params: EmergencyIdParams,
        response: { 200: Emergency, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'ptt.manage' },
    },
    async (request) =>
      acknowledgeEmergency(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.emergencyId,
      ),
  );

  // ---- socket events (protocol: shared/src/ptt.ts)

  app.realtime.on(
    PTT_CLIENT_EVENTS.join,
    { schema: ChannelEvent, access: 'ptt.use' },
    async ({ auth, socket }, { channelId }) => runtime.join(auth, socket, channelId),
  );
  app.realtime.on(
    PTT_CLIENT_EVENTS.connectTransport,
    { schema: ConnectTransportEvent, access: 'ptt.use' },
    async ({ socket }, body) => runtime.connectTransport(socket, body),
  );
  app.realtime.on(
    PTT_CLIENT_EVENTS.produce,
    { schema: ProduceEvent, access: 'ptt.use' },
    async ({ socket }, body) => runtime.produce(socket, body),
  );
  app.realtime.on(
    PTT_CLIENT_EVENTS.consume,
    { schema: ConsumeEvent, access: 'ptt.use' },
    async ({ socket }, body) => runtime.consume(socket, body),
  );
  app.realtime.on(
    PTT_CLIENT_EVENTS.leave,
    { schema: ChannelEvent, access: 'ptt.use' },
    async ({ socket }, { channelId }) => runtime.leave(socket, channelId),
  );
  app.realtime.on(
    PTT_CLIENT_EVENTS.floorRequest,
    { schema: FloorRequestEvent, access: 'ptt.use' },
    async ({ auth, socket }, body) => runtime.requestFloor(auth, socket, body),
  );
  app.realtime.on(
    PTT_CLIENT_EVENTS.floorRelease,
    { schema: ChannelEvent, access: 'ptt.use' },
    async ({ socket }, { channelId }) => runtime.releaseFloor(socket, channelId),
  );
  app.realtime.on(
    PTT_CLIENT_EVENTS.scan,
    { schema: ScanEvent, access: 'ptt.use' },
    async ({ auth, socket }, body) => runtime.setScan(auth, socket, body),
  );
};

export default pttRoutes;
