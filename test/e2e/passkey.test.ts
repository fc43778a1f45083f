import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';

/**
 * Passkeys in the real browser: Chromium's virtual authenticator (DevTools protocol)
 * stands in for a phone or security key and speaks real WebAuthn to the server.
 */
let server: RunningServer;
let browser: Browser;
let demoPassword: string;

beforeAll(async () => {
  server = await startServer({ env: { DEMO_DATA: 'true' }, hostname: 'localhost' });
  demoPassword = /Password for all of them:\s*(\S+)/.exec(server.stdout())![1]!;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('passkeys', () => {
  it('a member adds a passkey and then signs in with it, without a password', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    await page.goto(server.url);
    await page.getByTestId('login-email').fill('member@musterstadt.example');
    await page.getByTestId('login-password').fill(demoPassword);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-security').click();
    await page.getByTestId('passkey-name').fill('Virtual key');
    await page.getByTestId('passkey-add').click();
    await expect.poll(() => page.getByTestId('passkey-row').count()).toBe(1);
    expect(await page.getByTestId('passkey-row').innerText()).toContain('Virtual key');

    await page.getByTestId('sign-out').click();
    await page.getByTestId('login-passkey').click();
    await page.getByTestId('sign-out').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('user-name').innerText()).toMatch(/\S/);

    // The server recorded a passkey sign-in for this member.
    const [rows] = await server.database.database.pool.query(
      "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'auth.login_succeeded' AND JSON_VALUE(details, '$.method') = 'passkey'",
    );
    expect(Number((rows as Array<{ n: number }>)[0]!.n)).toBe(1);
  });
});
