import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { startDemo, type DemoSite } from '../support/demo.ts';

/**
 * Must show 1 of the push-to-talk issue, in real Chromium with fake microphones against a
 * real backend and mediasoup worker: A holds the button → B's receiving track carries
 * audio (WebRTC's own inbound-rtp bytes and audio level rise); B's press while A talks is
 * not heard and B sees "busy, Max is talking"; the dispatcher breaks in and A sees
 * "pre-empted"; a member who opens the channel during the transmission hears it at once.
 * Then an emergency call reaches dispatch with an acknowledge button, and dispatch plays
 * back the recording of Max's transmission.
 *
 * The test reads WebRTC statistics itself: an init script records every
 * RTCPeerConnection the page creates, and `getStats()` on those is what the browser really
 * receives, independent of what the app displays.
 */
let site: DemoSite;

const FAKE_MEDIA = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];
const CONTEXT: BrowserContextOptions = {
  viewport: { width: 1100, height: 900 },
  permissions: ['microphone'],
};

beforeAll(async () => {
  site = await startDemo({
    chromiumArgs: FAKE_MEDIA,
    // One worker on ports of its own, on loopback, so parallel runs do not collide.
    env: { SFU_WORKERS: '1', SFU_RTC_PORT: '0', SFU_LISTEN_IP: '127.0.0.1' },
  });
});
afterAll(async () => site?.close());

function recordPeerConnections(): void {
  const w = window as unknown as { __pcs: RTCPeerConnection[] };
  w.__pcs = [];
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
      super(...args);
      w.__pcs.push(this);
    }
  } as typeof RTCPeerConnection;
}

interface Inbound {
  bytes: number;
  packets: number;
  /** Highest inbound-rtp audioLevel (0…1) over the audio receivers. */
  level: number;
  energy: number;
}

/** What the page's WebRTC stack receives, summed over its open peer connections. */
function inbound(page: Page): Promise<Inbound> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const total = { bytes: 0, packets: 0, level: 0, energy: 0 };
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      const report = await pc.getStats();
      report.forEach((s: Record<string, unknown>) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
        total.bytes += Number(s.bytesReceived ?? 0);
        total.packets += Number(s.packetsReceived ?? 0);
        total.level = Math.max(total.level, Number(s.audioLevel ?? 0));
        total.energy += Number(s.totalAudioEnergy ?? 0);
      });
    }
    return total;
  });
}

/** Waits until the page receives audio: bytes rise and the level is above zero. */
async function expectHearing(page: Page, timeout = 10_000): Promise<Inbound> {
  const before = await inbound(page);
  const deadline = Date.now() + timeout;
  let last = before;
  while (Date.now() < deadline) {
    last = await inbound(page);
    if (last.bytes > before.bytes + 1000 && last.level > 0) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`no audio: before ${JSON.stringify(before)}, now ${JSON.stringify(last)}`);
}

/**
 * In-page timing of the next press: from the pointerdown to the panel showing "talking"
 * (the grant round trip and the render), measured on the page's own clock.
 */
async function timeNextPress(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const w = window as unknown as { __press: number | null; __talking: number | null };
    w.__press = null;
    w.__talking = null;
    document.addEventListener('pointerdown', () => (w.__press ??= performance.now()), {
      capture: true,
      once: true,
    });
    const el = document.querySelector<HTMLElement>('[data-testid="ptt-panel"]')!;
    new MutationObserver(() => {
      if (el.dataset.state === 'talking') w.__talking ??= performance.now();
    }).observe(el, { attributes: true, attributeFilter: ['data-state'] });
  });
  return () =>
    page.evaluate(() => {
      const w = window as unknown as { __press: number; __talking: number };
      return Math.round(w.__talking - w.__press);
    });
}

/**
 * In-page timing of opening the push-to-talk page during a transmission: from the click,
 * and from the page showing (its code loaded), to the first received audio byte (polled
 * every 10 ms).
 */
