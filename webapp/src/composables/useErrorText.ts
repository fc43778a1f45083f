import { useI18n } from 'vue-i18n';
import { ApiError } from '../api/http.ts';

/**
 * Turns any failure into a message in the user's language that says what to do: API
 * errors by their code (`errors.<CODE>`), sign-in lockout with its wait time, and a
 * cancelled passkey prompt.
 */
export function useErrorText() {
  const { t, te } = useI18n();
  return (error: unknown): string => {
    if (error instanceof ApiError) {
      if (error.code === 'AUTH_LOCKED') {
        const seconds = (error.details as { retryAfterSeconds?: number } | undefined)
          ?.retryAfterSeconds;
        if (typeof seconds === 'number') {
          return t('auth.lockedFor', { minutes: Math.max(1, Math.ceil(seconds / 60)) });
        }
      }
      const key = `errors.${error.code}`;
      return te(key) ? t(key) : error.message || t('errors.INTERNAL_ERROR');
    }
    if (error instanceof Error && ['NotAllowedError', 'AbortError'].includes(error.name)) {
      return t('common.passkeyCancelled');
    }
    return t('common.unexpected');
  };
}
