import { useI18n } from 'vue-i18n';

/** Dates and times in the user's language. */
export function useFormat() {
  const { locale, t } = useI18n();
  function dateTime(iso: string | null | undefined): string {
    if (!iso) return t('common.never');
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return new Intl.DateTimeFormat(locale.value, {
      dateStyle: 'medium',
      timeStyle: 'short',
    }).format(date);
  }
  return { dateTime };
}