async function timeOpenToAudio(
  page: Page,
): Promise<() => Promise<{ fromClick: number; fromPage: number }>> {
  await page.evaluate(() => {
    const w = window as unknown as {
      __pcs: RTCPeerConnection[];
      __click: number | null;
      __shown: number | null;
      __audio: number | null;
    };
    w.__click = null;
    w.__shown = null;
    w.__audio = null;
    const shown = new MutationObserver(() => {
      if (document.querySelector('[data-testid="ptt-channels"]')) {
        w.__shown ??= performance.now();
        shown.disconnect();
      }
    });
    shown.observe(document.body, { childList: true, subtree: true });
    document.addEventListener('click', () => (w.__click ??= performance.now()), {
      capture: true,
      once: true,
    });
    const poll = async (): Promise<void> => {
      for (const pc of w.__pcs) {
        const report = await pc.getStats();
        report.forEach((s: Record<string, unknown>) => {
          if (s.type === 'inbound-rtp' && Number(s.bytesReceived ?? 0) > 0) {
            w.__audio ??= performance.now();
          }
        });
      }
      if (w.__audio === null) setTimeout(() => void poll(), 10);
    };
    void poll();
  });
  return () =>
    page.evaluate(() => {
      const w = window as unknown as { __click: number; __shown: number; __audio: number };
      return {
        fromClick: Math.round(w.__audio - w.__click),
        fromPage: Math.round(w.__audio - w.__shown),
      };
    });
}

const panel = (page: Page) => page.getByTestId('ptt-panel');
const stateOf = (page: Page) => panel(page).getAttribute('data-state');
const talkerOf = (page: Page) => panel(page).getAttribute('data-talker');

/** Signs in, with WebRTC recorded, and opens the push-to-talk page. */
async function openPtt(local: string): Promise<Page> {
  const page = await site.open('en-US', CONTEXT);
  await page.addInitScript(recordPeerConnections);
  await site.signIn(page, local);
  await page.getByTestId('nav-ptt').click();
  await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('idle');
  return page;
}

