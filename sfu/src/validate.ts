import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';
import type { types } from 'mediasoup';
import { sfuError } from './errors.ts';
import type { RecordingOptions, SfuMethod, SfuRequest } from './signaling.ts';

/**
 * The network edge's check of a control message (STYLE §4: SFU control messages are
 * validated like request bodies). It rebuilds the request from the known fields only —
 * unknown keys are dropped — and throws SFU_BAD_REQUEST naming the first bad field.
 * RTP and DTLS parameters are only checked to be objects here: mediasoup validates them
 * in depth, and `Server` turns its rejections into SFU_BAD_RTP_PARAMETERS /
 * SFU_BAD_TRANSPORT_PARAMETERS / SFU_CANNOT_CONSUME.
 */
const MAX_ID = 200;
const MAX_PATH = 1024;

const METHODS = new Set<SfuMethod>([
  'createChannel',
  'closeChannel',
  'join',
  'leave',
  'createTransport',
  'connectTransport',
  'produce',
  'consume',
  'pauseProducer',
  'resumeProducer',
  'pauseConsumer',
  'resumeConsumer',
  'grantFloor',
  'releaseFloor',
  'setRecording',
  'stats',
]);

type Fields = Record<string, unknown>;

function bad(message: string): never {
  throw sfuError('SFU_BAD_REQUEST', message);
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function id(fields: Fields, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID) {
    bad(`${name} must be a non-empty string of at most ${MAX_ID} characters.`);
  }
  return value;
}

function optionalBoolean(fields: Fields, name: string): boolean | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') bad(`${name} must be true or false.`);
  return value;
}

function object<T>(fields: Fields, name: string): T {
  if (!isObject(fields[name])) bad(`${name} must be an object.`);
  return fields[name] as T;
}

function recording(fields: Fields, name: string, required: boolean): RecordingOptions | null {
  const value = fields[name];
  if (value === null || (value === undefined && !required)) return null;
  if (!isObject(value)) bad(`${name} must be null or { directory }.`);
  const directory = value.directory;
  if (typeof directory !== 'string' || !isAbsolute(directory) || directory.length > MAX_PATH) {
    bad(`${name}.directory must be an absolute path of at most ${MAX_PATH} characters.`);
  }
  return { directory };
}

/** @throws SfuError SFU_BAD_REQUEST */
export function parseRequest(raw: unknown): SfuRequest {
  if (!isObject(raw)) bad('A request must be an object with a method.');
  const method = raw.method;
  if (typeof method !== 'string' || !METHODS.has(method as SfuMethod)) {
    bad(`Unknown method ${JSON.stringify(method)}; expected one of ${[...METHODS].join(', ')}.`);
  }
  const m = method as SfuMethod;
  if (m === 'stats') return { method: m };
  const channelId = id(raw, 'channelId');
  switch (m) {
    case 'createChannel': {
      const options =
        raw.recording === undefined ? {} : { recording: recording(raw, 'recording', false) };
      return { method: m, channelId, ...options };
    }
    case 'closeChannel':
    case 'releaseFloor':
      return { method: m, channelId };
    case 'setRecording':
      if (!('recording' in raw)) bad('recording must be null or { directory }.');
      return { method: m, channelId, recording: recording(raw, 'recording', false) };
    case 'grantFloor': {
      const talker = raw.talker;
      if (talker !== undefined && (typeof talker !== 'string' || talker.length > MAX_ID)) {
        bad(`talker must be a string of at most ${MAX_ID} characters.`);
      }
      return {
        method: m,
        channelId,
        producerId: id(raw, 'producerId'),
        ...(talker === undefined ? {} : { talker }),
      };
    }
    default:
      break;
  }
  const participantId = id(raw, 'participantId');
  switch (m) {
    case 'join':
    case 'leave':
    case 'pauseProducer':
    case 'resumeProducer':
      return { method: m, channelId, participantId };
    case 'pauseConsumer':
    case 'resumeConsumer':
      return { method: m, channelId, participantId, consumerId: id(raw, 'consumerId') };
    case 'createTransport': {
      if (raw.kind !== 'webrtc' && raw.kind !== 'plain') bad('kind must be "webrtc" or "plain".');
      const comedia = optionalBoolean(raw, 'comedia');
      return {
        method: m,
        channelId,
        participantId,
        kind: raw.kind,
        ...(comedia === undefined ? {} : { comedia }),
      };
    }
    case 'connectTransport': {
      const request: Extract<SfuRequest, { method: 'connectTransport' }> = {
        method: m,
        channelId,
        participantId,
        transportId: id(raw, 'transportId'),
      };
      if (raw.dtlsParameters !== undefined) {
        request.dtlsParameters = object<types.DtlsParameters>(raw, 'dtlsParameters');
      }
      if (raw.ip !== undefined) {
        if (typeof raw.ip !== 'string' || isIP(raw.ip) === 0) bad('ip must be an IP address.');
        request.ip = raw.ip;
      }
      if (raw.port !== undefined) {
        const port = raw.port;
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
          bad('port must be a whole number from 1 to 65535.');
        }
        request.port = port;
      }
      return request;
    }
    case 'produce':
      return {
        method: m,
        channelId,
        participantId,
        transportId: id(raw, 'transportId'),
        rtpParameters: object<types.RtpParameters>(raw, 'rtpParameters'),
      };
    case 'consume': {
      const paused = optionalBoolean(raw, 'paused');
      return {
        method: m,
        channelId,
        participantId,
        transportId: id(raw, 'transportId'),
        producerId: id(raw, 'producerId'),
        rtpCapabilities: object<types.RtpCapabilities>(raw, 'rtpCapabilities'),
        ...(paused === undefined ? {} : { paused }),
      };
    }
    default:
      return bad(`Unknown method ${m}.`);
  }
}
