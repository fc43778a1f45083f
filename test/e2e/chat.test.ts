import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { startDemo, type DemoSite } from '../support/demo.ts';
import { repoRoot } from '../support/server.ts';

/**
 * The end-to-end encrypted chat in real Chromium against the real backend: two members in
 * two browser contexts set their chat PIN, Max starts a group with Jonas, and they
 * exchange a text, a photo marked up in the editor and a held-down voice message (fake
 * microphone). Both sides see all three decrypted.
 *
 * Then the server side: every `chat_*` table of the test database and every stored blob
 * file is searched for the text, the photo's file name, the caption and the voice file
 * name. None may be there — the server is a delivery service for ciphertext — and no
 * blob may start like a PNG, JPEG, WebM or Ogg file.
 *
 * Last, Jonas reloads away from the chat (now locked): a new message from Max shows as an
 * unread badge on his "Chat" entry, and after Max renames the group Jonas finds it under
 * the new name.
 */
let site: DemoSite;
/** Browser console errors and warnings, printed when the test fails. */
const logs: string[] = [];

const FAKE_MEDIA = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];
const CONTEXT: BrowserContextOptions = {
  viewport: { width: 1100, height: 900 },
  permissions: ['microphone'],
};
const PIN = '246813';
const TEXT = 'Sammelpunkt Hydrant Lindenweg 7391';
const PHOTO_NAME = 'lageplan-kellerzugang-8426.png';
const CAPTION = 'Gasabsperrung hinter der Treppe 5172';
const GROUP = 'Erkundung Zug 3';
const RENAMED = 'Erkundung Zug 3 Nord';
const LATER = 'Nachschub an der Drehleiter 6604';

beforeAll(async () => {
  site = await startDemo({ chromiumArgs: FAKE_MEDIA });
});
afterAll(async () => site?.close());

const byTest = (page: Page, name: string) => page.locator(`[data-test="${name}"]`);

/** A 320×240 PNG with a colour gradient: something the editor can decode and mark. */
function photoPng(): Buffer {
  const png = new PNG({ width: 320, height: 240 });
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (png.width * y + x) << 2;
      png.data[i] = (x * 255) / png.width;
      png.data[i + 1] = (y * 255) / png.height;
      png.data[i + 2] = 160;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

function session(page: Page): Promise<{ userId: string; tenantId: string }> {
  return page.evaluate(() => {
    const stored = JSON.parse(localStorage.getItem('trupp.session')!) as {
      user: { id: string; tenantId: string };
    };
    return { userId: stored.user.id, tenantId: stored.user.tenantId };
  });
}

/** Signs in, opens the chat and sets the PIN (typed twice); resolves once the engine runs. */
async function openChat(local: string): Promise<Page> {
  const page = await site.open('en-US', CONTEXT);
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      logs.push(`${local} ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => logs.push(`${local} pageerror: ${error.message}`));
  await site.signIn(page, local);
  await page.getByTestId('nav-chat').click();
  const pin = byTest(page, 'lock-pin-input');
  await expect.poll(() => byTest(page, 'lock-screen').getAttribute('data-mode')).toBe('set');
  await pin.fill(PIN);
  await pin.press('Enter');
  await expect.poll(() => byTest(page, 'lock-screen').getAttribute('data-mode')).toBe('confirm');
  await pin.fill(PIN);
  await pin.press('Enter');
  await expect
    .poll(() => byTest(page, 'chat-list').getAttribute('data-status'), { timeout: 30_000 })
    .toBe('ready');
  return page;
}

async function waitReady(page: Page): Promise<void> {
  await expect
    .poll(() => byTest(page, 'chat-conversation').getAttribute('data-ready'), { timeout: 30_000 })
    .toBe('true');
}

/** The decrypted photo: an <img> from an object URL that the browser decoded. */
function imageWidth(page: Page): Promise<number> {
  return page.evaluate(() => {
    const img = document.querySelector<HTMLImageElement>('img[data-test="chat-image"]');
    return img?.complete ? img.naturalWidth : 0;
  });
}

async function voiceOn(page: Page): Promise<{ durationMs: number; name: string; time: string }> {
  const message = byTest(page, 'chat-voice-message');
  await byTest(page, 'chat-voice-player').waitFor({ timeout: 20_000 });
  return {
    durationMs: Number(await message.getAttribute('data-duration-ms')),
    name: (await message.getAttribute('data-name')) ?? '',
    time: (await byTest(page, 'chat-voice-time').innerText()).trim(),
  };
}

/** Every value of every `chat_*` table, as bytes (binary columns raw, text as UTF-8). */
async function dumpChatTables(
  url: string,
): Promise<{ bytes: Buffer; rows: Record<string, number> }> {
  const conn = await mysql.createConnection({ uri: url });
  try {
    const [tables] = await conn.query<mysql.RowDataPacket[]>("SHOW TABLES LIKE 'chat\\_%'");
    const parts: Buffer[] = [];
    const rows: Record<string, number> = {};
    for (const table of tables.map((row) => String(Object.values(row)[0]))) {
      const [data] = await conn.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table}\``);
      rows[table] = data.length;
      for (const row of data) {
        for (const value of Object.values(row)) {
          if (value === null || value === undefined) continue;
          parts.push(
            Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8'),
            Buffer.from('\n'),
          );
        }
      }
    }
    return { bytes: Buffer.concat(parts), rows };
  } finally {
    await conn.end();
  }
}

