/**
 * `/docs` in a real browser (Debian's Chromium through playwright-core): it renders every
 * operation, offers bearer authentication, and loads nothing from outside this server. The
 * screenshot lands in apps/server/test-results/ (git-ignored). `.ci/run` installs Chromium; on a
 * machine without it the test is skipped, saying so.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { chromiumMissing, describeWhere } from '@tasks/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const resultsDir = fileURLToPath(new URL('../test-results/', import.meta.url));

describeWhere(chromiumMissing(chromiumPath), `/docs in headless Chromium (${chromiumPath})`, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
  });

  it('renders from local assets only and lets a user authorize and try a request', async () => {
    const user = await server.signUp();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const foreignRequests: string[] = [];
    page.on('request', (request) => {
      const { hostname, protocol } = new URL(request.url());
      if (hostname !== '127.0.0.1' && protocol !== 'data:') foreignRequests.push(request.url());
    });

    expect((await page.goto(`${server.baseUrl}/docs`))?.status()).toBe(200);
    await page.getByText('Rotate the refresh token').first().waitFor({ timeout: 20_000 });
    await page.getByPlaceholder('Token').first().fill(user.token);
    await page.getByText('The signed-in account').first().click();
    await page
      .getByRole('button', { name: /Test Request/ })
      .filter({ hasText: 'get /auth/me' })
      .click();
    const answer = page.waitForResponse((response) => response.url().endsWith('/auth/me'));
    await page.getByRole('button', { name: /^Send/ }).first().click();
    const response = await answer;

    expect(response.status()).toBe(200);
    expect(await response.json()).toMatchObject({ email: user.email });
    await mkdir(resultsDir, { recursive: true });
    await page.screenshot({ path: `${resultsDir}docs.png` });
    expect(foreignRequests).toEqual([]);
  }, 60_000);
});
