/**
 * The test files' side of the server lifecycle. Call these at the top level of a test file (top-level
 * await), so availability is known while tests are collected and `describe.skipIf` can skip with a reason.
 */
import { afterAll, inject } from 'vitest';
import {
  REQUIRE_ENV,
  URL_ENV,
  ensureBinaries,
  tryStart,
  type ServerInfo,
  type ServerKind,
  type Service,
} from './services.js';

const PROVIDE_KEY = { postgres: 'sluicePostgres', redis: 'sluiceRedis' } as const;

/**
 * The server every test in the file shares: `SLUICE_PG_URL`/`SLUICE_REDIS_URL`, else the one the globalSetup
 * started, else (globalSetup not registered) one started for this file and stopped after it.
 */
export async function sharedServer(kind: ServerKind): Promise<ServerInfo> {
  const given = process.env[URL_ENV[kind]];
  if (given !== undefined && given !== '') return { url: given };
  const provided = inject(PROVIDE_KEY[kind]) as ServerInfo | undefined;
  if (provided !== undefined) return provided;
  const outcome = await tryStart(kind);
  if ('reason' in outcome) return unavailable(kind, outcome.reason);
  afterAll(() => outcome.dispose(), 60_000);
  return { url: outcome.url };
}

/**
 * Whether this file can start servers of its own (for outage tests that stop and restart them); resolves a
 * skip reason when it cannot. The servers themselves are started with {@link dedicatedServer}.
 */
export async function canStartOwn(kind: ServerKind): Promise<ServerInfo> {
  const binaries = await ensureBinaries(kind);
  return 'reason' in binaries ? unavailable(kind, binaries.reason) : { url: '' };
}

/** Start a server only this test file uses (so stopping it disturbs nobody); fails the caller if impossible. */
export async function dedicatedServer(kind: ServerKind, options: { persistent?: boolean } = {}): Promise<Service> {
  const outcome = await tryStart(kind, options);
  if ('reason' in outcome) throw new Error(outcome.reason);
  return outcome;
}

/** A suite title that carries the skip reason, so every reporter shows why. */
export function titled(title: string, info: ServerInfo): string {
  return 'skip' in info ? `${title} [skipped: ${info.skip}]` : title;
}

function unavailable(kind: ServerKind, reason: string): ServerInfo {
  if (process.env[REQUIRE_ENV] === '1') throw new Error(`${kind} is required (${REQUIRE_ENV}=1): ${reason}`);
  console.warn(`[sluice] ${kind} tests skipped: ${reason}`);
  return { skip: reason };
}
