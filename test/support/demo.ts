import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { launchChromium, totp } from './browser.ts';
import { startServer, type RunningServer } from './server.ts';

/**
 * A running Trupp with the demo organisation and a Chromium, for browser tests that act
 * as several of its people: sign in, the dispatcher's first-time TOTP enrolment, and
 * the HTTP API with a member's own session.
 */
export interface DemoSite {
  server: RunningServer;
  browser: Browser;
  /** The one generated password of all demo accounts (printed once at start). */
  password: string;
  /** A fresh browser context (closed with the site) and its page. */
  open(locale: string, options?: BrowserContextOptions): Promise<Page>;
  /** Signs in on the page's login form as `local@musterstadt.example`. */
  signIn(page: Page, local: string): Promise<void>;
  /** The dispatcher, signed in in a new context after enrolling TOTP, with their token. */
  dispatcher(
    locale?: string,
    options?: BrowserContextOptions,
  ): Promise<{ page: Page; token: string }>;
  /** Signs in over HTTP (members need no second factor) and returns the access token. */
  login(local: string): Promise<string>;
  /** A JSON API call with a bearer token; throws with the body on any non-2xx answer. */
  api<T>(token: string, method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

const DOMAIN = 'musterstadt.example';

export interface DemoOptions {
  /** Extra Chromium switches, e.g. fake microphones for push-to-talk tests. */
  chromiumArgs?: string[];
  /** Extra server environment (e.g. the SFU's ports). */
  env?: Record<string, string>;
}

export async function startDemo(options: DemoOptions = {}): Promise<DemoSite> {
  const server = await startServer({
    env: { NODE_ENV: 'development', DEMO_DATA: 'true', ...options.env },
  });
  const match = /Password for all of them:\s*(\S+)/.exec(server.stdout());
  if (!match?.[1]) throw new Error(`no demo password in server output:\n${server.stdout()}`);
  const password = match[1];
  const browser = await launchChromium(options.chromiumArgs);
  const contexts: BrowserContext[] = [];

  const site: DemoSite = {
    server,
    browser,
    password,
    async open(locale, options = {}) {
      const context = await browser.newContext({ locale, ...options });
      contexts.push(context);
      return context.newPage();
    },
    async signIn(page, local) {
      await page.goto(server.url);
      await page.getByTestId('login-email').fill(`${local}@${DOMAIN}`);
      await page.getByTestId('login-password').fill(password);
      await page.getByTestId('login-submit').click();
    },
    async dispatcher(locale = 'en-US', options = {}) {
      const page = await site.open(locale, options);
      await site.signIn(page, 'dispatcher');
      const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
      await page.getByTestId('totp-code').fill(totp(secret));
      await page.getByTestId('totp-confirm').click();
      await page.getByTestId('recovery-saved').click();
      await page.getByTestId('nav-dispatch').waitFor();
      const token = await page.evaluate(
        () =>
          (JSON.parse(localStorage.getItem('trupp.session')!) as { accessToken: string })
            .accessToken,
      );
      return { page, token };
    },
    async login(local) {
      const res = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `${local}@${DOMAIN}`, password }),
      });
      const answer = (await res.json()) as { session?: { accessToken: string } };
      if (!answer.session) throw new Error(`sign-in of ${local}: ${JSON.stringify(answer)}`);
      return answer.session.accessToken;
    },
    async api<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async close() {
      for (const context of contexts) await context.close();
      await browser.close();
      await server.stop();
    },
  };
  return site;
}
