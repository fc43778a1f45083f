import { afterAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { startServer, type RunningServer } from './support/server.ts';

/**
 * Must show 1 of the foundation: `npm start` serves the web app, API docs and readiness on
 * one port; development creates demo data, production only a one-time setup link; SIGTERM
 * shuts down gracefully.
 */
const running: RunningServer[] = [];
afterAll(async () => {
  for (const server of running) await server.stop();
});

async function count(server: RunningServer, sql: string): Promise<number> {
  const [rows] = await server.database.database.pool.query(sql);
  return Number((rows as Array<{ n: number }>)[0]!.n);
}

describe('npm start', () => {
  it('serves the web app, readiness, OpenAPI and its UI, and prints demo logins', async () => {
    const server = await startServer({ via: 'npm-start', env: { NODE_ENV: 'development' } });
    running.push(server);

    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="app">');
    // History-mode routes get the same page.
    expect(await (await fetch(`${server.url}/admin/users`)).text()).toContain('<div id="app">');

    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const openapi = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/api/auth/login', '/api/users', '/api/audit']),
    );
    const docs = await fetch(`${server.url}/api/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);

    expect(server.stdout()).toContain('Freiwillige Feuerwehr Musterstadt');
    expect(server.stdout()).toMatch(/admin@musterstadt\.example/);
    expect(
      await count(server, "SELECT COUNT(*) AS n FROM tenants WHERE slug = 'musterstadt'"),
    ).toBe(1);
  });

  it('in production creates no demo data and prints a one-time setup link that works once', async () => {
    const server = await startServer({
      env: { NODE_ENV: 'production', TOKEN_SECRET: 'p'.repeat(40), DEMO_DATA: '' },
    });
    running.push(server);
    expect(await count(server, 'SELECT COUNT(*) AS n FROM users')).toBe(0);
    const link = new RegExp(`${server.url}/link/([A-Za-z0-9_-]+)`).exec(server.stdout());
    expect(link, server.stdout()).not.toBeNull();
    const token = link![1]!;
    const info = await fetch(`${server.url}/api/links/${token}`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ purpose: 'setup' });
    const setup = {
      tenantName: 'Feuerwehr Beispielstadt',
      tenantSlug: 'beispielstadt',
      email: 'it@beispielstadt.example',
      displayName: 'IT Beispielstadt',
      password: 'a-long-enough-password',
    };
    const accept = (body: object) =>
      fetch(`${server.url}/api/links/${token}/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await accept(setup)).status).toBe(204);
    expect((await accept(setup)).status).toBe(410);
    expect(await count(server, 'SELECT COUNT(*) AS n FROM users')).toBe(1);
  });

  it('stops gracefully on SIGTERM: sockets closed, exit code 0, port released', async () => {
    const server = await startServer({ env: { NODE_ENV: 'development' } });
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'member@musterstadt.example',
        password: /Password for all of them:\s*(\S+)/.exec(server.stdout())![1],
      }),
    });
    const { session } = (await login.json()) as { session: { accessToken: string } };
    const socket = io(server.url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: session.accessToken },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));

    // A request in flight when the signal arrives still gets its answer.
    const inFlight = fetch(`${server.url}/api/me`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    const code = server.stop();
    expect((await inFlight).status).toBe(200);
    expect(await disconnected).toBeTruthy();
    expect(await code).toBe(0);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
