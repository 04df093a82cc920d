import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

/** Debian's chromium package; playwright-core drives it (no browser download). */
export const CHROMIUM = '/usr/bin/chromium';

/** The flags every browser test launches with (the user data dir is a fresh temp dir per launch). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const run = promisify(execFile);

/**
 * Chromium's path, installing Debian's package with apt when it is missing and we are root; otherwise the
 * reason it cannot be had, for the tests to print when they skip.
 */
export async function ensureChromium(): Promise<{ path: string } | { reason: string }> {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  if (process.platform !== 'linux') return { reason: `${CHROMIUM} is missing and apt is only tried on Linux` };
  if (process.getuid?.() !== 0) return { reason: `${CHROMIUM} is missing and installing it with apt needs root` };
  try {
    await run('sh', ['-c', 'command -v apt-get']);
  } catch {
    return { reason: `${CHROMIUM} is missing and there is no apt-get to install it` };
  }
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-qq'], { env, timeout: 300_000 });
    await run('apt-get', ['install', '-y', '-qq', 'chromium'], { env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    return { reason: `apt-get install chromium failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
  return existsSync(CHROMIUM) ? { path: CHROMIUM } : { reason: `apt-get installed chromium but ${CHROMIUM} is missing` };
}
