import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, ensureChromium } from './chromium.js';
import { MemoryStore, StartEvent, StopEvent, workflow } from 'sluice';
import { approval, echo } from './fixtures.js';
import { abortLive, inspectorWorkflows, seed } from './inspectorFixtures.js';
import { start, type TestServer } from './support.js';

/** The inspector's clock: the time alone for today, with its date for another day (a test may run across midnight). */
const CLOCK = String.raw`(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d`;

const browser = await ensureChromium();
if ('reason' in browser) console.warn(`skipping the inspector browser tests: ${browser.reason}`);

describe.skipIf('reason' in browser)('inspector in chromium', { timeout: 60_000 }, () => {
  let profile: string;
  let context: BrowserContext;
  let server: TestServer | undefined;
  let page: Page | undefined;
  let pageErrors: string[];

  beforeAll(async () => {
    profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: (browser as { path: string }).path,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
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
    if (server !== undefined) await abortLive(server);
    await server?.close();
    page = undefined;
    server = undefined;
    // Includes Content-Security-Policy violations, which Chromium reports as console errors.
    expect(pageErrors).toEqual([]);
  });

  async function open(path = '/', token?: string): Promise<Page> {
    const p = await context.newPage();
    page = p;
    pageErrors = [];
    p.on('pageerror', (error) => pageErrors.push(error.message));
    p.on('console', (msg) => msg.type() === 'error' && !/status of 404/.test(msg.text()) && pageErrors.push(msg.text()));
    await p.goto(server!.url + (token === undefined ? path : `/?access_token=${token}${path.slice(1)}`));
    return p;
  }

  const status = (p: Page, value: string) => p.locator('#run-status', { hasText: new RegExp(`^${value}$`) }).waitFor();
  const texts = (p: Page, selector: string) => p.locator(selector).evaluateAll((nodes) => nodes.map((n) => n.textContent?.trim() ?? ''));
  const attrs = (p: Page, selector: string, name: string) =>
    p.locator(selector).evaluateAll((nodes, a) => nodes.map((n) => n.getAttribute(a)), name);

  describe('with 100 runs and a failed, a waiting, a sleeping, an idle, a retried and a sub-workflow run in the store', () => {
    let ids: Awaited<ReturnType<typeof seed>>;
    const seeded = async () => {
      server = await start({ workflows: inspectorWorkflows });
      ids = await seed(server, 100);
    };

    it('lists the runs newest first, 50 a page, with status counts, a status filter, search and times', async () => {
      await seeded();
      const p = await open();
      await p.locator('#runs tbody tr').first().waitFor();
      expect(await p.locator('#runs tbody tr').count()).toBe(50);
      expect(await p.locator('#page-info').textContent()).toBe('1–50 of 106');
      expect(await texts(p, '#status-filter button')).toEqual([
        'all106', 'running1', 'waiting2', 'paused0', 'completed102', 'failed1', 'aborted0', 'timed_out0',
      ]);
      const onPage = await attrs(p, '#runs tbody tr', 'data-run-id');
      expect(onPage).toEqual(expect.arrayContaining([ids.waiting, ids.sleeping, ids.idle, ids.failed, ids.pipeline, ids.nested]));
      // The idle run is running, with an idle badge saying since when and which step completed without output.
      const idleBadge = p.locator(`#runs tbody tr[data-run-id="${ids.idle}"] .badge.idle`);
      expect(await texts(p, `#runs tbody tr[data-run-id="${ids.idle}"] .badge`)).toEqual(['running', 'idle']);
      expect(await idleBadge.getAttribute('title')).toMatch(new RegExp(`^idle since ${CLOCK} — last step file completed without output$`));
      expect(await p.locator('#runs tbody .badge.idle').count()).toBe(1);
      expect((await texts(p, `#runs tbody tr[data-run-id="${ids.sleeping}"] td`)).slice(1, 3)).toEqual(['errand', 'waiting']);
      const waitingRow = await texts(p, `#runs tbody tr[data-run-id="${ids.waiting}"] td`);
      expect(waitingRow.slice(1, 3)).toEqual(['approval', 'waiting']);
      expect(waitingRow[3]).toMatch(new RegExp(`^${CLOCK}$`)); // started
      expect(waitingRow[5]).toMatch(/ (ms|s)$/); // duration so far

      await p.getByRole('button', { name: 'Older ›' }).click();
      await p.locator('#page-info', { hasText: '51–100 of 106' }).waitFor();
      await p.getByRole('button', { name: 'Older ›' }).click();
      await p.locator('#page-info', { hasText: '101–106 of 106' }).waitFor();
      expect(await p.getByRole('button', { name: 'Older ›' }).isDisabled()).toBe(true);

      await p.locator('#status-filter button[data-status="failed"]').click();
      await p.locator('#page-info', { hasText: '1–1 of 1' }).waitFor();
      expect(await attrs(p, '#runs tbody tr', 'data-run-id')).toEqual([ids.failed]);

      await p.locator('#status-filter button[data-status="all"]').click();
      await p.locator('#search').fill('pipe');
      await p.locator('#page-info', { hasText: '1–1 of 1' }).waitFor();
      expect(await attrs(p, '#runs tbody tr', 'data-run-id')).toEqual([ids.pipeline]);
      await p.locator('#search').fill(ids.nested.slice(0, 12));
      await p.locator(`#runs tbody tr[data-run-id="${ids.nested}"]`).waitFor();
      expect(await p.locator('#runs tbody tr').count()).toBe(1);

      // Each run has a URL of its own.
      await p.locator(`#runs tbody tr[data-run-id="${ids.nested}"] td`).nth(1).click();
      await p.waitForURL(`**/#/runs/${ids.nested}`);
      await status(p, 'completed');
    });

    it('updates the list live when a run starts', async () => {
      await seeded();
      const p = await open();
      await p.locator('#page-info', { hasText: 'of 106' }).waitFor();
      const started = await server!.call('POST', '/api/workflows/approval/runs', { input: 'live' });
      await p.locator(`#runs tbody tr[data-run-id="${started.body.runId}"]`).waitFor({ timeout: 10_000 });
      await p.locator('#page-info', { hasText: 'of 107' }).waitFor();
    });

    it('draws a retried, concurrent step in the waterfall and shows an invocation’s input, attempts, outputs and stream', async () => {
      await seeded();
      const p = await open(`/#/runs/${ids.pipeline}`);
      await status(p, 'completed');
      await p.locator('#stream-state', { hasText: '(ended)' }).waitFor();
      const rows = await attrs(p, '#waterfall .wf-row[data-invocation]', 'data-step');
      expect([...rows].sort()).toEqual(['count', 'count', 'count', 'split', 'total', 'total', 'total']);
      expect(rows[0]).toBe('split');
      expect(await attrs(p, '#waterfall .wf-row[data-step="count"]', 'data-attempts')).toEqual(['1', '2', '1']);
      expect(await p.locator('#waterfall .wf-row[data-attempts="2"] .bar.retried').count()).toBe(1);
      expect(await p.locator('#waterfall .wf-row[data-attempts="2"] .bar.done').count()).toBe(1);
      // Concurrency 2: the first two chunks overlap in time.
      // Query and measure in one evaluation: the waterfall may redraw between a locator's query and its
      // evaluation, and a detached bar measures 0 × 0.
      const boxes = await p.evaluate(() =>
        Array.from(document.querySelectorAll('#waterfall .wf-row[data-step="count"] .bar')).map((b) => [b.getBoundingClientRect().left, b.getBoundingClientRect().right]),
      );
      expect(boxes[1]![0]!).toBeLessThan(boxes[0]![1]!);

      await p.locator('#waterfall .wf-row[data-attempts="2"]').click();
      const detail = p.locator('#detail');
      await detail.locator('dd', { hasText: 'count' }).first().waitFor();
      const text = (await detail.textContent()) ?? '';
      expect(text).toContain('"n": 2'); // the input event
      expect(text).toContain('connection reset'); // the failed first attempt
      expect(text).toContain('"words": 200'); // its output, and no other invocation's
      expect(text).not.toContain('"words": 100');
      expect(text).toContain('"type": "progress"'); // what ctx.write published
      expect(await texts(p, '#detail h3')).toEqual(['input event', 'attempts', 'outputs', 'ctx.write stream']);

      // The graph: start → split → count → total → end, counts per step.
      expect(await attrs(p, '#graph g.node', 'data-terminal')).toEqual(['start', null, null, null, 'end']);
      expect(await attrs(p, '#graph g.node[data-step] .counts', 'data-counts')).toEqual(['0/1/0', '0/3/0', '0/3/0']);
      expect(await p.locator('#outcome #result').textContent()).toBe('{"words":600}');
    });

    it('folds checkpoints in the event log, filters it by kind and shows a clicked event’s payload', async () => {
      await seeded();
      const p = await open(`/#/runs/${ids.pipeline}`);
      await p.locator('#stream-state', { hasText: '(ended)' }).waitFor();
      const visibleKinds = () => p.locator('#timeline li:not([hidden])').evaluateAll((items) => items.map((i) => i.getAttribute('data-kind') ?? 'fold'));
      expect(await visibleKinds()).not.toContain('checkpoint_saved');
      expect(await visibleKinds()).toContain('fold');
      expect(await p.locator('#timeline li[data-fold="checkpoint"]').first().textContent()).toMatch(/^· \d+ checkpoints? saved$/);
      const seqs = await attrs(p, '#timeline li[data-seq]', 'data-seq');
      expect(seqs.map(Number)).toEqual(seqs.map((_, i) => i + 1));

      await p.locator('#kind-filter').selectOption('step');
      expect(new Set(await visibleKinds())).toEqual(new Set(['step_started', 'step_completed', 'step_retried']));
      await p.locator('#kind-filter').selectOption('checkpoint');
      expect(new Set(await visibleKinds())).toEqual(new Set(['checkpoint_saved']));
      await p.locator('#kind-filter').selectOption('error');
      expect(await visibleKinds()).toEqual(['step_retried']);

      await p.locator('#timeline li[data-kind="step_retried"]').click();
      expect(await texts(p, '#detail h3')).toEqual(['error', 'payload']);
      expect(await p.locator('#detail .error pre').first().textContent()).toBe('step_failed: chunk 2: connection reset');
      await p.getByRole('button', { name: 'show invocation count' }).click();
      expect(await texts(p, '#detail h3')).toContain('attempts');
    });

    it('shows a failed run’s error and step, highlights the failing step and opens the failure', async () => {
      await seeded();
      const p = await open(`/#/runs/${ids.failed}`);
      await status(p, 'failed');
      await p.locator('#outcome.bad').waitFor();
      expect(await p.locator('#outcome b').textContent()).toBe('step_failed in step charge');
      expect(await p.locator('#outcome pre').textContent()).toBe("step_failed: step 'charge' failed: card declined");
      await p.locator('#graph g.node.failed[data-step="charge"]').waitFor();
      expect(await attrs(p, '#graph g.node[data-step] .counts', 'data-counts')).toEqual(['0/1/0', '0/0/1']);
      expect(await p.locator('#waterfall .wf-row[data-step="charge"] .bar.failed').count()).toBe(1);
      await p.locator('#timeline li[data-kind="step_failed"]').click();
      const errorLines = await texts(p, '#detail .error pre');
      expect(errorLines[0]).toBe("step_failed: step 'charge' failed: card declined");
      expect(errorLines[1]).toContain('"message": "issuer unavailable (503)"'); // the thrown error's cause
      expect(errorLines[2]).toMatch(/^Error: card declined\n\s+at /); // and its stack
      expect(await p.getByRole('button', { name: 'Abort', exact: true }).isDisabled()).toBe(true);
    });

    it('shows a real sleep and event wait with their kinds and due times, and ends the wait with the send form', async () => {
      await seeded();
      const p = await open(`/#/runs/${ids.sleeping}`);
      await status(p, 'waiting');
      await p.locator('#waiting li[data-wait-kind="event"]').waitFor();
      expect(await attrs(p, '#waiting > li', 'data-wait-kind')).toEqual(['sleep', 'event']);
      const sleep = p.locator('#waiting li[data-wait-kind="sleep"]');
      expect(await sleep.locator('.prompt').textContent()).toMatch(new RegExp(`^sleeps until ${CLOCK}$`));
      // ctx.sleep(60_000) a moment ago: due in (nearly) a minute.
      expect(await sleep.locator('.due').textContent()).toMatch(/^in (59\.\d s|1 m)$/);
      expect(await sleep.locator('form').count()).toBe(0);
      const eventWait = p.locator('#waiting li[data-wait-kind="event"]');
      expect(await eventWait.locator('.prompt').textContent()).toBe('waits for event Paid');
      expect(await eventWait.locator('.due').textContent()).toMatch(new RegExp(`^deadline ${CLOCK} \\(in (59 m( \\d+ s)?|1 h)\\)$`));
      // Each wait is drawn on its invocation's row, and the graph counts both steps as waiting.
      await p.locator('#waterfall .wf-row[data-step="nap"] .bar.sleep').waitFor();
      await p.locator('#waterfall .wf-row[data-step="pay"] .bar.wait').waitFor();
      expect(await p.locator('#waterfall .wf-row[data-wait]').count()).toBe(0);
      expect(await texts(p, '#graph g.node[data-step] .counts')).toEqual(['1 waiting · 0 done', '1 waiting · 0 done']);
      expect(await attrs(p, '#graph g.node.waiting', 'data-step')).toEqual(['nap', 'pay']);

      expect(await eventWait.locator('input[aria-label="event type"]').inputValue()).toBe('Paid');
      await eventWait.locator('input[aria-label="event data"]').fill('{"amount": 42}');
      await eventWait.getByRole('button', { name: 'Send event' }).click();
      await status(p, 'completed');
      expect(await p.locator('#result').textContent()).toBe('"paid 42"');
      expect(await p.locator('#waiting-section').isHidden()).toBe(true);
    });

    it('shows an idle run as idle, with the step that completed without output, and revives it with an event', async () => {
      await seeded();
      const p = await open(`/#/runs/${ids.idle}`);
      await status(p, 'running');
      await p.locator('#idle-line').waitFor();
      expect(await p.locator('#run-idle').isVisible()).toBe(true);
      expect(await p.locator('#idle-line').textContent()).toMatch(new RegExp(`^idle since ${CLOCK} — last step file completed without output$`));
      await p.locator('#timeline li[data-kind="run_idle"]').waitFor();
      await p.locator('#graph g.node.idle[data-step="file"]').waitFor();
      expect(await p.locator('#graph g.node.idle').count()).toBe(1);
      expect((await p.locator('#timeline li[data-kind="run_idle"] .desc').textContent())?.trim()).toBe('nothing left to do — last step file completed without output');

      const idle = p.locator('#idle');
      await idle.locator('input[aria-label="event type"]').fill('Filed');
      await idle.locator('input[aria-label="event data"]').fill('{"title": "again"}');
      await idle.getByRole('button', { name: 'Send event' }).click();
      // `file` ran again and the run went idle again: a second run_idle, and the panel shows the new one.
      await expect.poll(() => p.locator('#timeline li[data-kind="run_idle"]').count(), { timeout: 10_000 }).toBe(2);
      await expect.poll(() => p.locator('#graph g.node[data-step="file"] .counts').textContent()).toContain('2 done');
      expect(await p.locator('#run-status').textContent()).toBe('running');
      expect(await p.locator('#idle-line').isVisible()).toBe(true);
    });

    it('expands a sub-workflow invocation into its child run’s steps', async () => {
      await seeded();
      const p = await open(`/#/runs/${ids.nested}`);
      await status(p, 'completed');
      await p.locator('#stream-state', { hasText: '(ended)' }).waitFor();
      expect(await attrs(p, '#waterfall .wf-row[data-invocation]', 'data-step')).toEqual(['plan', 'research', 'write']);
      expect(await p.locator('#waterfall .wf-row[data-step="research"] .toggle').textContent()).toBe('▸');
      await p.locator('#waterfall .wf-row[data-step="research"] .toggle').click();
      expect(await attrs(p, '#waterfall .wf-row[data-invocation]', 'data-step')).toEqual(['plan', 'research', 'search', 'summarize', 'write']);
      expect(await p.locator('#waterfall .wf-row[data-child-run] .label').textContent()).toMatch(/^↳ researcher [0-9a-f]{8}$/);
      await p.locator('#waterfall .wf-row[data-child-run]').click();
      expect(await p.locator('#detail').textContent()).toContain('"5 pages"');
      await p.locator('#waterfall .wf-row[data-step="research"] .toggle').click();
      expect(await attrs(p, '#waterfall .wf-row[data-invocation]', 'data-step')).toEqual(['plan', 'research', 'write']);
    });
  });

  it('answers a waiting run’s input request from its page and sees it complete', async () => {
    server = await start({ workflows: [approval, echo] });
    const p = await open();
    const form = p.locator('form[data-workflow="approval"]');
    await form.locator('textarea').fill('"Release notes"');
    await form.getByRole('button', { name: 'Start run' }).click();
    await p.waitForURL(/#\/runs\/.+/);

    await status(p, 'waiting');
    const request = p.locator('#waiting li[data-wait-kind="input"]');
    await expect.poll(() => request.locator('.prompt').textContent()).toBe('Publish Release notes?');
    expect(await request.locator('.kind-tag').textContent()).toBe('input');
    await p.locator('#timeline li[data-kind="input_requested"]').waitFor();
    await p.locator('#waterfall .wf-row[data-step="review"] .bar.wait').waitFor();
    expect(await p.locator('#graph g.node[data-step="review"] .counts').textContent()).toBe('1 waiting · 0 done');
    expect(await attrs(p, '#graph g.node[data-step]', 'data-step')).toEqual(['draft', 'review', 'publish']);
    // State is transactional per invocation: the waiting review step's write is not committed yet.
    expect(await p.locator('#state').textContent()).not.toContain('Release notes');

    await request.locator('input[aria-label^="answer"]').fill('yes');
    await request.getByRole('button', { name: 'Answer' }).click();

    await status(p, 'completed');
    await p.locator('#timeline li[data-kind="run_completed"]').waitFor();
    await p.locator('#stream-state', { hasText: '(ended)' }).waitFor();
    expect(await p.locator('#result').textContent()).toBe('"published Release notes"');
    expect(await p.locator('#waiting li').count()).toBe(0);
    expect(await p.locator('#waiting-section').isHidden()).toBe(true);
    await p.locator('a.back').click();
    await p.locator('#runs tbody tr .badge', { hasText: 'completed' }).waitFor();
  });

  it('draws the first 300 invocations of a large run and the rest on request', async () => {
    server = await start({ workflows: inspectorWorkflows });
    const run = server.registry.start('fanout', null, undefined);
    await run.result;
    const p = await open(`/#/runs/${run.id}`);
    await p.locator('#stream-state', { hasText: '(ended)' }).waitFor();
    await p.locator('#graph g.node[data-step="each"] .counts', { hasText: '350 done' }).waitFor();
    expect(await p.locator('#waterfall .wf-row[data-invocation]').count()).toBe(300);
    await p.getByRole('button', { name: 'show 51 more invocations' }).click();
    expect(await p.locator('#waterfall .wf-row[data-invocation]').count()).toBe(351);
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

  it('resumes a failed run from its last checkpoint with its button, which a completed run does not show', async () => {
    const gateway = { down: true };
    const flaky = workflow('flaky').step('charge', { accepts: [StartEvent] }, (ev) => {
      if (gateway.down) throw new Error('gateway down');
      return StopEvent.of({ result: `charged ${String(ev.data)}` });
    });
    server = await start({ workflows: [flaky, echo], store: new MemoryStore() });
    const created = await server.call('POST', '/api/workflows/flaky/runs', { input: 'o-9' });
    await (await server.events(created.body.runId)).rest();
    const p = await open(`/#/runs/${created.body.runId}`);
    await status(p, 'failed');
    const retry = p.getByRole('button', { name: 'Resume from last checkpoint' });
    await retry.waitFor();
    expect(await p.locator('#outcome b').textContent()).toBe('step_failed in step charge');

    // The failed invocation's details offer the same action as "Retry step": it is what runs again.
    await p.locator('#waterfall .wf-row[data-step="charge"]').click();
    const retryStep = p.getByRole('button', { name: 'Retry step charge' });
    await retryStep.waitFor();
    await p.locator('#waterfall .wf-row[data-step="charge"] .bar.failed').waitFor();

    gateway.down = false;
    await retryStep.click();
    await status(p, 'completed');
    await p.locator('#timeline li[data-kind="run_resumed"]').waitFor();
    expect(await p.locator('#result').textContent()).toBe('"charged o-9"');
    expect(await retry.isHidden()).toBe(true);
    // The status and the waterfall come from different streams: wait for the bar, then count it.
    await p.locator('#waterfall .wf-row[data-step="charge"] .bar.done').waitFor();
    expect(await p.locator('#waterfall .wf-row[data-step="charge"] .bar.done').count()).toBe(1);

    const done = await server.call('POST', '/api/workflows/echo/runs', { input: 'hi' });
    await (await server.events(done.body.runId)).rest();
    await p.goto(`${server.url}/#/runs/${done.body.runId}`);
    await status(p, 'completed');
    expect(await p.getByRole('button', { name: 'Resume from last checkpoint' }).isHidden()).toBe(true);
    await p.locator('#waterfall .wf-row[data-step="shout"]').click();
    await p.locator('#detail dd', { hasText: 'done' }).first().waitFor();
    expect(await p.locator('#detail .retry-step').count()).toBe(0);
  });

  it('lists schedules when the server has a dispatcher, and shows no panel when it has none', async () => {
    server = await start({ workflows: [echo] });
    let p = await open();
    await p.locator('#runs').waitFor();
    await p.locator('form[data-workflow="echo"]').waitFor();
    expect(await p.locator('#schedules-section').isHidden()).toBe(true);
    await p.close();

    p = await context.newPage();
    page = p;
    await p.route('**/api/schedules', (route) =>
      route.fulfill({
        json: {
          schedules: [
            { id: 'nightly', workflow: 'echo', pattern: '0 3 * * *', tz: 'UTC', next: Date.now() + 3_600_000, iterations: 2 },
            { id: 'ping', workflow: 'echo', every: 60_000, next: Date.now() + 60_000, iterations: 1 },
          ],
        },
      }),
    );
    await p.goto(server.url + '/');
    await p.locator('#schedules tr[data-schedule="nightly"]').waitFor();
    const cells = await texts(p, '#schedules tr td');
    expect([cells.slice(0, 3), cells[4], cells.slice(5, 8), cells[9]]).toEqual([
      ['nightly', 'echo', '0 3 * * * (UTC)'], '2 runs', ['ping', 'echo', 'every 1 m'], '1 run',
    ]);
    expect(cells[3]).toMatch(new RegExp(`^next ${CLOCK}$`));
  });

  it('works behind a bearer token when opened with ?access_token=, under a strict Content-Security-Policy', async () => {
    server = await start({ workflows: [echo], token: 'tok3n' });
    const p = await open('/', 'tok3n');
    const form = p.locator('form[data-workflow="echo"]');
    await form.locator('textarea').fill('quiet');
    await form.getByRole('button', { name: 'Start run' }).click();
    await status(p, 'completed');
    await p.locator('#timeline li[data-kind="run_completed"]').waitFor();
    expect(await p.locator('#result').textContent()).toBe('"QUIET"');
    const res = await fetch(`${server.url}/?access_token=tok3n`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).not.toMatch(/<script>|<style>| style=/);
  });
});
