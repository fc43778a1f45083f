/**
 * The channel editor of dispatch (`ptt.manage`): the form's state, the request bodies of
 * `POST /api/ptt/channels` and `PATCH /api/ptt/channels/:id` built from it, and the
 * checks made before anything is sent (the server checks again and answers with codes).
 */
import { PTT_MAX_TALK_SECONDS, type PttChannel, type PttMembers, type Role } from '@trupp/shared';

export interface ChannelForm {
  name: string;
  priority: boolean;
  recorded: boolean;
  /** A number input may hand over '' while the field is empty. */
  maxTalkSeconds: number | string;
  unitIds: string[];
  roles: Role[];
  userIds: string[];
}

export interface ChannelCreateRequest {
  name: string;
  members: PttMembers;
  priority: boolean;
  recorded: boolean;
  maxTalkSeconds: number;
}

export type ChannelPatchRequest = Partial<ChannelCreateRequest> & { archived?: boolean };

/** What is wrong with the form, as a key under `pttAdmin.problem`; null when it can go. */
export type ChannelFormProblem = 'name' | 'maxTalk' | null;

export function emptyChannelForm(): ChannelForm {
  return {
    name: '',
    priority: false,
    recorded: false,
    maxTalkSeconds: PTT_MAX_TALK_SECONDS.default,
    unitIds: [],
    roles: [],
    userIds: [],
  };
}

export function channelToForm(channel: PttChannel): ChannelForm {
  return {
    name: channel.name,
    priority: channel.priority,
    recorded: channel.recorded,
    maxTalkSeconds: channel.maxTalkSeconds,
    unitIds: [...channel.members.unitIds],
    roles: [...channel.members.roles],
    userIds: [...channel.members.userIds],
  };
}

const unique = <T>(list: readonly T[]): T[] => [...new Set(list)];
const sameSet = <T>(a: readonly T[], b: readonly T[]): boolean => {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((v) => right.has(v));
};

export function formProblem(form: ChannelForm): ChannelFormProblem {
  const name = form.name.trim();
  if (name.length === 0 || name.length > 80) return 'name';
  const seconds = Number(form.maxTalkSeconds);
  if (
    form.maxTalkSeconds === '' ||
    !Number.isInteger(seconds) ||
    seconds < PTT_MAX_TALK_SECONDS.min ||
    seconds > PTT_MAX_TALK_SECONDS.max
  ) {
    return 'maxTalk';
  }
  return null;
}

function membersOf(form: ChannelForm): PttMembers {
  return {
    unitIds: unique(form.unitIds),
    roles: unique(form.roles),
    userIds: unique(form.userIds),
  };
}

export function createBodyOf(form: ChannelForm): ChannelCreateRequest {
  return {
    name: form.name.trim(),
    members: membersOf(form),
    priority: form.priority,
    recorded: form.recorded,
    maxTalkSeconds: Number(form.maxTalkSeconds),
  };
}

/**
 * Only what changed. The members of an alarm channel follow the alarm (the server refuses
 * to change them), so they are never sent for one.
 */
export function patchBodyOf(form: ChannelForm, channel: PttChannel): ChannelPatchRequest {
  const next = createBodyOf(form);
  const patch: ChannelPatchRequest = {};
  if (next.name !== channel.name) patch.name = next.name;
  if (next.priority !== channel.priority) patch.priority = next.priority;
  if (next.recorded !== channel.recorded) patch.recorded = next.recorded;
  if (next.maxTalkSeconds !== channel.maxTalkSeconds) patch.maxTalkSeconds = next.maxTalkSeconds;
  const current = channel.members;
  const membersChanged =
    !sameSet(next.members.unitIds, current.unitIds) ||
    !sameSet(next.members.roles, current.roles) ||
    !sameSet(next.members.userIds, current.userIds);
  if (membersChanged && !channel.alarmId) patch.members = next.members;
  return patch;
}

/** Options for a unit picker in tree order, sub-units indented under their parent. */
export function unitPickerOptions(
  rows: readonly { unit: { id: string; name: string }; depth: number }[],
): { id: string; label: string }[] {
  return rows.map(({ unit, depth }) => ({
    id: unit.id,
    label: `${'\u2003'.repeat(depth)}${depth > 0 ? '↳ ' : ''}${unit.name}`,
  }));
}
