// `npm run screenshots`: seed a server with 100+ runs (a failed, a waiting, a sleeping, an idle, a retried and a
// sub-workflow run),
// open each view of the inspector in Debian's chromium and save docs/screenshots/*.png.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from './chromium.js';
import { abortLive, inspectorWorkflows, seed } from './inspectorFixtures.js';
import { start } from './support.js';

const out = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const browser = await ensureChromium();
if ('reason' in browser) throw new Error(`cannot take screenshots: ${browser.reason}`);

const server = await start({ workflows: inspectorWorkflows });
const ids = await seed(server, 100);
const profile = await mkdtemp(join(tmpdir(), 'sluice-shots-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: browser.path,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1440, height: 900 },
  deviceScaleFactor: 1,
});
await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
const page = await context.newPage();

async function shot(name: string, path: string, prepare?: (p: Page) => Promise<void>) {
  await page.goto('about:blank');
  await page.goto(server.url + path);
  await page.locator('#runs tbody tr, #waterfall .wf-row').first().waitFor();
  if (prepare !== undefined) await prepare(page);
  await page.waitForTimeout(300); // let the last redraw settle before the picture
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  console.log(`docs/screenshots/${name}.png`);
}

const ended = (p: Page) => p.locator('#stream-state', { hasText: '(ended)' }).waitFor();
try {
  await shot('runs', '/');
  await shot('run-retried', `/#/runs/${ids.pipeline}`, async (p) => {
    await ended(p);
    await p.locator('#waterfall .wf-row[data-attempts="2"]').click();
  });
  await shot('run-failed', `/#/runs/${ids.failed}`, async (p) => {
    await ended(p);
    await p.locator('#timeline li[data-kind="step_failed"]').click();
  });
  await shot('run-subworkflow', `/#/runs/${ids.nested}`, async (p) => {
    await ended(p);
    await p.locator('#waterfall .wf-row[data-step="research"] .toggle').click();
  });
  await shot('run-waiting', `/#/runs/${ids.waiting}`, (p) => p.locator('#waiting li').first().waitFor());
  await shot('run-sleeping', `/#/runs/${ids.sleeping}`, (p) => p.locator('#waiting li[data-wait-kind="event"]').waitFor());
  await shot('run-idle', `/#/runs/${ids.idle}`, (p) => p.locator('#idle-line').waitFor());
} finally {
  await abortLive(server);
  await context.close();
  await rm(profile, { recursive: true, force: true });
  await server.close();
}
process.exit(0);
