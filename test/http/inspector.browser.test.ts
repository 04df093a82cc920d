import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, ensureChromium } from './chromium.js';
import { approval, echo } from './fixtures.js';
import { start, type TestServer } from './support.js';

const browser = await ensureChromium();
if ('reason' in browser) console.warn(`skipping the inspector browser tests: ${browser.reason}`);

describe.skipIf('reason' in browser)('inspector in chromium', { timeout: 60_000 }, () => {
  let profile: string;
  let context: BrowserContext;
  let server: TestServer;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: (browser as { path: string }).path,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    // Everything the page needs comes from the server under test (no CDN): any other request fails.
    await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  afterEach(async () => {
    await page?.close();
    await server?.close();
    expect(pageErrors).toEqual([]);
  });

  async function open(path = '/', token?: string): Promise<Page> {
    page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(msg.text()));
    await page.goto(server.url + path + (token === undefined ? '' : `?access_token=${token}`));
    return page;
  }

  const status = (p: Page, value: string) => p.locator('#run-status', { hasText: new RegExp(`^${value}$`) }).waitFor();

  it('starts a run from the page, watches it wait for input, answers it and sees it complete', async () => {
    server = await start({ workflows: [approval, echo] });
    const p = await open();
    const form = p.locator('form[data-workflow="approval"]');
    await form.locator('textarea').fill('"Release notes"');
    await form.getByRole('button', { name: 'Start run' }).click();

    await status(p, 'waiting');
    const request = p.locator('#waiting li');
    await expect.poll(() => request.locator('.prompt').textContent()).toBe('Publish Release notes?');
    await p.locator('#timeline li[data-kind="input_requested"]').waitFor();
    expect(await p.locator('#graph g.node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-step')))).toEqual([
      'draft',
      'review',
      'publish',
    ]);
    expect(await p.locator('#steps li[data-step="review"]').textContent()).toBe('review accepts Draft · emits Approved, StopEvent');
    // State is transactional per invocation: the waiting review step's write is not committed yet.
    expect(await p.locator('#state').textContent()).not.toContain('Release notes');

    await request.locator('input').fill('yes');
    await request.getByRole('button', { name: 'Answer' }).click();

    await status(p, 'completed');
    await p.locator('#timeline li[data-kind="run_completed"]').waitFor();
    await p.locator('#stream-state', { hasText: '(ended)' }).waitFor();
    expect(await p.locator('#result').textContent()).toBe('"published Release notes"');
    expect(await p.locator('#waiting li').count()).toBe(0);
    const seqs = await p.locator('#timeline li[data-seq]').evaluateAll((items) => items.map((i) => Number(i.getAttribute('data-seq'))));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const runId = (await server.registry.list())[0]!.runId;
    await p.locator(`#runs li[data-run-id="${runId}"] .badge`, { hasText: 'completed' }).waitFor();
  });

  it('pauses, resumes and aborts a run with its buttons', async () => {
    server = await start({ workflows: [approval] });
    const p = await open();
    await p.locator('form[data-workflow="approval"]').getByRole('button', { name: 'Start run' }).click();
    await status(p, 'waiting');

    await p.getByRole('button', { name: 'Pause', exact: true }).click();
    await status(p, 'paused');
    await p.locator('#timeline li[data-kind="run_paused"]').waitFor();
    expect(await p.getByRole('button', { name: 'Pause', exact: true }).isDisabled()).toBe(true);

    await p.getByRole('button', { name: 'Resume', exact: true }).click();
    await status(p, 'waiting');
    await p.locator('#timeline li[data-kind="run_resumed"]').waitFor();

    await p.getByRole('button', { name: 'Abort', exact: true }).click();
    await status(p, 'aborted');
    await p.locator('#timeline li[data-kind="run_aborted"]').waitFor();
    expect(await p.locator('#result').textContent()).toContain('aborted from the inspector');
    expect(await p.getByRole('button', { name: 'Abort', exact: true }).isDisabled()).toBe(true);
  });

  it('works behind a bearer token when opened with ?access_token=', async () => {
    server = await start({ workflows: [echo], token: 'tok3n' });
    const p = await open('/', 'tok3n');
    const form = p.locator('form[data-workflow="echo"]');
    await form.locator('textarea').fill('quiet');
    await form.getByRole('button', { name: 'Start run' }).click();
    await status(p, 'completed');
    await p.locator('#timeline li[data-kind="run_completed"]').waitFor();
    expect(await p.locator('#result').textContent()).toBe('"QUIET"');
  });
});
