/**
 * The web app in a real browser (Debian's Chromium through playwright-core) against the real API:
 * `vite build` with VITE_API_URL pointing at a test server, the bundle served from a static
 * server of its own, and a user going through sign-up, tasks and sign-out. A failing step leaves
 * a screenshot in apps/web/test-results/ (git-ignored). `.ci/run` installs Chromium; on a machine
 * without it the test is skipped, saying so.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/harness.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const webDir = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = path.join(webDir, 'test-results');
const viteBin = path.join(webDir, 'node_modules/vite/bin/vite.js');
/** Small pages, so three tasks already take two requests of the infinite list. */
const pageSize = 2;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/** Serves `root` on a random port; unknown paths get index.html, as a static host would. */
async function serveStatic(root: () => string): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    void (async () => {
      const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      const file = path.join(root(), path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
      const target =
        pathname.endsWith('/') || !path.extname(file) ? path.join(root(), 'index.html') : file;
      try {
        const body = await readFile(target);
        response.writeHead(200, {
          'content-type': contentTypes[path.extname(target)] ?? 'application/octet-stream',
        });
        response.end(body);
      } catch {
        response.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { origin: `http://127.0.0.1:${port}`, server };
}

/** `vite build` of this app into `outDir`, talking to `apiUrl`. */
async function buildApp(outDir: string, apiUrl: string): Promise<void> {
  const child = spawn(process.execPath, [viteBin, 'build', '--outDir', outDir, '--emptyOutDir'], {
    cwd: webDir,
    env: { ...process.env, VITE_API_URL: apiUrl, VITE_PAGE_SIZE: String(pageSize) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`vite build exited with ${code}:\n${output}`);
}

describe.skipIf(!existsSync(chromiumPath))(
  `the web app in headless Chromium (${chromiumPath})`,
  () => {
    let api: TestServer;
    let web: { origin: string; server: Server };
    let outDir: string;
    let browser: Browser;

    beforeAll(async () => {
      outDir = await mkdtemp(path.join(tmpdir(), 'tasks-web-'));
      web = await serveStatic(() => outDir);
      // Every auth attempt of the walk-through targets one account: keep its budget out of the way.
      api = await startTestServer({
        CORS_ORIGINS: web.origin,
        AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '50',
      });
      [browser] = await Promise.all([
        chromium.launch({
          executablePath: chromiumPath,
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--disable-background-networking',
          ],
        }),
        buildApp(outDir, api.baseUrl),
      ]);
    });
    afterAll(async () => {
      await browser.close();
      await new Promise((resolve) => web.server.close(resolve));
      await api.close();
      await rm(outDir, { recursive: true, force: true });
    });

    it('signs up, signs in, manages tasks and signs out', async () => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      let listRequests = 0;
      page.on('request', (request) => {
        if (request.url().includes('tasks.list')) listRequests += 1;
      });

      /** Runs one step; on failure saves a screenshot named after it, then rethrows. */
      async function step(name: string, run: () => Promise<void>): Promise<void> {
        try {
          await run();
        } catch (error) {
          await mkdir(resultsDir, { recursive: true });
          const file = path.join(resultsDir, `e2e-${name.replace(/\W+/g, '-')}.png`);
          await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
          throw new Error(`step "${name}" failed (screenshot: ${file})`, { cause: error });
        }
      }

      const titles = (p: Page) => p.getByTestId('task-title').allTextContents();
      const text = (testId: string) => page.getByTestId(testId).textContent();
      const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 5_000 });
      const email = `web-${Date.now()}@example.com`;
      const password = 'correct horse battery';

      async function fillCredentials(pass: string) {
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(pass);
      }

      await step('open', async () => {
        await page.goto(web.origin);
        await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
      });

      await step('sign up with a short password', async () => {
        await fillCredentials('short');
        await page.getByRole('button', { name: 'Sign up' }).click();
        await poll(() => text('password-error')).toBe('Use at least 8 characters.');
        expect(await text('error')).toContain('Some fields need another look');
        expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
      });

      await step('sign up', async () => {
        await fillCredentials(password);
        await page.getByRole('button', { name: 'Sign up' }).click();
        await poll(() => text('account-email')).toBe(email);
        expect(await text('notice')).toBe('Account created. Welcome!');
        await poll(() => text('list-state')).toBe('No tasks yet. Add one above.');
      });

      await step('sign out after sign-up', async () => {
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
        expect(await text('notice')).toBe('You are signed out.');
      });

      await step('sign up again with the same email', async () => {
        await fillCredentials(password);
        await page.getByRole('button', { name: 'Sign up' }).click();
        await poll(() => text('error')).toBe(
          'An account with this email already exists. Sign in instead.',
        );
      });

      await step('sign in with a wrong password', async () => {
        await fillCredentials('not the password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await poll(() => text('error')).toBe('That email and password do not match an account.');
        expect(await page.getByRole('heading', { name: 'Your tasks' }).isVisible()).toBe(false);
      });

      await step('sign in', async () => {
        await fillCredentials(password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await poll(() => text('account-email')).toBe(email);
        expect(await page.getByTestId('error').isVisible()).toBe(false);
      });

      await step('create three tasks', async () => {
        for (const title of ['Buy milk', 'Write the report', 'Call the plumber']) {
          await page.getByLabel('New task').fill(title);
          await page.getByRole('button', { name: 'Add task' }).click();
          await poll(() => text('notice')).toBe(`Added “${title}”.`);
        }
        expect(await titles(page)).toEqual(['Call the plumber', 'Write the report', 'Buy milk']);
      });

      await step('an empty title is refused', async () => {
        await page.getByLabel('New task').fill('   ');
        await page.getByRole('button', { name: 'Add task' }).click();
        await poll(() => text('title-error')).toBe('Give the task a title.');
        expect(await titles(page)).toHaveLength(3);
      });

      await step('reload: the session survives and the list pages on the cursor', async () => {
        listRequests = 0;
        await page.reload();
        await poll(() => text('list-state')).toBe('3 tasks');
        expect(await titles(page)).toEqual(['Call the plumber', 'Write the report', 'Buy milk']);
        // Page size 2: the sentinel stayed in view after the first page, so a second one followed.
        expect(listRequests).toBe(2);
      });

      await step('mark one done', async () => {
        await page.getByLabel('Status of Write the report').selectOption('done');
        await poll(() => text('notice')).toBe('“Write the report” is now done.');
        const task = page.getByTestId('task').filter({ hasText: 'Write the report' });
        expect(await task.getAttribute('data-status')).toBe('done');
      });

      await step('filter by status', async () => {
        await page.getByLabel('Status', { exact: true }).selectOption('done');
        await poll(() => titles(page)).toEqual(['Write the report']);
        expect(await text('list-state')).toBe('1 task');
        await page.getByLabel('Status', { exact: true }).selectOption('');
        await poll(() => titles(page)).toEqual([
          'Call the plumber',
          'Write the report',
          'Buy milk',
        ]);
      });

      await step('search', async () => {
        await page.getByLabel('Search').fill('PLUMB');
        await poll(() => titles(page)).toEqual(['Call the plumber']);
        await page.getByLabel('Search').fill('nothing like this');
        await poll(() => text('list-state')).toBe('No tasks match.');
        await page.getByLabel('Search').fill('');
        await poll(() => titles(page)).toEqual([
          'Call the plumber',
          'Write the report',
          'Buy milk',
        ]);
      });

      await step('delete one', async () => {
        await page.getByRole('button', { name: 'Delete Buy milk' }).click();
        await poll(() => titles(page)).toEqual(['Call the plumber', 'Write the report']);
        expect(await text('notice')).toBe('Deleted “Buy milk”.');
        expect(await api.db.task.count()).toBe(2);
      });

      await step('sign out', async () => {
        const logout = page.waitForResponse((response) => response.url().includes('auth.logout'));
        await page.getByRole('button', { name: 'Sign out' }).click();
        expect((await logout).status()).toBe(200);
        await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
        expect(await page.getByTestId('task').count()).toBe(0);
        expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
        // Both sessions (sign-up's and sign-in's) were revoked on the server, not just forgotten.
        const user = await api.db.user.findUniqueOrThrow({ where: { email } });
        const open = await api.db.session.count({ where: { userId: user.id, revokedAt: null } });
        expect(open).toBe(0);
        await page.reload();
        await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
      });

      expect(pageErrors).toEqual([]);
    }, 60_000);
  },
);
