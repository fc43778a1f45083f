/**
 * Push-to-talk over HTTP: my channels, managing channels (dispatch), recordings (with
 * their audio) and emergency calls.
 */
import type { PttChannel, PttEmergency, PttMyChannel, PttRecording } from '@trupp/shared';
import type { ChannelCreateRequest, ChannelPatchRequest } from '../ptt/channel-form.ts';
import { request, requestFile } from './http.ts';

const id = (value: string) => encodeURIComponent(value);

export function listMyChannels(): Promise<PttMyChannel[]> {
  return request<PttMyChannel[]>('GET', '/api/me/ptt/channels');
}

/** All channels of the tenant (`ptt.manage`); `archived` picks open or archived ones only. */
export function listChannels(archived?: boolean): Promise<PttChannel[]> {
  return request<PttChannel[]>('GET', '/api/ptt/channels', { query: { archived } });
}

export function createChannel(body: ChannelCreateRequest): Promise<PttChannel> {
  return request<PttChannel>('POST', '/api/ptt/channels', { body });
}

export function updateChannel(channelId: string, body: ChannelPatchRequest): Promise<PttChannel> {
  return request<PttChannel>('PATCH', `/api/ptt/channels/${id(channelId)}`, { body });
}

/** Deletes the channel with its recordings. */
export function deleteChannel(channelId: string): Promise<void> {
  return request<void>('DELETE', `/api/ptt/channels/${id(channelId)}`);
}

export function listRecordings(
  channelId: string,
  options: { limit?: number; before?: string } = {},
): Promise<PttRecording[]> {
  return request<PttRecording[]>('GET', `/api/ptt/channels/${id(channelId)}/recordings`, {
    query: { limit: options.limit, before: options.before },
  });
}

/** The recording's Ogg Opus audio (fetched with the token, so an <audio> can play it). */
export async function recordingAudio(recording: PttRecording): Promise<Blob> {
  const { blob } = await requestFile(recording.audioUrl, `${recording.id}.ogg`);
  return blob;
}

export function listEmergencies(open: boolean): Promise<PttEmergency[]> {
  return request<PttEmergency[]>('GET', '/api/ptt/emergencies', { query: { open } });
}

export function acknowledgeEmergency(emergencyId: string): Promise<PttEmergency> {
  return request<PttEmergency>('POST', `/api/ptt/emergencies/${id(emergencyId)}/acknowledge`);
}
