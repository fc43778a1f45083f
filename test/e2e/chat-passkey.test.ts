import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';

/**
 * Unlocking the chat with a passkey in real Chromium: a virtual authenticator with the
 * PRF extension (DevTools protocol) stands in for the fingerprint sensor. A member sets
 * the chat PIN, switches passkey unlock on on the security page, reloads (which drops the
 * key from memory) and opens the chat with the passkey alone. An authenticator without
 * PRF is refused with a message, and the PIN stays the only way in.
 */
let server: RunningServer;
let browser: Browser;
let demoPassword: string;
/** Browser console errors, printed when a test fails. */
const logs: string[] = [];
const PIN = '864209';

beforeAll(async () => {
  // WebAuthn needs a domain, not an IP address.
  server = await startServer({ env: { DEMO_DATA: 'true' }, hostname: 'localhost' });
  demoPassword = /Password for all of them:\s*(\S+)/.exec(server.stdout())![1]!;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const byTest = (page: Page, name: string) => page.locator(`[data-test="${name}"]`);

/** A new context with a virtual platform authenticator; PRF on or off. */
async function openWithAuthenticator(hasPrf: boolean) {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') logs.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      hasPrf,
    },
  });
  const credentials = async () =>
    (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  return { page, credentials };
}

/** Signs in, opens the chat and sets the PIN; resolves once the chat list is ready. */
async function signInWithChatPin(page: Page, local: string): Promise<void> {
  await page.goto(server.url);
  await page.getByTestId('login-email').fill(`${local}@musterstadt.example`);
  await page.getByTestId('login-password').fill(demoPassword);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-chat').click();
  const pin = byTest(page, 'lock-pin-input');
  await expect.poll(() => byTest(page, 'lock-screen').getAttribute('data-mode')).toBe('set');
  await pin.fill(PIN);
  await pin.press('Enter');
  await expect.poll(() => byTest(page, 'lock-screen').getAttribute('data-mode')).toBe('confirm');
  await pin.fill(PIN);
  await pin.press('Enter');
  await expectChatList(page);
}

async function expectChatList(page: Page): Promise<void> {
  await expect
    .poll(() => byTest(page, 'chat-list').getAttribute('data-status'), { timeout: 30_000 })
    .toBe('ready');
}

async function switchOnPasskeyUnlock(page: Page): Promise<void> {
  await page.getByTestId('nav-security').click();
  await page.getByTestId('chat-passkey-setup').click();
  await page.getByTestId('chat-passkey-pin').fill(PIN);
  await page.getByTestId('chat-passkey-confirm').click();
}

/** The names of the chat's IndexedDB records, read in the page. */
function storedRecordNames(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('trupp-chat');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction('kv').objectStore('kv').getAllKeys();
          request.onerror = () => reject(request.error);
          request.onsuccess = () => {
            open.result.close();
            resolve(request.result.map(String));
          };
        };
      }),
  );
}

describe('chat passkey unlock', () => {
  it('opens the chat with the passkey after a reload, without the PIN', async () => {
    onTestFailed(() => console.error(logs.join('\n')));
    const { page, credentials } = await openWithAuthenticator(true);
    await signInWithChatPin(page, 'member');

    await switchOnPasskeyUnlock(page);
    await page.getByTestId('chat-passkey-added').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('chat-passkey-status').getAttribute('data-state')).toBe('on');
    // A credential of its own on the authenticator, and a second wrapped key beside the PIN's.
    expect(await credentials()).toHaveLength(1);
    expect(await storedRecordNames(page)).toEqual(
      expect.arrayContaining(['lock:key', 'lock:passkey']),
    );

    await page.reload();
    await page.getByTestId('nav-chat').click();
    await expect.poll(() => byTest(page, 'lock-screen').getAttribute('data-mode')).toBe('unlock');
    await byTest(page, 'lock-passkey').click();
    await expectChatList(page);

    // Switching it off leaves the PIN: after the next reload there is no passkey button.
    await page.getByTestId('nav-security').click();
    await page.getByTestId('chat-passkey-remove').click();
    await expect
      .poll(() => page.getByTestId('chat-passkey-status').getAttribute('data-state'))
      .toBe('off');
    expect(await storedRecordNames(page)).not.toContain('lock:passkey');
    await page.reload();
    await page.getByTestId('nav-chat').click();
    await expect.poll(() => byTest(page, 'lock-screen').getAttribute('data-mode')).toBe('unlock');
    expect(await byTest(page, 'lock-passkey').count()).toBe(0);
    const pin = byTest(page, 'lock-pin-input');
    await pin.fill(PIN);
    await pin.press('Enter');
    await expectChatList(page);
  });

  it('says so when the authenticator has no PRF, and keeps the PIN only', async () => {
    onTestFailed(() => console.error(logs.join('\n')));
    const { page } = await openWithAuthenticator(false);
    await signInWithChatPin(page, 'jonas.weber');

    await switchOnPasskeyUnlock(page);
    await page.getByTestId('chat-passkey-error').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('chat-passkey-error').innerText()).toContain(
      'does not support it',
    );
    expect(await page.getByTestId('chat-passkey-status').getAttribute('data-state')).toBe('off');
    expect(await storedRecordNames(page)).not.toContain('lock:passkey');
  });
});
