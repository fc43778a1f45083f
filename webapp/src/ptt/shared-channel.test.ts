import { describe, expect, it } from 'vitest';
import type { PttChannel, PttMembers } from '@trupp/shared';
import { sharedChannel, withAncestors, type MemberFacts } from './shared-channel.ts';

// Stadt > Löschzug 1 > Gruppe 1; Löschzug 2 beside it.
const units = [
  { id: 'city', parentId: null },
  { id: 'lz1', parentId: 'city' },
  { id: 'g1', parentId: 'lz1' },
  { id: 'lz2', parentId: 'city' },
];

function channel(
  id: string,
  members: Partial<PttMembers>,
  extra: Partial<PttChannel> = {},
): PttChannel {
  return {
    id,
    name: id,
    members: { unitIds: [], roles: [], userIds: [], ...members },
    priority: false,
    recorded: false,
    maxTalkSeconds: 30,
    alarmId: null,
    archived: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

const max: MemberFacts = { userId: 'max', role: 'member', unitIds: ['g1'], alarmId: null };

describe('the channel dispatch shares with a member', () => {
  it('walks up the unit tree: a unit includes its sub-units', () => {
    expect([...withAncestors(['g1'], units)].sort()).toEqual(['city', 'g1', 'lz1']);
    expect([...withAncestors([], units)]).toEqual([]);
  });

  it('takes the first channel the member belongs to by unit, role or name', () => {
    const other = channel('a-lz2', { unitIds: ['lz2'] });
    expect(sharedChannel([other, channel('b-lz1', { unitIds: ['lz1'] })], max, units)?.id).toBe(
      'b-lz1',
    );
    expect(sharedChannel([other, channel('leads', { roles: ['lead'] })], max, units)).toBeNull();
    expect(sharedChannel([other, channel('all', { roles: ['member'] })], max, units)?.id).toBe(
      'all',
    );
    expect(sharedChannel([channel('named', { userIds: ['max'] })], max, units)?.id).toBe('named');
  });

  it('counts a role only when the role is known', () => {
    const all = channel('all', { roles: ['member'] });
    expect(sharedChannel([all], { ...max, role: null }, units)).toBeNull();
  });

  it('prefers the channel of the alarm the member answers and leaves other alarms out', () => {
    const unit = channel('a-lz1', { unitIds: ['lz1'] });
    const own = channel('b3', {}, { alarmId: 'alarm-1' });
    const foreign = channel('a-other', {}, { alarmId: 'alarm-2' });
    expect(sharedChannel([foreign, unit, own], { ...max, alarmId: 'alarm-1' }, units)?.id).toBe(
      'b3',
    );
    expect(sharedChannel([foreign, unit, own], max, units)?.id).toBe('a-lz1');
  });

  it('never offers an archived channel', () => {
    const archived = channel('old', { unitIds: ['g1'] }, { archived: true });
    expect(sharedChannel([archived], max, units)).toBeNull();
  });
});
