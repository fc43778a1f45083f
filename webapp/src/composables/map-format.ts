import { useI18n } from 'vue-i18n';
import type { MapMember } from '../api/positions.ts';
import { fixAge, memberStatus } from '../map/members.ts';

/** Texts of the member map in the user's language: fix ages, statuses, labels. */
export function useMapFormat() {
  const { t, locale } = useI18n();

  /** "2 min", "40 s", "3 h". */
  function age(recordedAt: string, now: number): string {
    const { n, unit } = fixAge(recordedAt, now);
    return t(`mapMembers.age.${unit}`, { n });
  }

  function status(member: MapMember): string {
    return t(`mapMembers.status.${memberStatus(member)}`);
  }

  /** The two lines of a member's map label: name, then unit(s) and fix age. */
  function label(member: MapMember, now: number): string[] {
    const units = member.units.map((u) => u.name).join(', ');
    return [
      member.displayName,
      units ? `${units} · ${age(member.recordedAt, now)}` : age(member.recordedAt, now),
    ];
  }

  function km(value: number): string {
    return new Intl.NumberFormat(locale.value, {
      maximumFractionDigits: value < 10 ? 1 : 0,
    }).format(value);
  }

  return { age, status, label, km };
}
