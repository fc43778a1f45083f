import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startDemo, type DemoSite } from '../support/demo.ts';

/**
 * Issue 4, channel management in the browser: the dispatcher creates a channel on the
 * push-to-talk page for a unit (its sub-units included), a member of a sub-unit gets it
 * in their list while a member of another unit does not; a talk time out of range is
 * refused with a message; editing changes what members see; archiving takes it away.
 */
let site: DemoSite;

beforeAll(async () => {
  site = await startDemo({
    chromiumArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
    env: { SFU_WORKERS: '1', SFU_RTC_PORT: '0', SFU_LISTEN_IP: '127.0.0.1' },
  });
});
afterAll(async () => site?.close());

const CONTEXT = { viewport: { width: 1100, height: 900 }, permissions: ['microphone'] };

async function openPtt(local: string): Promise<Page> {
  const page = await site.open('en-US', CONTEXT);
  await site.signIn(page, local);
  await page.getByTestId('nav-ptt').click();
  await page.getByTestId('ptt-channels').waitFor();
  return page;
}

const channelNames = (page: Page) =>
  page
    .getByTestId('ptt-channel')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-channel-name')));

describe('managing push-to-talk channels', () => {
  it('creates, edits and archives a channel, and members see the change', async () => {
    const { page: dispatcher } = await site.dispatcher('en-US', CONTEXT);
    await dispatcher.getByTestId('nav-ptt').click();
    const admin = dispatcher.getByTestId('ptt-admin');
    await admin.waitFor();
    await expect.poll(() => admin.getByTestId('ptt-admin-empty').isVisible()).toBe(true);

    const max = await openPtt('member'); // Gruppe 1, below Löschzug 1
    const tim = await openPtt('tim.becker'); // Löschzug 2
    expect(await channelNames(max)).toEqual([]);

    // --- Create: a talk time out of range is refused before anything is sent.
    await admin.getByTestId('ptt-admin-new').click();
    await admin.getByTestId('ptt-admin-name').fill('LZ1 Funk');
    await admin.getByTestId('ptt-admin-priority').check();
    await admin.getByTestId('ptt-admin-max-talk').fill('2');
    await admin
      .getByTestId('ptt-admin-units')
      .locator('label', { hasText: 'Löschzug 1' })
      .locator('input')
      .check();
    await admin.getByTestId('ptt-admin-save').click();
    expect(await admin.getByTestId('ptt-admin-problem').innerText()).toContain('5 to 600');
    expect(await admin.getByTestId('ptt-admin-channel').count()).toBe(0);

    await admin.getByTestId('ptt-admin-max-talk').fill('45');
    await admin.getByTestId('ptt-admin-save').click();
    const row = admin.getByTestId('ptt-admin-channel').filter({ hasText: 'LZ1 Funk' });
    await row.waitFor();
    expect(await row.innerText()).toContain('Löschzug 1');
    expect(await row.innerText()).toContain('45 s');
    // The dispatcher's own channel list (dispatch may join every channel) follows at once.
    await expect.poll(() => channelNames(dispatcher)).toEqual(['LZ1 Funk']);

    // --- A member of a sub-unit gets it live; a member of another unit does not.
    await expect.poll(() => channelNames(max), { timeout: 10_000 }).toEqual(['LZ1 Funk']);
    expect(await max.getByTestId('ptt-channel-priority').count()).toBe(1);
    expect(await channelNames(tim)).toEqual([]);

    // --- Edit: rename, add Tim by name.
    await admin.getByTestId('ptt-admin-edit-LZ1 Funk').click();
    await admin.getByTestId('ptt-admin-name').fill('Einsatzfunk');
    await admin
      .getByTestId('ptt-admin-users')
      .locator('label', { hasText: 'Tim Becker' })
      .locator('input')
      .check();
    await admin.getByTestId('ptt-admin-save').click();
    await admin.getByTestId('ptt-admin-editor').waitFor({ state: 'detached' });
    await expect.poll(() => channelNames(tim), { timeout: 10_000 }).toEqual(['Einsatzfunk']);
    await expect.poll(() => channelNames(max), { timeout: 10_000 }).toEqual(['Einsatzfunk']);

    // --- Archive: it leaves every member's list, stays listed for dispatch when asked.
    await admin.getByTestId('ptt-admin-archive-Einsatzfunk').click();
    await expect.poll(() => admin.getByTestId('ptt-admin-channel').count()).toBe(0);
    await expect.poll(() => channelNames(max), { timeout: 10_000 }).toEqual([]);
    await expect.poll(() => channelNames(tim), { timeout: 10_000 }).toEqual([]);
    await admin.getByTestId('ptt-admin-show-archived').check();
    const archived = admin.getByTestId('ptt-admin-channel').filter({ hasText: 'Einsatzfunk' });
    await archived.waitFor();
    expect(await archived.getAttribute('data-archived')).toBe('true');

    // --- Delete, after the confirmation.
    await admin.getByTestId('ptt-admin-delete-Einsatzfunk').click();
    await admin.getByTestId('confirm-yes').click();
    await expect.poll(() => admin.getByTestId('ptt-admin-channel').count()).toBe(0);
    expect(await admin.getByTestId('ptt-admin-error').count()).toBe(0);
  });
});
