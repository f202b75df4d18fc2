/**
 * The web app in a real browser (Debian's Chromium through playwright-core) against the real API.
 * `vite build` twice: one bundle with VITE_API_URL pointing at a test server on another origin,
 * one calling its own origin (the default), served by a static server that forwards the API's
 * paths as `pnpm dev`'s proxy does. A user goes through every state of the app, on a
 * phone-sized viewport and on a desktop one; each state leaves a screenshot in
 * apps/web/test-results/screenshots/ (git-ignored), `<NN>-<state>-<width>.png`, and a failing
 * step leaves one too. The API runs its jobs and writes its mails as `.eml` files, which the
 * password-reset and email-confirmation walk reads and follows the links of. The session survives
 * a reload through the API's HttpOnly refresh cookie, and a step checks that nothing a script of
 * the page can read holds a token. `.ci/run` installs Chromium; on a machine without it the test
 * is skipped, saying so.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import { apiPaths } from '../vite.config.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const webDir = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = path.join(webDir, 'test-results');
const screenshotsDir = path.join(resultsDir, 'screenshots');
const viteBin = path.join(webDir, 'node_modules/vite/bin/vite.js');
/** Small pages, so three tasks already take two requests of the infinite list. */
const pageSize = 2;
/** A short undo window keeps the walk quick; the steps that need it to pass wait this long. */
const undoMs = 2_000;
/** Wrong passwords an account takes before the API refuses more (per action and window). */
const attemptsPerAccount = 3;

const viewports = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
];

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/** Passes the request on to `origin` and its answer back, as a reverse proxy does. */
function forward(request: IncomingMessage, response: ServerResponse, origin: string): void {
  const upstream = httpRequest(
    new URL(request.url ?? '/', origin),
    { method: request.method, headers: request.headers },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('error', () => response.destroy());
      answer.pipe(response);
    },
  );
  upstream.on('error', () => {
    if (response.headersSent) response.destroy();
    else response.writeHead(502).end();
  });
  // A client that leaves mid-answer (a page closing its change stream) ends the upstream request
  // too: else the stream would hold this server and the API open until the API shuts down.
  response.on('close', () => upstream.destroy());
  request.pipe(upstream);
}

/**
 * Serves `root` on a random port; unknown paths get index.html, as a static host would. With
 * `apiOrigin`, the paths `pnpm dev`'s proxy forwards to the API go there instead.
 */
/** What a page reports while a test drives it: script errors, and requests to `origin` that 404. */
function watchPage(page: Page, origin: string): { pageErrors: string[]; missing: string[] } {
  const pageErrors: string[] = [];
  const missing: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('response', (response) => {
    if (response.url().startsWith(origin) && response.status() === 404) {
      missing.push(response.url());
    }
  });
  return { pageErrors, missing };
}

