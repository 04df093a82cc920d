/**
 * vitest globalSetup: make PostgreSQL and Redis available to the store tests once per test run.
 *
 * - `SLUICE_PG_URL` / `SLUICE_REDIS_URL` set (servers run elsewhere, e.g. CI service containers): use them.
 * - Otherwise start throwaway servers on loopback (installing them with apt-get when missing and root),
 *   and stop them in teardown. Servers that were already running are never touched.
 * - When a server cannot be had, its tests are skipped with the reason (`SLUICE_REQUIRE_SERVICES=1`: fail).
 *
 * The test files read the outcome with `inject('sluicePostgres')` / `inject('sluiceRedis')`.
 */
import type { TestProject } from 'vitest/node';
import { REQUIRE_ENV, URL_ENV, tryStart, type ServerInfo, type ServerKind, type Service } from './services.js';

const PROVIDE_KEY = { postgres: 'sluicePostgres', redis: 'sluiceRedis' } as const;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: Service[] = [];

  async function acquire(kind: ServerKind): Promise<void> {
    const given = process.env[URL_ENV[kind]];
    let info: ServerInfo;
    if (given !== undefined && given !== '') {
      info = { url: given };
    } else {
      const outcome = await tryStart(kind);
      if ('reason' in outcome) {
        info = { skip: outcome.reason };
      } else {
        started.push(outcome);
        info = { url: outcome.url };
      }
    }
    if ('skip' in info) {
      if (process.env[REQUIRE_ENV] === '1') throw new Error(`${kind} is required (${REQUIRE_ENV}=1): ${info.skip}`);
      console.warn(`[sluice] ${kind} store tests will be skipped: ${info.skip}`);
    }
    project.provide(PROVIDE_KEY[kind], info);
  }

  try {
    await Promise.all([acquire('postgres'), acquire('redis')]);
  } catch (error) {
    await Promise.allSettled(started.map((service) => service.dispose()));
    throw error;
  }

  return async () => {
    await Promise.allSettled(started.map((service) => service.dispose()));
  };
}
