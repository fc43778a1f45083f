import type { PttChannel, Role } from '@trupp/shared';

/**
 * Which push-to-talk channel dispatch and a member share, for "Talk" on the map. The
 * server decides membership (backend/src/modules/ptt/repository.ts `isMember`); this
 * follows the same rule with what the web app can see, and only answers with a channel
 * the member provably belongs to — never a guess.
 */

/** What is known about the member. */
export interface MemberFacts {
  userId: string;
  /** Null when unknown: channels for roles then do not count. */
  role: Role | null;
  /** The units the member is in directly. */
  unitIds: readonly string[];
  /** An open alarm the member was alerted for (its channel's members are its recipients). */
  alarmId: string | null;
}

/** The units and all units above them: a channel for a unit includes its sub-units. */
export function withAncestors(
  unitIds: readonly string[],
  units: ReadonlyArray<{ id: string; parentId: string | null }>,
): Set<string> {
  const parents = new Map(units.map((u) => [u.id, u.parentId]));
  const out = new Set<string>();
  for (const unitId of unitIds) {
    let next: string | null | undefined = unitId;
    while (next && !out.has(next)) {
      out.add(next);
      next = parents.get(next);
    }
  }
  return out;
}

/** Whether the member belongs to the channel, as far as the facts tell. */
export function memberBelongs(
  channel: PttChannel,
  member: MemberFacts,
  memberUnits: ReadonlySet<string>,
): boolean {
  if (channel.archived) return false;
  // Recipients of other alarms are not known here; such channels are not offered.
  if (channel.alarmId) return channel.alarmId === member.alarmId;
  const m = channel.members;
  return (
    m.userIds.includes(member.userId) ||
    (member.role !== null && m.roles.includes(member.role)) ||
    m.unitIds.some((id) => memberUnits.has(id))
  );
}

/**
 * The first of `joinable` (the viewer's channels, in their order) the member belongs
 * to; the channel of the alarm the member answers comes first, as that is what dispatch
 * talks about. Null when there is none.
 */
export function sharedChannel(
  joinable: readonly PttChannel[],
  member: MemberFacts,
  units: ReadonlyArray<{ id: string; parentId: string | null }>,
): PttChannel | null {
  const memberUnits = withAncestors(member.unitIds, units);
  const shared = joinable.filter((c) => memberBelongs(c, member, memberUnits));
  return shared.find((c) => c.alarmId !== null) ?? shared[0] ?? null;
}