/** Presses the big button with the mouse and keeps holding it. */
async function hold(page: Page): Promise<void> {
  const box = (await page.getByTestId('ptt-button').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
}

describe('push-to-talk in the browser', () => {
  it('carries A to B, refuses B, lets dispatch break in, and a late joiner hears at once', async () => {
    const { page: dispatcher, token } = await site.dispatcher('en-US', CONTEXT);
    await site.api(token, 'POST', '/api/ptt/channels', {
      name: 'Zug 1',
      recorded: true,
      members: { unitIds: [], roles: ['member'], userIds: [] },
      // Long enough that no turn runs out on a slow machine before the next step.
      maxTalkSeconds: 600,
    });

    const a = await openPtt('member'); // Max Mustermann
    const b = await openPtt('jonas.weber'); // Jonas Weber
    expect(await panel(a).getAttribute('data-channel-name')).toBe('Zug 1');

    // A holds: talking within a blink, B hears Max.
    const accessTime = await timeNextPress(a);
    await hold(a);
    await expect.poll(() => stateOf(a), { interval: 20 }).toBe('talking');
    const accessMs = await accessTime();
    // A gloved finger sliding off the button keeps talking (pointer capture).
    await a.mouse.move(5, 5);
    expect(await stateOf(a)).toBe('talking');

    await expect.poll(() => stateOf(b)).toBe('listening');
    expect(await talkerOf(b)).toBe('Max Mustermann');
    expect(await b.getByTestId('ptt-status').innerText()).toContain('Max Mustermann');
    const heard = await expectHearing(b);
    expect(heard.level).toBeGreaterThan(0);
    // The app's own measurement agrees: audio flows, and both level meters move (A's on
    // the microphone, B's on the received track; the fake microphone beeps).
    await expect.poll(() => panel(b).getAttribute('data-audio')).toBe('flowing');
    for (const page of [a, b]) {
      await expect
        .poll(async () => Number(await page.getByTestId('ptt-level').getAttribute('data-level')), {
          interval: 30,
        })
        .toBeGreaterThan(0.01);
    }
    await expect
      .poll(async () => Number(await panel(b).getAttribute('data-rx-bytes')))
      .toBeGreaterThan(0);

    // B presses while A talks: busy, listening to Max, and nobody hears B.
    const aBefore = await inbound(a);
    await hold(b);
    await expect.poll(() => stateOf(b)).toBe('busy');
    expect(await talkerOf(b)).toBe('Max Mustermann');
    expect(await b.getByTestId('ptt-status').innerText()).toMatch(
      /Busy: Max Mustermann is talking/,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const aDuring = await inbound(a);
    expect(aDuring.bytes).toBe(aBefore.bytes);
    expect(await stateOf(a)).toBe('talking');
    await b.mouse.up();
    await expect.poll(() => stateOf(b), { timeout: 8000 }).toBe('listening');

    // The dispatcher opens the channel during Max's turn and hears him at once.
    await dispatcher.addInitScript(recordPeerConnections);
    await dispatcher.goto(`${site.server.url}/ptt`);
    await expect.poll(() => stateOf(dispatcher), { timeout: 15_000 }).toBe('listening');
    await expectHearing(dispatcher);

    // The dispatcher breaks in with the space bar: A is pre-empted and told by whom.
    await dispatcher.locator('h1').click();
    await dispatcher.keyboard.down('Space');
    await expect.poll(() => stateOf(dispatcher)).toBe('talking');
    await expect.poll(() => stateOf(a)).toBe('preempted');
    expect(await talkerOf(a)).toBe('Dieter Schulz');
    expect(await a.getByTestId('ptt-status').innerText()).toContain(
      'You were interrupted by Dieter Schulz',
    );
    await expect.poll(() => talkerOf(b)).toBe('Dieter Schulz');
    await expectHearing(b);
    await expectHearing(a);

    // A late joiner (Sophie) opens push-to-talk during the dispatcher's transmission.
    const c = await site.open('en-US', CONTEXT);
    await c.addInitScript(recordPeerConnections);
    await site.signIn(c, 'sophie.wagner');
    await c.getByTestId('nav-ptt').waitFor();
    const lateEntry = await timeOpenToAudio(c);
    await c.getByTestId('nav-ptt').click();
    await expect.poll(() => stateOf(c), { timeout: 15_000 }).toBe('listening');
    expect(await talkerOf(c)).toBe('Dieter Schulz');
    await expectHearing(c);
    // Opening the page: its code, then channel list, join, transports, consumers, audio.
    const lateEntryMs = await lateEntry();

    // Let go everywhere: the channel is free again.
    await a.mouse.up();
    await dispatcher.keyboard.up('Space');
    for (const page of [a, b, c, dispatcher]) {
      await expect.poll(() => stateOf(page), { timeout: 8000 }).toBe('idle');
    }

    // An emergency call: held for two seconds, it reaches dispatch with an acknowledge.
    const emergency = a.getByTestId('ptt-emergency');
    const box = (await emergency.boundingBox())!;
    await a.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await a.mouse.down();
    await a.waitForTimeout(500);
    await a.mouse.up();
    // Let go too early: nothing happened.
    await a.waitForTimeout(300);
    expect(await dispatcher.getByTestId('ptt-emergency-alert').count()).toBe(0);
    await a.mouse.down();
    await a.getByTestId('ptt-emergency-end').waitFor({ timeout: 5000 });
    await a.mouse.up();
    const alert = dispatcher.locator(
      '[data-testid="ptt-emergency-alert"][data-member="Max Mustermann"]',
    );
    await alert.waitFor({ timeout: 5000 });
    expect(await alert.innerText()).toContain('Zug 1');
    await expect.poll(() => stateOf(a)).toBe('talking');
    await expect.poll(() => stateOf(b)).toBe('listening');
    expect(await b.getByTestId('ptt-status').innerText()).toContain(
      'Emergency call from Max Mustermann',
    );
    await expectHearing(b);
    await dispatcher.getByTestId('ptt-emergency-ack').click();
    await alert.waitFor({ state: 'detached', timeout: 5000 });
    await a.getByTestId('ptt-emergency-end').click();
    await expect.poll(() => stateOf(a), { timeout: 8000 }).toBe('idle');

    // The channel is recorded: dispatch finds Max's transmission and plays it back.
    const recording = dispatcher
      .locator('[data-testid="ptt-recording"][data-talker="Max Mustermann"]')
      .first();
    await expect
      .poll(
        async () => {
          await dispatcher.getByTestId('ptt-recordings-reload').click();
          await dispatcher.waitForTimeout(300);
          return recording.count();
        },
        { timeout: 15_000 },
      )
      .toBeGreaterThan(0);
    await recording.getByTestId('ptt-recording-play').click();
    const player = recording.getByTestId('ptt-recording-audio');
    await player.waitFor();
    await expect
      .poll(() =>
        player.evaluate((el: HTMLAudioElement) =>
          el.readyState >= 1 && Number.isFinite(el.duration) ? el.duration : 0,
        ),
      )
      .toBeGreaterThan(0.5);

    console.warn(JSON.stringify({ pttBrowser: { accessMs, lateEntryMs } }));
  }, 300_000);
});
