import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, totp } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';

/**
 * Must show 2 of the foundation: an admin signs in with TOTP, creates a user; that user
 * signs in in a second browser context; revoking the second context's device signs it
 * out at once and its local data is erased.
 */
let server: RunningServer;
let browser: Browser;
let demoPassword: string;

beforeAll(async () => {
  server = await startServer({ env: { NODE_ENV: 'development', DEMO_DATA: 'true' } });
  const match = /Password for all of them:\s*(\S+)/.exec(server.stdout());
  if (!match?.[1]) throw new Error(`no demo password in server output:\n${server.stdout()}`);
  demoPassword = match[1];
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page: Page, email: string, password: string) {
  await page.goto(server.url);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

/** A TOTP code for the next time step: accepted (±1 step) and never the one used just before. */
function nextCode(secret: string): string {
  return totp(secret, Date.now() + 30_000);
}

describe('admin, new user and remote wipe in two browser contexts', () => {
  it('works end to end', async () => {
    // --- Context 1: the admin enrols TOTP at first sign-in, then signs in with it.
    const adminContext = await browser.newContext({ locale: 'en-US' });
    const admin = await adminContext.newPage();
    await signIn(admin, 'admin@musterstadt.example', demoPassword);
    const secret = (await admin.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await admin.getByTestId('totp-code').fill(totp(secret));
    await admin.getByTestId('totp-confirm').click();
    await expect
      .poll(async () => (await admin.getByTestId('recovery-codes').innerText()).length)
      .toBeGreaterThan(20);
    await admin.getByTestId('recovery-saved').click();
    await admin.getByTestId('sign-out').click();

    await signIn(admin, 'admin@musterstadt.example', demoPassword);
    await admin.getByTestId('mfa-code').fill(nextCode(secret));
    await admin.getByTestId('mfa-submit').click();

    // --- The admin creates a member and copies the invitation link.
    await admin.getByTestId('nav-users').click();
    await admin.getByTestId('user-create-email').fill('new.member@musterstadt.example');
    await admin.getByTestId('user-create-name').fill('Neu Mitglied');
    await admin.getByTestId('user-create-role').selectOption('member');
    await admin.getByTestId('user-create-submit').click();
    const inviteUrl = (await admin.getByTestId('invite-url').innerText()).trim();
    expect(inviteUrl).toContain('/link/');

    // --- Context 2: the new user accepts the invitation and signs in.
    const memberContext = await browser.newContext({ locale: 'de-DE' });
    const member = await memberContext.newPage();
    await member.goto(inviteUrl);
    await member.getByTestId('link-password').fill('ein-sicheres-passwort');
    await member.getByTestId('link-submit').click();
    await signIn(member, 'new.member@musterstadt.example', 'ein-sicheres-passwort');
    await member.getByTestId('sign-out').waitFor();
    // Something of the app's own in IndexedDB too, so the wipe has more than tokens to erase.
    await member.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open('trupp-test-cache', 1);
          open.onupgradeneeded = () => open.result.createObjectStore('items');
          open.onsuccess = () => {
            open.result.close();
            resolve();
          };
          open.onerror = () => reject(open.error);
        }),
    );
    expect(await member.evaluate(() => localStorage.length)).toBeGreaterThan(0);

    // --- The admin revokes the member's device (remote wipe).
    await admin.getByTestId('nav-devices').click();
    const row = admin.getByTestId('device-row').filter({ hasText: 'Neu Mitglied' });
    await row.getByTestId('device-revoke').click();
    const confirm = admin.getByTestId('confirm-yes');
    if (await confirm.isVisible().catch(() => false)) await confirm.click();

    // --- Context 2 is signed out at once and its local data is gone.
    await member.getByTestId('wiped-notice').waitFor({ timeout: 10_000 });
    expect(await member.evaluate(() => localStorage.length)).toBe(0);
    expect(await member.evaluate(() => sessionStorage.length)).toBe(0);
    const databases = await member.evaluate(async () =>
      (await indexedDB.databases()).map((d) => d.name),
    );
    expect(databases).not.toContain('trupp-test-cache');

    // A reload stays signed out: nothing to sign in with.
    await member.reload();
    await member.getByTestId('login-email').waitFor();
  });
});
