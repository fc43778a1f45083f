import { describe, expect, it } from 'vitest';
import { POSITION_STOP_HOLD_MS } from '@trupp/shared';
import { decideSharing, type MemberFacts, type TenantFacts } from './sharing.ts';

const NOW = Date.parse('2026-12-02T10:00:00Z'); // a Wednesday, 11:00 in Berlin
const HOUR = 3600_000;
const tenant = (shareOnDuty: boolean): TenantFacts => ({
  shareOnDuty,
  timezone: 'Europe/Berlin',
  retentionTrackHours: 24,
});
const facts = (over: Partial<MemberFacts> = {}): MemberFacts => ({
  tenantId: 't',
  until: null,
  stoppedAt: null,
  coming: [],
  availability: null,
  unitIds: [],
  lastRecordedAt: null,
  ...over,
});
const coming = (respondedAt: number) => ({ alarmId: 'a1', lat: 51, lon: 10, respondedAt });

describe('decideSharing', () => {
  it('shares nothing by default, and not on duty unless the organisation enables it', () => {
    expect(decideSharing(facts(), tenant(false), NOW)).toMatchObject({
      sharing: false,
      reason: null,
      onDuty: true,
      onDutyEnabled: false,
      stopped: false,
    });
    expect(decideSharing(facts(), tenant(true), NOW)).toMatchObject({
      sharing: true,
      reason: 'on_duty',
    });
  });

  it('switched on shares until its end, then not', () => {
    const on = facts({ until: NOW + HOUR });
    expect(decideSharing(on, tenant(false), NOW)).toMatchObject({
      sharing: true,
      reason: 'switched_on',
      until: new Date(NOW + HOUR).toISOString(),
    });
    expect(decideSharing(on, tenant(false), NOW + 2 * HOUR)).toMatchObject({ sharing: false });
  });

  it('coming to an open alarm shares; a stop after the answer holds, a later answer wins', () => {
    expect(
      decideSharing(facts({ coming: [coming(NOW - 60_000)] }), tenant(false), NOW),
    ).toMatchObject({ sharing: true, reason: 'alarm', comingAlarmIds: ['a1'] });
    const stopped = facts({ coming: [coming(NOW - 60_000)], stoppedAt: NOW - 30_000 });
    expect(decideSharing(stopped, tenant(false), NOW)).toMatchObject({
      sharing: false,
      stopped: true,
      comingAlarmIds: [],
    });
    const answeredAgain = facts({ coming: [coming(NOW - 10_000)], stoppedAt: NOW - 30_000 });
    expect(decideSharing(answeredAgain, tenant(false), NOW)).toMatchObject({ reason: 'alarm' });
  });

  it('on duty follows availability: unavailable or in a plan window is off duty', () => {
    const unavailable = facts({
      availability: { status: 'unavailable', until: null, schedule: null, updatedAt: NOW - HOUR },
    });
    expect(decideSharing(unavailable, tenant(true), NOW)).toMatchObject({
      sharing: false,
      onDuty: false,
    });
    // Wednesday 07:00–17:00 Berlin "at work": off duty at 11:00, on duty at 18:00.
    const plan = facts({
      availability: {
        status: 'available',
        until: null,
        schedule: [{ weekdays: [3], from: '07:00', to: '17:00', status: 'unavailable' }],
        updatedAt: NOW - HOUR,
      },
    });
    expect(decideSharing(plan, tenant(true), NOW)).toMatchObject({ sharing: false });
    expect(decideSharing(plan, tenant(true), NOW + 7 * HOUR)).toMatchObject({
      sharing: true,
      reason: 'on_duty',
    });
  });

  it('a stop holds against on duty until availability changes or the shift hold passes', () => {
    const stopped = facts({ stoppedAt: NOW - HOUR });
    expect(decideSharing(stopped, tenant(true), NOW)).toMatchObject({
      sharing: false,
      stopped: true,
    });
    expect(
      decideSharing(stopped, tenant(true), NOW - HOUR + POSITION_STOP_HOLD_MS + 1),
    ).toMatchObject({ reason: 'on_duty' });
    const tappedAfter = facts({
      stoppedAt: NOW - HOUR,
      availability: { status: 'available', until: null, schedule: null, updatedAt: NOW - 60_000 },
    });
    expect(decideSharing(tappedAfter, tenant(true), NOW)).toMatchObject({ reason: 'on_duty' });
    // Switching on again clears the stop (the route does), and wins anyway.
    expect(
      decideSharing(facts({ stoppedAt: NOW - HOUR, until: NOW + HOUR }), tenant(true), NOW),
    ).toMatchObject({ reason: 'switched_on', stopped: false });
  });
});