async function serveStatic(
  root: () => string,
  apiOrigin?: () => string,
): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    void (async () => {
      const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      if (apiOrigin && apiPaths.some((prefix) => pathname.startsWith(prefix))) {
        forward(request, response, apiOrigin());
        return;
      }
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

/**
 * `vite build` of this app into `outDir`, talking to `apiUrl` (or to its own origin without),
 * with `undoWindowMs` to take a delete back.
 */
async function buildApp(
  outDir: string,
  { apiUrl, undoWindowMs }: { apiUrl?: string; undoWindowMs: number },
): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VITE_PAGE_SIZE: String(pageSize),
    VITE_UNDO_MS: String(undoWindowMs),
  };
  if (apiUrl === undefined) delete env.VITE_API_URL;
  else env.VITE_API_URL = apiUrl;
  const child = spawn(process.execPath, [viteBin, 'build', '--outDir', outDir, '--emptyOutDir'], {
    cwd: webDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`vite build exited with ${code}:\n${output}`);
}

/** How one page walks through its states at one viewport width. */
function walkOf(page: Page, width: number) {
  return {
    /** Runs one step; on failure saves a screenshot named after it, then rethrows. */
    step: async (name: string, run: () => Promise<void>): Promise<void> => {
      try {
        await run();
      } catch (error) {
        const file = path.join(resultsDir, `e2e-${name.replace(/\W+/g, '-')}-${width}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
        throw new Error(`step "${name}" at ${width} px failed (screenshot: ${file})`, {
          cause: error,
        });
      }
    },

    /** Keeps the page as it is now: one screenshot per state and viewport width. */
    snapshot: async (state: string): Promise<void> => {
      const file = path.join(screenshotsDir, `${state}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      // Nothing spills sideways, at 390 px least of all.
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow, `horizontal scroll in ${state}`).toBe(0);
    },
  };
}

/** A mail as its reader sees it. */
interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * A mail the API wrote as an `.eml` file (it does without SMTP_URL): headers unfolded, the body
 * decoded. apps/web cannot import apps/server's smtp-server or mailparser, and the API's mails
 * are plain text in one part, so this is all a reader of them needs.
 */
function parseMail(source: string): Mail | null {
  const split = /\r?\n\r?\n/.exec(source);
  // A file caught while it is being written: read it again on the next look.
  if (split === null) return null;
  const headers = new Map(
    source
      .slice(0, split.index)
      .replace(/\r?\n[ \t]+/g, ' ')
      .split(/\r?\n/)
      .map((line): [string, string] => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      }),
  );
  const body = source.slice(split.index + split[0].length);
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? Buffer.from(
          body
            .replace(/=\r?\n/g, '')
            .replace(/=([0-9A-F]{2})/gi, (_, hex: string) =>
              String.fromCharCode(parseInt(hex, 16)),
            ),
          'latin1',
        ).toString('utf8')
      : encoding === 'base64'
        ? Buffer.from(body, 'base64').toString('utf8')
        : body;
  return {
    to: headers.get('to') ?? '',
    subject: headers.get('subject') ?? '',
    text: text.replace(/\r\n/g, '\n'),
  };
}

/** The mails the API writes into `dir`, each handed out once, oldest first. */
function mailboxIn(dir: string) {
  const taken = new Set<string>();
  return {
    /** The next mail to `to` with a subject like `subject`, once its job has sent it. */
    async next(to: string, subject: RegExp): Promise<Mail> {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const files = await readdir(dir).catch(() => []);
        for (const file of files.filter((name) => name.endsWith('.eml')).sort()) {
          if (taken.has(file)) continue;
          const mail = parseMail(await readFile(path.join(dir, file), 'utf8'));
          if (mail === null || !mail.to.includes(to) || !subject.test(mail.subject)) continue;
          taken.add(file);
          return mail;
        }
        if (Date.now() > deadline) throw new Error(`no mail "${subject.source}" to ${to}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

/** The link of a mail to a page of the web app: `<WEB_APP_URL>/<page>#token=<token>`. */
function linkIn(mail: Mail, page: string): string {
  const match = new RegExp(`https?://\\S+/${page}#token=[\\w-]+`).exec(mail.text);
  if (!match) throw new Error(`no /${page} link in:\n${mail.text}`);
  return match[0];
}

const minutes = (count: number) => count * 60_000;

/**
 * The API's clock, which a step moves past the access tokens' lifetime (15 minutes) instead of
 * waiting for it: only the API's checks see the jump, the browser's clock stays put.
 */
let apiClockAheadMs = 0;
const apiClock = { now: () => new Date(Date.now() + apiClockAheadMs) };

describe.skipIf(!existsSync(chromiumPath))(
  `the web app in headless Chromium (${chromiumPath})`,
  () => {
    let api: TestServer;
    /** The bundle built with VITE_API_URL: the API is on another origin. */
    let web: { origin: string; server: Server };
    /** The bundle built without: it calls its own origin, which forwards to the API. */
    let sameOriginWeb: { origin: string; server: Server };
    let buildsDir: string;
    /** Where the API writes its mails (password reset, confirmation): no SMTP_URL, files. */
    let mailbox: ReturnType<typeof mailboxIn>;
    let browser: Browser;

    beforeAll(async () => {
      buildsDir = await mkdtemp(path.join(tmpdir(), 'tasks-web-'));
      const [crossOriginDir, sameOriginDir] = ['cross-origin', 'same-origin'].map((name) =>
        path.join(buildsDir, name),
      ) as [string, string];
      web = await serveStatic(() => crossOriginDir);
      sameOriginWeb = await serveStatic(
        () => sameOriginDir,
        () => api.baseUrl,
      );
      await mkdir(screenshotsDir, { recursive: true });
      const mailDir = path.join(buildsDir, 'mail');
      mailbox = mailboxIn(mailDir);
      api = await startTestServer(
        {
          CORS_ORIGINS: web.origin,
          // Mails go out from jobs run in the API, as files; their links open this web app.
          JOBS_IN_API: 'true',
          JOB_POLL_MS: '200',
          MAIL_DIR: mailDir,
          WEB_APP_URL: web.origin,
          // Each walk-through signs in and out many times from one address: only the
          // per-account budget, which one step exhausts on purpose, is left to bite.
          AUTH_RATE_LIMIT_MAX_PER_IP: '1000',
          AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: String(attemptsPerAccount),
          RATE_LIMIT_MAX: '100000',
        },
        { clock: apiClock },
      );
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
        buildApp(crossOriginDir, { apiUrl: api.baseUrl, undoWindowMs: undoMs }),
        // A window no step outlasts: only the page going away can send the delete.
        buildApp(sameOriginDir, { undoWindowMs: 60_000 }),
      ]);
    });
    afterAll(async () => {
      await browser.close();
      await Promise.all(
        [web, sameOriginWeb].map(({ server }) => new Promise((resolve) => server.close(resolve))),
      );
      await api.close();
      await rm(buildsDir, { recursive: true, force: true });
    });

    it.each(viewports)(
      'walks through every state at $width px: sign-up, tasks, edit, undo, sign-out',
      async (viewport) => {
        // A context of its own, so that a second tab can share its cookies (one step opens one).
        const context = await browser.newContext({ viewport });
        const page = await context.newPage();
        // Everything the page asks its own origin for exists (the favicon included).
        const { pageErrors, missing } = watchPage(page, web.origin);
        const calls = { list: 0, delete: 0 };
        page.on('request', (request) => {
          if (request.url().includes('tasks.list')) calls.list += 1;
          if (request.url().includes('tasks.delete')) calls.delete += 1;
        });

        const { step, snapshot } = walkOf(page, viewport.width);

        const titles = () =>
          page.getByTestId('task-title').filter({ visible: true }).allTextContents();
        const text = (testId: string) => page.getByTestId(testId).textContent();
        const poll = <T>(read: () => Promise<T>, timeout = 5_000) => expect.poll(read, { timeout });
        const task = (title: string) =>
          page
            .getByTestId('task')
            .filter({ has: page.getByTestId('task-title').getByText(title, { exact: true }) });
        const email = `web-${viewport.width}-${Date.now()}@example.com`;
        const password = 'correct horse battery';
        let userId = '';
        const storedTask = (title: string) =>
          api.db.task.findFirst({ where: { ownerId: userId, title } });
        const countTasks = () => api.db.task.count({ where: { ownerId: userId } });

        async function fillCredentials(address: string, pass: string) {
          await page.getByLabel('Email').fill(address);
          await page.getByLabel('Password').fill(pass);
        }

        await step('open', async () => {
          await page.goto(web.origin);
          await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
          expect(
            await page.getByLabel('Email').evaluate((input) => input === document.activeElement),
          ).toBe(true);
          const icon = await page.request.get(`${web.origin}/favicon.svg`);
          expect(icon.headers()['content-type']).toBe('image/svg+xml');
          await snapshot('01-signed-out');
        });

        await step('sign up with an invalid email and a short password', async () => {
          await fillCredentials('ann@example', 'short');
          await page.getByRole('button', { name: 'Sign up' }).click();
          await poll(() => text('password-error')).toBe('Use at least 8 characters.');
          expect(await text('email-error')).toBe(
            'Enter a valid email address, like ann@example.com.',
          );
          expect(await text('error')).toBe('Some fields need another look.');
          expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
          expect(await page.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
          await snapshot('02-sign-up-invalid');
        });

        await step('sign up', async () => {
          await fillCredentials(email, password);
          await page.getByRole('button', { name: 'Sign up' }).click();
          await poll(() => text('account-email')).toBe(email);
          expect(await text('notice')).toBe('Account created. Welcome!');
          await poll(() => text('list-state')).toBe('No tasks yet. Add one above.');
          userId = (await api.db.user.findUniqueOrThrow({ where: { email } })).id;
          await snapshot('03-empty-list');
        });

        await step('sign out after sign-up', async () => {
          await page.getByRole('button', { name: 'Sign out' }).click();
          await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
          expect(await text('notice')).toBe('You are signed out.');
        });

        await step('sign up again with the same email', async () => {
          await fillCredentials(email, password);
          await page.getByRole('button', { name: 'Sign up' }).click();
          await poll(() => text('error')).toBe(
            'An account with this email already exists. Sign in instead.',
          );
          expect(await text('email-error')).toBe('An account with this email already exists.');
          expect(await page.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
          await snapshot('04-email-taken');
        });

        await step('sign in with a wrong password', async () => {
          await fillCredentials(email, 'not the password');
          await page.getByRole('button', { name: 'Sign in' }).click();
          await poll(() => text('error')).toBe('That email and password do not match an account.');
          expect(await page.getByRole('heading', { name: 'Your tasks' }).isVisible()).toBe(false);
          expect(await page.getByTestId('email-error').isVisible()).toBe(false);
        });

        await step('guessing passwords is stopped', async () => {
          await fillCredentials(`guess-${viewport.width}-${Date.now()}@example.com`, 'guess 1234');
          for (let attempt = 0; attempt <= attemptsPerAccount; attempt += 1) {
            const answered = page.waitForResponse((response) =>
              response.url().endsWith('/auth/login'),
            );
            await page.getByRole('button', { name: 'Sign in' }).click();
            await answered;
          }
          await poll(() => text('error')).toBe('Too many attempts. Wait a minute and try again.');
          await snapshot('05-rate-limited');
        });

        /** The access token the sign-in answered with: this page's, in its memory only. */
        let accessToken = '';
        await step('sign in', async () => {
          await fillCredentials(email, password);
          const login = page.waitForResponse((response) => response.url().endsWith('/auth/login'));
          await page.getByRole('button', { name: 'Sign in' }).click();
          const answer = await login;
          accessToken = ((await answer.json()) as { accessToken: string }).accessToken;
          // In cookie mode the refresh token never reaches the page: it is not in the body.
          expect(Object.keys((await answer.json()) as object).sort()).toEqual([
            'accessToken',
            'expiresIn',
            'tokenType',
          ]);
          await poll(() => text('account-email')).toBe(email);
          expect(await page.getByTestId('error').isVisible()).toBe(false);
        });

        await step('create three tasks', async () => {
          for (const [title, description] of [
            ['Buy milk', ''],
            ['Write the report', 'Quarterly numbers for the Monday meeting.\nDue on Friday.'],
            ['Call the plumber', 'The kitchen tap drips.'],
          ] as const) {
            await page.getByLabel('New task').fill(title);
            await page.getByLabel('Description (optional)').fill(description);
            await page.getByRole('button', { name: 'Add task' }).click();
            await poll(() => text('notice')).toBe(`Added “${title}”.`);
          }
          expect(await titles()).toEqual(['Call the plumber', 'Write the report', 'Buy milk']);
          expect((await storedTask('Write the report'))?.description).toBe(
            'Quarterly numbers for the Monday meeting.\nDue on Friday.',
          );
          expect((await storedTask('Buy milk'))?.description).toBeNull();
        });

        await step('an empty title is refused', async () => {
          await page.getByLabel('New task').fill('   ');
          await page.getByRole('button', { name: 'Add task' }).click();
          await poll(() => text('title-error')).toBe('Give the task a title.');
          expect(await titles()).toHaveLength(3);
          await page.getByLabel('New task').fill('');
        });

        // Tasks made days, hours and minutes ago, as a list in use has them.
        const ages = {
          'Buy milk': minutes(3 * 24 * 60),
          'Write the report': minutes(2 * 60),
          'Call the plumber': minutes(3),
        };
        await step('reload: the session survives and the list pages on the cursor', async () => {
          for (const [title, age] of Object.entries(ages)) {
            const at = new Date(Date.now() - age);
            await api.db.task.updateMany({
              where: { ownerId: userId, title },
              data: { createdAt: at, updatedAt: at },
            });
          }
          calls.list = 0;
          await page.reload();
          await poll(() => text('list-state')).toBe('3 tasks');
          expect(await titles()).toEqual(['Call the plumber', 'Write the report', 'Buy milk']);
          expect(await text('account-email')).toBe(email);
          // Page size 2: the sentinel stayed in view after the first page, so a second one followed.
          expect(calls.list).toBe(2);
        });

        await step('no token is where a script of the page could read it', async () => {
          const readable = await page.evaluate(() => ({
            cookie: document.cookie,
            localStorage: JSON.stringify(Object.entries(localStorage)),
            sessionStorage: JSON.stringify(Object.entries(sessionStorage)),
          }));
          expect(readable).toEqual({ cookie: '', localStorage: '[]', sessionStorage: '[]' });
          // The refresh token is in the API's cookie, which only the browser holds: HttpOnly,
          // Secure (Chromium keeps Secure cookies of http://127.0.0.1), for the auth routes.
          const cookies = await context.cookies(`${api.baseUrl}/auth/refresh`);
          expect(cookies).toEqual([
            expect.objectContaining({
              name: 'tasks_refresh_token',
              path: '/auth',
              httpOnly: true,
              secure: true,
              sameSite: 'Strict',
            }),
          ]);
          for (const value of Object.values(readable)) {
            expect(value).not.toContain(accessToken);
            expect(value).not.toContain(cookies[0]?.value);
          }
        });

        await step(
          'two tabs renew from one cookie, one at a time, and both stay signed in',
          async () => {
            // Both tabs open at once and renew with the cookie. A refresh token spent twice ends
            // the session as stolen, so the tabs must take turns, the second with the cookie the
            // first got back. Each renewal is held until the other's arrives (or a second passes):
            // tabs that did not take turns would both carry the same refresh token.
            const refresh = `${api.baseUrl}/auth/refresh`;
            let arrived = 0;
            let releaseBoth = () => {};
            const bothArrived = new Promise<void>((resolve) => {
              releaseBoth = resolve;
              setTimeout(resolve, 1_000);
            });
            await context.route(refresh, async (route) => {
              arrived += 1;
              if (arrived === 2) releaseBoth();
              await bothArrived;
              await route.continue();
            });
            const other = await context.newPage();
            try {
              await Promise.all([other.goto(web.origin), page.reload()]);
              for (const tab of [page, other]) {
                await poll(() => tab.getByTestId('list-state').textContent()).toBe('3 tasks');
              }
              expect(arrived).toBe(2);
            } finally {
              await other.close();
              await context.unroute(refresh);
            }
          },
        );

        await step('each task shows its description and how long ago it was made', async () => {
          expect(await page.getByTestId('task-description').allTextContents()).toEqual([
            'The kitchen tap drips.',
            'Quarterly numbers for the Monday meeting.\nDue on Friday.',
          ]);
          const created = {
            'Buy milk': '3 days ago',
            'Write the report': '2 hours ago',
            'Call the plumber': '3 minutes ago',
          };
          for (const [title, ago] of Object.entries(created)) {
            const time = task(title).locator('time').first();
            expect(await time.textContent()).toBe(ago);
            // The exact instant for machines, and in the reader's own time zone on hover.
            const stored = await storedTask(title);
            expect(await time.getAttribute('datetime')).toBe(stored?.createdAt.toISOString());
            expect(await time.getAttribute('title')).toContain(
              String(stored?.createdAt.getFullYear()),
            );
          }
          await snapshot('06-tasks');
        });

        await step('mark one done', async () => {
          await page.getByLabel('Status of Write the report').selectOption('done');
          await poll(() => text('notice')).toBe('“Write the report” is now done.');
          expect(await task('Write the report').getAttribute('data-status')).toBe('done');
          expect((await storedTask('Write the report'))?.status).toBe('done');
          expect(await task('Write the report').locator('time').nth(1).textContent()).toBe(
            'just now',
          );
        });

        await step('edit a title and a description in place', async () => {
          await task('Buy milk').getByTestId('task-title').click();
          const title = page.getByLabel('Title', { exact: true });
          expect(await title.inputValue()).toBe('Buy milk');
          expect(await title.evaluate((input) => input === document.activeElement)).toBe(true);
          await title.fill('Buy oat milk');
          await page
            .getByLabel('Description', { exact: true })
            .fill('Two litres, the barista kind.');
          await snapshot('07-editing');
          // Enter saves, from the description as from the title.
          await page.getByLabel('Description', { exact: true }).press('Enter');
          await poll(() => text('notice')).toBe('Saved “Buy oat milk”.');
          expect(await titles()).toEqual(['Call the plumber', 'Write the report', 'Buy oat milk']);
          expect(await task('Buy oat milk').getByTestId('task-description').textContent()).toBe(
            'Two litres, the barista kind.',
          );
          const saved = await storedTask('Buy oat milk');
          expect(saved).toMatchObject({ description: 'Two litres, the barista kind.', version: 2 });
          // The focus stays with the task, on its Edit button.
          expect(
            await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
          ).toBe('Edit Buy oat milk');
        });

        await step('F2 edits the focused task, Escape cancels', async () => {
          await page.getByRole('button', { name: 'Edit Call the plumber' }).focus();
          await page.keyboard.press('F2');
          await page.getByLabel('Title', { exact: true }).fill('Never mind');
          await page.keyboard.press('Escape');
          expect(await titles()).toEqual(['Call the plumber', 'Write the report', 'Buy oat milk']);
          expect(await page.getByLabel('Title', { exact: true }).count()).toBe(0);
          expect(
            await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
          ).toBe('Edit Call the plumber');
          expect((await storedTask('Call the plumber'))?.version).toBe(1);
        });

        await step('an edit that crosses a change made elsewhere is refused (412)', async () => {
          await page.getByRole('button', { name: 'Edit Call the plumber' }).press('Enter');
          await page.getByLabel('Title', { exact: true }).fill('Call the plumber today');
          // Meanwhile the same user renames the task on another device.
          const { id } = await storedTask('Call the plumber').then((found) => found ?? { id: '' });
          await api.trpc(accessToken).tasks.update.mutate({ id, title: 'Call the plumber back' });

          await page.getByLabel('Title', { exact: true }).press('Enter');
          const problem = task('Call the plumber back').getByTestId('task-problem');
          await poll(() => problem.textContent()).toBe(
            'This task was changed elsewhere in the meantime. It has been reloaded: try again.',
          );
          // The list shows the other device's change; the refused edit changed nothing.
          expect(await titles()).toEqual([
            'Call the plumber back',
            'Write the report',
            'Buy oat milk',
          ]);
          expect(await api.db.task.findUniqueOrThrow({ where: { id } })).toMatchObject({
            title: 'Call the plumber back',
            version: 2,
          });
          await snapshot('08-conflict');
        });

        await step('filter by status', async () => {
          await page.getByLabel('Status', { exact: true }).selectOption('done');
          await poll(() => titles()).toEqual(['Write the report']);
          expect(await text('list-state')).toBe('1 task');
          await page.getByLabel('Status', { exact: true }).selectOption('');
          await poll(() => titles()).toEqual([
            'Call the plumber back',
            'Write the report',
            'Buy oat milk',
          ]);
        });

        await step('search', async () => {
          await page.getByLabel('Search').fill('PLUMB');
          await poll(() => titles()).toEqual(['Call the plumber back']);
          // Descriptions are searched too.
          await page.getByLabel('Search').fill('barista');
          await poll(() => titles()).toEqual(['Buy oat milk']);
          await page.getByLabel('Search').fill('nothing like this');
          await poll(() => text('list-state')).toBe('No tasks match.');
          await snapshot('09-no-match');
          await page.getByLabel('Search').fill('');
          await poll(() => titles()).toEqual([
            'Call the plumber back',
            'Write the report',
            'Buy oat milk',
          ]);
        });

        await step('the list cannot be loaded, then can', async () => {
          await page.route('**/trpc/tasks.list**', (route) => route.abort('internetdisconnected'));
          await page.getByLabel('Status', { exact: true }).selectOption('open');
          await poll(() => text('list-state')).toBe('Tasks could not be loaded.');
          expect(await text('error')).toBe(
            'Cannot reach the server. Check your connection and try again.',
          );
          await snapshot('10-network-error');
          await page.unroute('**/trpc/tasks.list**');
          await page.getByRole('button', { name: 'Try again' }).click();
          await poll(() => titles()).toEqual(['Call the plumber back', 'Buy oat milk']);
          expect(await page.getByTestId('error').isVisible()).toBe(false);
          await page.getByLabel('Status', { exact: true }).selectOption('');
          await poll(() => titles()).toHaveLength(3);
        });

        await step(
          'delete: the task goes at once, the delete when the undo window ends',
          async () => {
            await page.getByRole('button', { name: 'Delete Buy oat milk' }).click();
            expect(await titles()).toEqual(['Call the plumber back', 'Write the report']);
            const toast = page.getByTestId('undo-toast');
            // The pointer on the toast holds its time, for as long as this look takes.
            await toast.hover();
            expect(await toast.textContent()).toContain('Deleted “Buy oat milk”');
            expect(await storedTask('Buy oat milk')).not.toBeNull();
            await snapshot('11-deleted-undo');
            await page.mouse.move(0, 0);
            await poll(() => storedTask('Buy oat milk'), undoMs + 5_000).toBeNull();
            expect(await toast.isVisible()).toBe(false);
            expect(await text('list-state')).toBe('2 tasks');
          },
        );

        await step('undo brings a deleted task back, in its place', async () => {
          const deletesBefore = calls.delete;
          await page.getByRole('button', { name: 'Delete Write the report' }).click();
          expect(await titles()).toEqual(['Call the plumber back']);
          await page.getByRole('button', { name: 'Undo' }).click();
          expect(await titles()).toEqual(['Call the plumber back', 'Write the report']);
          expect(await text('notice')).toBe('Restored “Write the report”.');
          // The keyboard's way: Ctrl+Z while the toast is up.
          await page.getByRole('button', { name: 'Delete Write the report' }).press('Enter');
          expect(await titles()).toEqual(['Call the plumber back']);
          await page.keyboard.press('Control+z');
          expect(await titles()).toEqual(['Call the plumber back', 'Write the report']);
          await snapshot('12-undo-restored');
          // Well past the undo window: nothing was sent, the task is still there, unchanged.
          await page.waitForTimeout(undoMs + 1_000);
          expect(calls.delete).toBe(deletesBefore);
          expect(await storedTask('Write the report')).toMatchObject({ version: 2 });
          expect(await titles()).toEqual(['Call the plumber back', 'Write the report']);
        });

        await step('sign out, sending the delete still open to undo first', async () => {
          await page.getByRole('button', { name: 'Delete Call the plumber back' }).click();
          expect(await titles()).toEqual(['Write the report']);
          const logout = page.waitForResponse((response) =>
            response.url().endsWith('/auth/logout'),
          );
          await page.getByRole('button', { name: 'Sign out' }).click();
          expect((await logout).status()).toBe(204);
          // The API cleared its cookie: a reload has nothing to renew the session with.
          expect(await context.cookies(`${api.baseUrl}/auth/refresh`)).toEqual([]);
          expect(await storedTask('Call the plumber back')).toBeNull();
          expect(await countTasks()).toBe(1);
          await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
          expect(await page.getByTestId('task').count()).toBe(0);
          expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
          // Every session (sign-up's and sign-in's) was revoked on the server, not just forgotten.
          const open = await api.db.session.count({ where: { userId, revokedAt: null } });
          expect(open).toBe(0);
          await page.reload();
          await page.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
        });

        expect(pageErrors).toEqual([]);
        expect(missing).toEqual([]);
        await context.close();
      },
      120_000,
    );

    it('calls its own origin by default, and sends a delete open to undo as the page goes away', async () => {
      const page = await browser.newPage({ viewport: viewports[0] });
      const elsewhere: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(sameOriginWeb.origin)) elsewhere.push(request.url());
      });
      const email = `same-origin-${Date.now()}@example.com`;
      await page.goto(sameOriginWeb.origin);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Sign up' }).click();
      await page.getByLabel('New task').fill('Water the plants');
      await page.getByRole('button', { name: 'Add task' }).click();
      const remove = page.getByRole('button', { name: 'Delete Water the plants' });
      await remove.waitFor();
      const { id } = await api.db.task.findFirstOrThrow({
        where: { title: 'Water the plants', owner: { email } },
      });
      await remove.click();
      await page.getByTestId('undo-toast').waitFor();
      // Gone from the page, still on the server: the undo window is open when the page goes.
      await page.goto('about:blank');
      await expect.poll(() => api.db.task.findUnique({ where: { id } })).toBeNull();
      expect(elsewhere).toEqual([]);
      await page.close();
    });

    it('shows changes made in another tab and through the API live, without reloading', async () => {
      const viewport = { width: 1280, height: 800 };
      // Two browser contexts: two devices of one user, each with its own cookies.
      const contexts = await Promise.all([
        browser.newContext({ viewport }),
        browser.newContext({ viewport }),
      ]);
      const [pageA, pageB] = (await Promise.all(contexts.map((context) => context.newPage()))) as [
        Page,
        Page,
      ];
      const pageErrors: string[] = [];
      for (const page of [pageA, pageB]) {
        page.on('pageerror', (error) => pageErrors.push(error.message));
      }
      // What page B sends: its deletes, its token renewals, and its change-feed subscriptions,
      // which stay open as long as B follows the feed.
      const sentByB = { deletes: 0, refreshes: 0, subscriptions: [] as string[] };
      const openStreamsOfB = new Set<unknown>();
      pageB.on('request', (request) => {
        if (request.url().includes('tasks.delete')) sentByB.deletes += 1;
        if (request.url().endsWith('/auth/refresh')) sentByB.refreshes += 1;
        if (request.url().includes('tasks.onChange')) {
          sentByB.subscriptions.push(request.url());
          openStreamsOfB.add(request);
        }
      });
      pageB.on('requestfailed', (request) => openStreamsOfB.delete(request));
      pageB.on('requestfinished', (request) => openStreamsOfB.delete(request));

      async function step(name: string, run: () => Promise<void>): Promise<void> {
        try {
          await run();
        } catch (error) {
          const files = ['a', 'b'].map((page) =>
            path.join(resultsDir, `e2e-live-${name.replace(/\W+/g, '-')}-${page}.png`),
          );
          await Promise.all(
            [pageA, pageB].map((page, index) =>
              page.screenshot({ path: files[index], fullPage: true }).catch(() => undefined),
            ),
          );
          throw new Error(`step "${name}" failed (screenshots: ${files.join(', ')})`, {
            cause: error,
          });
        }
      }
      async function snapshotB(state: string): Promise<void> {
        await pageB.screenshot({
          path: path.join(screenshotsDir, `${state}-${viewport.width}.png`),
          fullPage: true,
        });
      }

      const titlesOn = (page: Page) =>
        page.getByTestId('task-title').filter({ visible: true }).allTextContents();
      const taskOn = (page: Page, title: string) =>
        page
          .getByTestId('task')
          .filter({ has: page.getByTestId('task-title').getByText(title, { exact: true }) });
      const arrivedLive = (page: Page, title: string) =>
        taskOn(page, title).evaluate((item) => item.classList.contains('task-arrived'));
      const liveState = (page: Page) => page.getByTestId('live-status').getAttribute('data-state');
      // Changes cross the network and a database notification: generous, never a fixed wait.
      const eventually = <T>(read: () => T) => expect.poll(read, { timeout: 10_000 });

      const user = await api.signUp();
      const password = 'correct horse battery';
      /** A fresh access token of the user, as a script or another app would hold. */
      const userToken = async () => {
        const login = await api.request('/auth/login', {
          method: 'POST',
          body: { email: user.email, password },
        });
        return ((await login.json()) as { accessToken: string }).accessToken;
      };
      /** The last change id a subscription of B resumed from (its input travels in the URL). */
      const resumedFrom = (url: string | undefined) => {
        const input = new URL(url ?? '', web.origin).searchParams.get('input') ?? '{}';
        return (JSON.parse(input) as { json?: { lastEventId?: string } }).json?.lastEventId;
      };

      async function signIn(page: Page): Promise<void> {
        await page.getByLabel('Email').fill(user.email);
        await page.getByLabel('Password').fill(password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await eventually(() => liveState(page)).toBe('live');
        expect(await page.getByTestId('live-status').textContent()).toBe(
          'Live: changes made elsewhere show up here as they happen.',
        );
      }

      await step('both pages signed in, following the feed', async () => {
        await Promise.all([pageA.goto(web.origin), pageB.goto(web.origin)]);
        await signIn(pageA);
        await signIn(pageB);
        // The list loads beside the feed's subscription: it may answer after the feed is live.
        await eventually(() => pageB.getByTestId('list-state').textContent()).toBe(
          'No tasks yet. Add one above.',
        );
      });

      await step('a task created in A appears in B', async () => {
        await pageA.getByLabel('New task').fill('Book the venue');
        await pageA.getByLabel('Description (optional)').fill('Room for 40, with a projector.');
        await pageA.getByRole('button', { name: 'Add task' }).click();
        await eventually(() => titlesOn(pageB)).toEqual(['Book the venue']);
        expect(
          await taskOn(pageB, 'Book the venue').getByTestId('task-description').textContent(),
        ).toBe('Room for 40, with a projector.');
        expect(await arrivedLive(pageB, 'Book the venue')).toBe(true);
        expect(await pageB.getByTestId('list-state').textContent()).toBe('1 task');
        await snapshotB('13-live-created');
        // A's own task, echoed back by the feed: once, and not marked as news.
        expect(await titlesOn(pageA)).toEqual(['Book the venue']);
        expect(await arrivedLive(pageA, 'Book the venue')).toBe(false);
      });

      await step('an edit in A appears in B', async () => {
        await taskOn(pageA, 'Book the venue').getByTestId('task-title').click();
        await pageA.getByLabel('Title', { exact: true }).fill('Book the venue for Friday');
        await pageA.getByLabel('Title', { exact: true }).press('Enter');
        await eventually(() => titlesOn(pageB)).toEqual(['Book the venue for Friday']);
        expect(await taskOn(pageB, 'Book the venue for Friday').getAttribute('data-status')).toBe(
          'open',
        );
      });

      await step('a change in A never overwrites what B is editing: B is told', async () => {
        await pageB.getByRole('button', { name: 'Edit Book the venue for Friday' }).click();
        const titleInB = pageB.getByLabel('Title', { exact: true });
        await titleInB.fill('Book the venue for Saturday');
        await pageA.getByLabel('Status of Book the venue for Friday').selectOption('done');
        await eventually(() =>
          pageB.getByTestId('task-note').filter({ visible: true }).textContent(),
        ).toBe(
          'This task was just changed elsewhere. Cancel to see the new version; saving yours now would be refused.',
        );
        expect(await titleInB.inputValue()).toBe('Book the venue for Saturday');
        await snapshotB('14-live-changed-while-editing');
        // Cancelling shows A's version; the focus stays on the task.
        await titleInB.press('Escape');
        await eventually(() =>
          taskOn(pageB, 'Book the venue for Friday').getAttribute('data-status'),
        ).toBe('done');
        expect(await pageB.getByTestId('task-note').filter({ visible: true }).count()).toBe(0);
        expect(await pageB.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
          'Edit Book the venue for Friday',
        );
      });

      await step('a delete in A disappears from B once it is sent', async () => {
        await pageA.getByRole('button', { name: 'Delete Book the venue for Friday' }).click();
        // A sends the delete when its undo window ends; B then loses the task.
        await eventually(() => titlesOn(pageB)).toEqual([]);
        expect(await pageB.getByTestId('list-state').textContent()).toBe(
          'No tasks yet. Add one above.',
        );
      });

      await step('a task created through the REST API appears in both pages', async () => {
        const created = await api.request('/tasks', {
          method: 'POST',
          token: user.token,
          body: { title: 'Call the caterer', description: 'Vegetarian options for 40.' },
        });
        expect(created.status).toBe(201);
        await eventually(() => titlesOn(pageB)).toEqual(['Call the caterer']);
        expect(await arrivedLive(pageB, 'Call the caterer')).toBe(true);
        await snapshotB('15-live-from-api');
        // Every change of A's own came back to A through the feed too: nothing doubled.
        await eventually(() => titlesOn(pageA)).toEqual(['Call the caterer']);
      });

      await step('deleted elsewhere while B could still undo its own delete', async () => {
        await pageB.getByRole('button', { name: 'Delete Call the caterer' }).click();
        const toast = pageB.getByTestId('undo-toast');
        // The pointer on the toast holds B's undo window open for as long as the step takes.
        await toast.hover();
        const { id } = await api.db.task.findFirstOrThrow({
          where: { ownerId: user.id, title: 'Call the caterer' },
        });
        const removed = await api.request(`/tasks/${id}`, { method: 'DELETE', token: user.token });
        expect(removed.status).toBe(204);
        await eventually(() => pageB.getByTestId('notice').textContent()).toBe(
          '“Call the caterer” was deleted elsewhere too: it can no longer be restored.',
        );
        expect(await toast.isVisible()).toBe(false);
        expect(sentByB.deletes).toBe(0);
        await eventually(() => titlesOn(pageA)).toEqual([]);
      });

      await step('expired access tokens are renewed and the feed resumes', async () => {
        try {
          // The server ends each stream once its token has expired; B renews its token and
          // subscribes again.
          apiClockAheadMs = minutes(16);
          await api.request('/tasks', {
            method: 'POST',
            token: await userToken(),
            body: { title: 'Send the invitations' },
          });
          await eventually(() => titlesOn(pageB)).toEqual(['Send the invitations']);
          expect(sentByB.refreshes).toBeGreaterThan(0);
          // Once more: now the client has used its own retry of that subscription, the app
          // subscribes anew, from the last change it received rather than from the start.
          const subscriptionsBefore = sentByB.subscriptions.length;
          apiClockAheadMs = minutes(32);
          await api.request('/tasks', {
            method: 'POST',
            token: await userToken(),
            body: { title: 'Order the flowers' },
          });
          const expected = ['Order the flowers', 'Send the invitations'];
          await eventually(() => titlesOn(pageB)).toEqual(expected);
          await eventually(() => titlesOn(pageA)).toEqual(expected);
          expect(sentByB.subscriptions.length).toBeGreaterThan(subscriptionsBefore);
          expect(resumedFrom(sentByB.subscriptions.at(-1))).not.toBe(
            resumedFrom(sentByB.subscriptions[0]),
          );
          expect(await liveState(pageB)).toBe('live');
        } finally {
          apiClockAheadMs = 0;
        }
      });

      await step('signing out stops following; signing in follows again', async () => {
        await pageB.getByRole('button', { name: 'Sign out' }).click();
        await pageB.getByRole('heading', { name: 'Sign in or create an account' }).waitFor();
        expect(await pageB.getByTestId('live-status').isVisible()).toBe(false);
        await eventually(() => openStreamsOfB.size).toBe(0);
        await signIn(pageB);
        await pageA.getByLabel('New task').fill('Print the name tags');
        await pageA.getByRole('button', { name: 'Add task' }).click();
        await eventually(() => titlesOn(pageB)).toEqual([
          'Print the name tags',
          'Order the flowers',
          'Send the invitations',
        ]);
      });

      expect(pageErrors).toEqual([]);
      await Promise.all(contexts.map((context) => context.close()));
    }, 120_000);

    it.each(viewports)(
      'resets a forgotten password and confirms the address from the mails at $width px',
      async (viewport) => {
        const page = await browser.newPage({ viewport });
        const { pageErrors, missing } = watchPage(page, web.origin);
        const { step, snapshot } = walkOf(page, viewport.width);
        const text = (testId: string) => page.getByTestId(testId).textContent();
        const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000 });
        const heading = (name: string) => page.getByRole('heading', { name, exact: true });
        /** The name of the control with the focus, as a screen reader says it (roughly). */
        const focused = () =>
          page.evaluate(() => {
            const active = document.activeElement;
            if (active === null) return '';
            return active.getAttribute('aria-label') ?? active.textContent.trim();
          });
        const focusedId = () => page.evaluate(() => document.activeElement?.id);
        const reminder = page.getByTestId('verify-reminder');

        const stamp = `${viewport.width}-${Date.now()}`;
        const email = `forgot-${stamp}@example.com`;
        const oldPassword = 'correct horse battery';
        const newPassword = 'a brand new secret';
        const register = async (address: string) => {
          const registered = await api.request('/auth/register', {
            method: 'POST',
            body: { email: address, password: oldPassword },
          });
          expect(registered.status).toBe(201);
        };
        async function signIn(address: string, password: string): Promise<void> {
          await page.getByLabel('Email').fill(address);
          await page.getByLabel('Password').fill(password);
          await page.getByRole('button', { name: 'Sign in' }).click();
        }
        await register(email);
        const emailVerifiedAt = async (address: string) =>
          (await api.db.user.findUniqueOrThrow({ where: { email: address } })).emailVerifiedAt;

        let resetLink = '';

        await step('ask for a reset link from the sign-in form', async () => {
          await page.goto(web.origin);
          await page.getByLabel('Email').fill(email);
          await page.getByRole('link', { name: 'Forgot password?' }).click();
          await heading('Reset your password').waitFor();
          expect(page.url()).toBe(`${web.origin}/forgot-password`);
          expect(await page.title()).toBe('Reset your password · Tasks');
          // The address typed into the sign-in form comes along, and has the focus.
          const address = page.getByRole('textbox', { name: 'Email' });
          expect(await address.inputValue()).toBe(email);
          expect(await focusedId()).toBe('forgot-email');
          await snapshot('16-forgot-password');

          await address.fill('ann@example');
          await page.getByRole('button', { name: 'Send the link' }).click();
          await poll(() => page.locator('#forgot-email-error').textContent()).toBe(
            'Enter a valid email address, like ann@example.com.',
          );
          expect(await address.getAttribute('aria-invalid')).toBe('true');
          expect(await text('error')).toBe('Some fields need another look.');

          await address.fill(email);
          await page.getByRole('button', { name: 'Send the link' }).click();
          // The API's answer, the same whether or not the address has an account.
          await poll(() => text('notice')).toBe(
            'If an account has this address, a link to reset its password is on its way.',
          );
          expect(await page.getByTestId('error').isVisible()).toBe(false);
          expect(await address.getAttribute('aria-invalid')).toBe('false');
          expect(await focused()).toBe('Back to sign in');
          await snapshot('17-reset-link-sent');
        });

        await step(
          'the mailed link opens the new-password form, its token out of sight',
          async () => {
            const mail = await mailbox.next(email, /reset your tasks password/i);
            resetLink = linkIn(mail, 'reset-password');
            expect(resetLink.startsWith(`${web.origin}/reset-password#token=`)).toBe(true);
            await page.goto(resetLink);
            await heading('Choose a new password').waitFor();
            expect(page.url()).toBe(`${web.origin}/reset-password`);
            expect(await focusedId()).toBe('new-password');
            await snapshot('18-new-password');

            await page.getByLabel('New password', { exact: true }).fill('short');
            await page.getByRole('button', { name: 'Set the new password' }).click();
            await poll(() => page.locator('#new-password-error').textContent()).toBe(
              'Use at least 8 characters.',
            );
            expect(
              await page.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'),
            ).toBe('true');
            expect(await focusedId()).toBe('new-password');
          },
        );

        await step('a new password, then the sign-in form says so', async () => {
          await page.getByLabel('New password', { exact: true }).fill(newPassword);
          await page.getByRole('button', { name: 'Set the new password' }).click();
          await heading('Sign in or create an account').waitFor();
          expect(page.url()).toBe(`${web.origin}/`);
          expect(await page.title()).toBe('Tasks');
          expect(await text('notice')).toBe(
            'Your password has been reset. Sign in with the new one.',
          );
          expect(await focusedId()).toBe('email');
          await snapshot('19-password-reset');
        });

        await step('the link works once: the page offers a new one', async () => {
          await page.goto(resetLink);
          await page.getByLabel('New password', { exact: true }).fill('yet another secret');
          await page.getByRole('button', { name: 'Set the new password' }).click();
          await poll(() => text('error')).toBe(
            'This password reset link no longer works: it has expired, was used already, or a newer one replaced it.',
          );
          expect(await page.getByLabel('New password', { exact: true }).count()).toBe(0);
          expect(await focused()).toBe('Ask for a new link');
          await snapshot('20-reset-link-used');
          await page.getByRole('link', { name: 'Ask for a new link' }).click();
          await heading('Reset your password').waitFor();
          expect(page.url()).toBe(`${web.origin}/forgot-password`);
          expect(await page.getByTestId('error').isVisible()).toBe(false);
          await page.getByRole('link', { name: 'Back to sign in' }).click();
          await heading('Sign in or create an account').waitFor();
          // Back returns to the page before, as with any link.
          await page.goBack();
          await heading('Reset your password').waitFor();
          await page.goForward();
          await heading('Sign in or create an account').waitFor();
          expect(page.url()).toBe(`${web.origin}/`);
        });

        await step('the old password no longer signs in, the new one does', async () => {
          await signIn(email, oldPassword);
          await poll(() => text('error')).toBe('That email and password do not match an account.');
          await signIn(email, newPassword);
          await poll(() => text('account-email')).toBe(email);
          await reminder.waitFor();
          expect(await reminder.locator('.reminder-text').innerText()).toBe(
            `Confirm your email address: open the link we mailed to ${email}.`,
          );
          expect(await focusedId()).toBe('new-title');
          await snapshot('21-verify-reminder');
        });

        await step('a confirmation link that does not work', async () => {
          await page.goto(`${web.origin}/verify-email#token=${'x'.repeat(43)}`);
          await poll(() => text('error')).toBe(
            'This confirmation link no longer works: it has expired, was used already, or a newer one replaced it.',
          );
          expect(page.url()).toBe(`${web.origin}/verify-email`);
          expect(await heading('Confirm your email address').isVisible()).toBe(true);
          // Signed in and not confirmed: a new link is one click away.
          expect(await focused()).toBe('Send a new link');
          await snapshot('22-verify-link-invalid');
          await page.getByRole('link', { name: 'Go to your tasks' }).click();
          await heading('Your tasks').waitFor();
          await reminder.waitFor();
        });

        await step('the link of the registration mail confirms the address', async () => {
          const mail = await mailbox.next(email, /confirm your email/i);
          const link = linkIn(mail, 'verify-email');
          expect(link.startsWith(`${web.origin}/verify-email#token=`)).toBe(true);
          await page.goto(link);
          await poll(() => text('notice')).toBe('Your email address is confirmed. Thank you!');
          expect(page.url()).toBe(`${web.origin}/`);
          await heading('Your tasks').waitFor();
          expect(await reminder.isVisible()).toBe(false);
          expect(await emailVerifiedAt(email)).not.toBeNull();
          await snapshot('23-email-verified');
          // Opened again: nothing left to do, and nothing to alarm anyone either.
          await page.goto(link);
          await poll(() => text('notice')).toBe('Your email address is confirmed already.');
          expect(await reminder.isVisible()).toBe(false);
          expect(await page.getByTestId('error').isVisible()).toBe(false);
        });

        const other = `unconfirmed-${stamp}@example.com`;
        await step('the reminder mails the link again, voiding the first', async () => {
          await register(other);
          await page.getByRole('button', { name: 'Sign out' }).click();
          await heading('Sign in or create an account').waitFor();
          await signIn(other, oldPassword);
          await poll(() => text('account-email')).toBe(other);
          await reminder.waitFor();
          const first = linkIn(await mailbox.next(other, /confirm your email/i), 'verify-email');
          await page.getByRole('button', { name: 'Send the link again' }).click();
          await poll(() => text('notice')).toBe('A new verification link is on its way.');
          expect(await focused()).toBe('Send the link again');
          await mailbox.next(other, /confirm your email/i);
          await page.goto(first);
          await poll(() => text('error')).toBe(
            'This confirmation link no longer works: it has expired, was used already, or a newer one replaced it.',
          );
        });

        let newest = '';
        await step('a new link from the page of one that does not work', async () => {
          await page.getByRole('button', { name: 'Send a new link' }).click();
          await poll(() => text('notice')).toBe('A new verification link is on its way.');
          expect(await page.getByTestId('error').isVisible()).toBe(false);
          expect(await focused()).toBe('Send a new link');
          await snapshot('24-verify-link-sent');
          newest = linkIn(await mailbox.next(other, /confirm your email/i), 'verify-email');
        });

        await step('the reminder can be dismissed, and stays so on reload', async () => {
          await page.getByRole('link', { name: 'Go to your tasks' }).click();
          await reminder.waitFor();
          await page.getByRole('button', { name: 'Dismiss' }).click();
          expect(await reminder.isVisible()).toBe(false);
          expect(await focusedId()).toBe('new-title');
          await page.reload();
          await heading('Your tasks').waitFor();
          await poll(() => text('list-state')).toBe('No tasks yet. Add one above.');
          expect(await reminder.isVisible()).toBe(false);
        });

        await step('signed out, a confirmation link still works', async () => {
          await page.getByRole('button', { name: 'Sign out' }).click();
          await heading('Sign in or create an account').waitFor();
          expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
          await page.goto(newest);
          await poll(() => text('notice')).toBe(
            'Your email address is confirmed. Sign in to continue.',
          );
          await heading('Sign in or create an account').waitFor();
          expect(await emailVerifiedAt(other)).not.toBeNull();
          // Signed out, a link that does not work says where a new one comes from.
          await page.goto(newest);
          await poll(() => text('error')).toBe(
            'This confirmation link no longer works: it has expired, was used already, or a newer one replaced it.',
          );
          expect(await focused()).toBe('Sign in');
          await page.getByRole('link', { name: 'Sign in' }).click();
          await heading('Sign in or create an account').waitFor();
          // Reloaded, the reset page has no token left: it says where to get one.
          await page.goto(`${web.origin}/reset-password`);
          await poll(() => text('error')).toBe(
            'This page works only from the link in your email: open that link again, or ask for a new one.',
          );
        });

        expect(pageErrors).toEqual([]);
        expect(missing).toEqual([]);
        await page.close();
      },
      120_000,
    );
  },
);
