import { describe, expect, it } from 'vitest';
import type { PttChannel } from '@trupp/shared';
import {
  channelToForm,
  createBodyOf,
  emptyChannelForm,
  formProblem,
  patchBodyOf,
  unitPickerOptions,
} from './channel-form.ts';

const channel: PttChannel = {
  id: 'c1',
  name: 'Einsatz 1',
  members: { unitIds: ['u1', 'u2'], roles: ['lead'], userIds: ['x'] },
  priority: false,
  recorded: true,
  maxTalkSeconds: 30,
  alarmId: null,
  archived: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('the channel form', () => {
  it('builds the create body: trimmed name, number talk time, members without repeats', () => {
    const form = {
      ...emptyChannelForm(),
      name: '  Führung  ',
      priority: true,
      maxTalkSeconds: '45',
      unitIds: ['u1', 'u1'],
      roles: ['dispatcher' as const],
      userIds: ['a', 'b', 'a'],
    };
    expect(createBodyOf(form)).toEqual({
      name: 'Führung',
      members: { unitIds: ['u1'], roles: ['dispatcher'], userIds: ['a', 'b'] },
      priority: true,
      recorded: false,
      maxTalkSeconds: 45,
    });
  });

  it('starts with the default talk time and refuses an empty name or a talk time out of range', () => {
    const form = emptyChannelForm();
    expect(form.maxTalkSeconds).toBe(30);
    expect(formProblem(form)).toBe('name');
    expect(formProblem({ ...form, name: 'A' })).toBeNull();
    for (const bad of ['', 4, 601, 12.5, 'abc']) {
      expect(formProblem({ ...form, name: 'A', maxTalkSeconds: bad })).toBe('maxTalk');
    }
    expect(formProblem({ ...form, name: 'x'.repeat(81) })).toBe('name');
  });

  it('sends only what changed when editing', () => {
    const form = channelToForm(channel);
    expect(patchBodyOf(form, channel)).toEqual({});
    // The same members in another order are no change.
    expect(patchBodyOf({ ...form, unitIds: ['u2', 'u1'] }, channel)).toEqual({});
    expect(patchBodyOf({ ...form, name: 'Neu ', maxTalkSeconds: 60 }, channel)).toEqual({
      name: 'Neu',
      maxTalkSeconds: 60,
    });
    expect(patchBodyOf({ ...form, roles: [] }, channel)).toEqual({
      members: { unitIds: ['u1', 'u2'], roles: [], userIds: ['x'] },
    });
  });

  it('never sends the members of an alarm channel (they follow the alarm)', () => {
    const alarmChannel = { ...channel, alarmId: 'al1' };
    const form = { ...channelToForm(alarmChannel), userIds: [], recorded: false };
    expect(patchBodyOf(form, alarmChannel)).toEqual({ recorded: false });
  });

  it('indents sub-units under their parent in the unit picker', () => {
    const options = unitPickerOptions([
      { unit: { id: 'a', name: 'Wache' }, depth: 0 },
      { unit: { id: 'b', name: 'Zug 1' }, depth: 1 },
    ]);
    expect(options[0]).toEqual({ id: 'a', label: 'Wache' });
    expect(options[1]?.label).toBe('\u2003↳ Zug 1');
  });
});
