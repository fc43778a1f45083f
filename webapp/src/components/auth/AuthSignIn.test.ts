import { beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import * as authApi from '../../api/auth.ts';
import { ApiError } from '../../api/http.ts';
import { createAppI18n } from '../../i18n/index.ts';
import AuthSignIn from './AuthSignIn.vue';

vi.mock('../../api/auth.ts');
vi.mock('../../realtime/socket.ts', () => ({
  connectRealtime: vi.fn(() => ({ close: vi.fn() })),
}));

const api = vi.mocked(authApi);

function mountSignIn(locale: 'de' | 'en' = 'en') {
  return mount(AuthSignIn, { global: { plugins: [createAppI18n(locale)] } });
}

beforeEach(() => {
  setActivePinia(createPinia());
  localStorage.clear();
  vi.resetAllMocks();
});

describe('AuthSignIn', () => {
  it('shows the TOTP step after the server asks for a second factor', async () => {
    api.login.mockResolvedValue({
      status: 'mfa_required',
      mfaToken: 'm',
      methods: ['totp', 'recovery'],
    });
    const wrapper = mountSignIn();

    await wrapper.get('[data-testid="login-email"]').setValue('anna@example.org');
    await wrapper.get('[data-testid="login-password"]').setValue('secret-password');
    await wrapper.get('form').trigger('submit');
    await flushPromises();

    const code = wrapper.get('[data-testid="mfa-code"]');
    expect(code.attributes('inputmode')).toBe('numeric');
    expect(code.attributes('autocomplete')).toBe('one-time-code');
    expect(wrapper.find('[data-testid="login-password"]').exists()).toBe(false);
    expect(wrapper.get('[data-testid="mfa-use-recovery"]').text()).toBe('Use a recovery code');
  });

  it('says in German how long sign-in is locked', async () => {
    api.login.mockRejectedValue(
      new ApiError('AUTH_LOCKED', 'locked', 429, { retryAfterSeconds: 600 }),
    );
    const wrapper = mountSignIn('de');

    await wrapper.get('[data-testid="login-email"]').setValue('anna@example.org');
    await wrapper.get('[data-testid="login-password"]').setValue('falsch');
    await wrapper.get('form').trigger('submit');
    await flushPromises();

    expect(wrapper.get('[data-testid="login-error"]').text()).toContain('10 Minute');
  });

  it('lists the devices to sign out when the device limit is reached', async () => {
    api.login.mockRejectedValue(
      new ApiError('DEVICE_LIMIT_REACHED', 'limit', 409, {
        limitToken: 'l',
        devices: ['a', 'b', 'c'].map((id) => ({
          id,
          name: `Phone ${id}`,
          userAgent: null,
          createdAt: '2025-01-01T00:00:00.000Z',
          lastSeenAt: null,
          lastIp: null,
          current: false,
        })),
      }),
    );
    const wrapper = mountSignIn();
    await wrapper.get('[data-testid="login-email"]').setValue('anna@example.org');
    await wrapper.get('[data-testid="login-password"]').setValue('pw');
    await wrapper.get('form').trigger('submit');
    await flushPromises();

    const rows = wrapper.findAll('[data-testid="device-limit-row"]');
    expect(rows.map((row) => row.find('strong').text())).toEqual(['Phone a', 'Phone b', 'Phone c']);
    expect(wrapper.findAll('[data-testid="device-limit-revoke"]')).toHaveLength(3);
  });
});