describe('end-to-end encrypted chat in the browser', () => {
  it('exchanges text, an annotated photo and a voice message that the server cannot read', async () => {
    const pages: Page[] = [];
    onTestFailed(async () => {
      const screens = await Promise.all(
        pages.map((page) => page.evaluate(() => document.body.innerText).catch(() => '?')),
      );
      console.error(
        `browser console:\n${logs.join('\n')}\n\nscreens:\n${screens.join('\n----\n')}`,
      );
    });
    const jonas = await openChat('jonas.weber');
    const max = await openChat('member');
    pages.push(jonas, max);
    const jonasId = (await session(jonas)).userId;
    const { tenantId } = await session(max);

    // Max starts a group with Jonas.
    await byTest(max, 'chat-new').click();
    await byTest(max, 'chat-kind-group').click();
    await byTest(max, 'chat-group-name').fill(GROUP);
    await byTest(max, `chat-person-${jonasId}`).click();
    await byTest(max, 'chat-create').click();
    await waitReady(max);
    await expect.poll(() => byTest(max, 'chat-title').innerText()).toBe(GROUP);

    // Jonas sees it in his list (pushed) and opens it once his device is in the group.
    const entry = jonas.locator('[data-test^="chat-conversation-"]');
    await entry.waitFor({ timeout: 30_000 });
    await expect.poll(() => entry.innerText()).toContain(GROUP);
    await entry.click();
    await waitReady(jonas);

    // (a) text, Max → Jonas
    await byTest(max, 'chat-input').fill(TEXT);
    await byTest(max, 'chat-send').click();
    for (const page of [max, jonas]) {
      await expect
        .poll(() => byTest(page, 'chat-text').allInnerTexts(), { timeout: 20_000 })
        .toContain(TEXT);
    }
    await expect
      .poll(() => byTest(max, 'chat-message').first().getAttribute('data-own'))
      .toBe('true');
    await expect
      .poll(() => byTest(jonas, 'chat-message').first().getAttribute('data-own'))
      .toBe('false');

    // (b) photo with an arrow drawn on it and a caption, Jonas → Max
    await byTest(jonas, 'chat-photo-input').setInputFiles({
      name: PHOTO_NAME,
      mimeType: 'image/png',
      buffer: photoPng(),
    });
    const canvas = byTest(jonas, 'annotate-canvas');
    await canvas.waitFor();
    await expect.poll(() => jonas.getByText('Loading the photo').count()).toBe(0);
    await byTest(jonas, 'annotate-arrow').click();
    const box = (await canvas.boundingBox())!;
    await jonas.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
    await jonas.mouse.down();
    for (let step = 1; step <= 10; step++) {
      await jonas.mouse.move(
        box.x + box.width * (0.3 + step * 0.03),
        box.y + box.height * (0.6 - step * 0.02),
      );
    }
    await jonas.mouse.up();
    await expect.poll(() => byTest(jonas, 'annotate-undo').isEnabled()).toBe(true);
    await byTest(jonas, 'chat-caption-input').fill(CAPTION);
    await byTest(jonas, 'annotate-send').click();
    await byTest(jonas, 'chat-photo-editor').waitFor({ state: 'detached', timeout: 20_000 });
    for (const page of [jonas, max]) {
      await expect.poll(() => imageWidth(page), { timeout: 20_000 }).toBeGreaterThan(0);
      await expect
        .poll(() => byTest(page, 'chat-caption').allInnerTexts(), { timeout: 20_000 })
        .toContain(CAPTION);
    }

    // (c) voice message, Max holds the button for 1.5 s
    const mic = byTest(max, 'chat-voice');
    const micBox = (await mic.boundingBox())!;
    await max.mouse.move(micBox.x + micBox.width / 2, micBox.y + micBox.height / 2);
    await max.mouse.down();
    await expect.poll(() => mic.getAttribute('data-state'), { timeout: 10_000 }).toBe('recording');
    await max.waitForTimeout(1500);
    await max.mouse.up();
    const sent = await voiceOn(max);
    const received = await voiceOn(jonas);
    for (const voice of [sent, received]) {
      expect(voice.durationMs).toBeGreaterThan(1000);
      expect(voice.time).not.toBe('0:00');
    }
    expect(received.name).toBe(sent.name);
    expect(sent.name).toMatch(/^voice-/);

    // Must show 2: the server holds only ciphertext.
    const { bytes: tables, rows } = await dumpChatTables(site.server.database.url);
    expect(rows.chat_messages).toBeGreaterThanOrEqual(4);
    expect(rows.chat_blobs).toBe(2);
    const blobDir = join(repoRoot, '.data/test/chat-blobs', tenantId);
    const blobFiles = await readdir(blobDir);
    expect(blobFiles).toHaveLength(2);
    const blobs = await Promise.all(blobFiles.map((name) => readFile(join(blobDir, name))));

    const secrets = [TEXT, PHOTO_NAME, PHOTO_NAME.replace(/\.png$/, ''), CAPTION, sent.name];
    for (const secret of secrets) {
      const needle = Buffer.from(secret, 'utf8');
      expect(tables.includes(needle), `"${secret}" in the chat tables`).toBe(false);
      for (const blob of blobs) expect(blob.includes(needle), `"${secret}" in a blob`).toBe(false);
    }
    const magic: Record<string, number[]> = {
      png: [0x89, 0x50, 0x4e, 0x47],
      jpeg: [0xff, 0xd8, 0xff],
      webm: [0x1a, 0x45, 0xdf, 0xa3],
      ogg: [0x4f, 0x67, 0x67, 0x53],
    };
    for (const blob of blobs) {
      for (const [kind, head] of Object.entries(magic)) {
        expect(blob.subarray(0, head.length).equals(Buffer.from(head)), `blob is ${kind}`).toBe(
          false,
        );
      }
    }

    // Jonas reloads on the overview: the chat is locked, the nav still counts what is new.
    await jonas.getByTestId('nav-home').click();
    await jonas.reload();
    const jonasChat = jonas.getByTestId('nav-chat');
    await jonasChat.waitFor();
    await byTest(max, 'chat-input').fill(LATER);
    await byTest(max, 'chat-send').click();
    const badge = jonas.getByTestId('nav-chat-unread');
    await expect.poll(() => badge.isVisible(), { timeout: 20_000 }).toBe(true);
    expect(await badge.innerText()).toBe('1');
    expect(await jonasChat.getAttribute('aria-label')).toBe('Chat, 1 unread');

    // Max renames the group; Jonas finds it under the new name once he unlocks.
    await byTest(max, 'chat-members-toggle').click();
    await byTest(max, 'chat-rename-input').fill(RENAMED);
    await byTest(max, 'chat-rename-save').click();
    await expect.poll(() => byTest(max, 'chat-title').innerText()).toBe(RENAMED);
    await jonasChat.click();
    await expect.poll(() => byTest(jonas, 'lock-screen').getAttribute('data-mode')).toBe('unlock');
    await byTest(jonas, 'lock-pin-input').fill(PIN);
    await byTest(jonas, 'lock-pin-input').press('Enter');
    await expect.poll(() => entry.innerText(), { timeout: 20_000 }).toContain(RENAMED);
    await entry.click();
    await expect.poll(() => byTest(jonas, 'chat-title').innerText()).toBe(RENAMED);
    await expect
      .poll(() => byTest(jonas, 'chat-text').allInnerTexts(), { timeout: 20_000 })
      .toContain(LATER);
    await expect.poll(() => badge.count()).toBe(0);
  });
});
