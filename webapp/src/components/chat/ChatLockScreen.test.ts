import { beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { createAppI18n } from '../../i18n/index.ts';
import type { PrfCredentials } from '../../chat/passkey-prf.ts';
import { MemoryKv } from '../../chat/secure-store.ts';
import { useChatLockStore } from '../../stores/chat-lock.ts';
import ChatLockScreen from './ChatLockScreen.vue';

beforeEach(() => {
  setActivePinia(createPinia());
});

/** One credential with a fixed PRF secret is all the screen needs. */
function fixedPasskeys(state = { cancel: false }): PrfCredentials {
  return {
    available: () => true,
    create: async () => ({ id: new Uint8Array([1]), enabled: true, first: null }),
    evaluate: async () => {
      if (state.cancel) throw new DOMException('cancelled', 'NotAllowedError');
      return new Uint8Array(32).fill(42);
    },
    forget: () => undefined,
  };
}

async function mountLock(kv = new MemoryKv(), passkeys = fixedPasskeys()) {
  const store = useChatLockStore();
  await store.init({ kv, iterations: 1000, passkeys });
  const wrapper = mount(ChatLockScreen, { global: { plugins: [createAppI18n('en')] } });
  return { store, wrapper, kv };
}

async function typeOnKeypad(
  wrapper: Awaited<ReturnType<typeof mountLock>>['wrapper'],
  pin: string,
) {
  for (const digit of pin)
    await wrapper.get(`[data-test="lock-pin-key-${digit}"]`).trigger('click');
  await wrapper.get('[data-test="lock-pin-ok"]').trigger('click');
}

describe('ChatLockScreen', () => {
  it('sets the PIN on the keypad, asking for it twice', async () => {
    const { store, wrapper } = await mountLock();
    expect(wrapper.text()).toContain('Choose a chat PIN');
    expect(wrapper.get('[data-test="lock-pin-ok"]').attributes('disabled')).toBeDefined();

    await typeOnKeypad(wrapper, '246810');
    expect(wrapper.text()).toContain('Enter the PIN again');
    await typeOnKeypad(wrapper, '246810');

    await vi.waitFor(() => expect(store.status).toBe('unlocked'));
    expect(wrapper.emitted('unlocked')).toHaveLength(1);
  });

  it('starts over when the confirmation differs', async () => {
    const { store, wrapper } = await mountLock();
    await typeOnKeypad(wrapper, '246810');
    await typeOnKeypad(wrapper, '246811');
    expect(wrapper.text()).toContain('The two PINs were different');
    expect(wrapper.text()).toContain('Choose a chat PIN');
    expect(store.status).toBe('no-pin');
  });

  it('unlocks with the typed PIN and says how many tries are left after a wrong one', async () => {
    const kv = new MemoryKv();
    const first = await mountLock(kv);
    await first.store.setPin('13572468');
    first.store.lock();
    first.wrapper.unmount();
    setActivePinia(createPinia());

    const { store, wrapper } = await mountLock(kv);
    expect(wrapper.text()).toContain('Chat locked');
    await wrapper.get('[data-test="lock-pin-input"]').setValue('99999999');
    await wrapper.get('[data-test="lock-pin-ok"]').trigger('click');
    await vi.waitFor(() => expect(store.error).toBe('CHAT_LOCK_WRONG_PIN'));
    await flushPromises();
    expect(wrapper.get('[data-test="lock-error"]').text()).toContain('4 more tries');

    await typeOnKeypad(wrapper, '13572468');
    await vi.waitFor(() => expect(store.status).toBe('unlocked'));
  });

  it('erases the chat data after "forgot PIN" is confirmed', async () => {
    const kv = new MemoryKv();
    const { store, wrapper } = await mountLock(kv);
    await store.setPin('13572468');
    store.lock();
    await flushPromises();

    await wrapper.get('[data-test="lock-forgot"]').trigger('click');
    expect(wrapper.text()).toContain('cannot be recovered');
    await wrapper.get('[data-test="lock-erase-confirm"]').trigger('click');
    await vi.waitFor(() => expect(store.status).toBe('no-pin'));
    expect(kv.data.size).toBe(0);
  });

  it('unlocks with the passkey button; when that fails, says so and the PIN still works', async () => {
    const device = { cancel: false };
    const { store, wrapper } = await mountLock(new MemoryKv(), fixedPasskeys(device));
    await store.setPin('13572468');
    expect(await store.enablePasskey('13572468')).toBe(true);
    store.lock();
    await flushPromises();

    await wrapper.get('[data-test="lock-passkey"]').trigger('click');
    await vi.waitFor(() => expect(store.status).toBe('unlocked'));
    expect(wrapper.emitted('unlocked')).toHaveLength(1);

    store.lock();
    await flushPromises();
    device.cancel = true;
    await wrapper.get('[data-test="lock-passkey"]').trigger('click');
    await vi.waitFor(() => expect(store.error).toBe('CHAT_LOCK_PASSKEY_FAILED'));
    await flushPromises();
    expect(wrapper.get('[data-test="lock-error"]').text()).toContain('enter your PIN');
    await typeOnKeypad(wrapper, '13572468');
    await vi.waitFor(() => expect(store.status).toBe('unlocked'));
  });

  it('shows no passkey button while passkey unlock is not set up', async () => {
    const kv = new MemoryKv();
    const { store, wrapper } = await mountLock(kv);
    await store.setPin('13572468');
    store.lock();
    await flushPromises();
    expect(wrapper.find('[data-test="lock-passkey"]').exists()).toBe(false);
    expect(wrapper.text()).toContain('Enter your chat PIN');
  });
});
