#!/usr/bin/env node
// The `sluice` command. `sluice serve <workflows module>` starts the HTTP API and inspector on a FileStore.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FileStore } from './stores/FileStore.js';
import type { Workflow } from './workflow/workflow.js';

const USAGE = `usage: sluice serve <workflows.js> [--port 8080] [--host 127.0.0.1] [--store ./.sluice] [--token <token>]

  <workflows.js>  a module exporting workflows: a default export (one workflow, an array or an object of
                  them) and/or named exports; .ts files load when tsx is installed
  --port          TCP port (default 8080; 0 picks a free one)
  --host          interface to listen on (default 127.0.0.1; 0.0.0.0 exposes it)
  --store         FileStore directory for checkpoints (default ./.sluice)
  --token         require "Authorization: Bearer <token>" on every route (or set SLUICE_TOKEN)
  --allow-host    without a token only loopback Host names are served; add a name this server is reached by`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      store: { type: 'string', default: './.sluice' },
      token: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file, ...extra] = positionals;
  if (values.help === true || command === undefined) {
    console.log(USAGE);
    return;
  }
  if (command !== 'serve' || file === undefined || extra.length > 0) usage(`unexpected arguments: ${positionals.join(' ')}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) usage(`--port must be an integer from 0 to 65535, got ${values.port}`);

  const workflows = collectWorkflows(await load(file));
  if (workflows.length === 0) usage(`${file} exports no workflow`);
  // Loaded only now, so `sluice --help` works without the optional server dependencies.
  const { serve } = await import('./http/server.js');
  const token = values.token ?? process.env.SLUICE_TOKEN;
  const server = await serve({
    workflows,
    store: new FileStore(values.store),
    port,
    hostname: values.host,
    allowedHosts: values['allow-host'] ?? [],
    ...(token === undefined || token === '' ? {} : { token }),
  });
  console.log(`sluice: serving ${workflows.map((w) => w.name).join(', ')} on ${server.url}/ (store ${values.store}${token ? ', token required' : ''})`);
  // Continue what a previous server left mid-way (running, or waiting with a deadline or sleep due).
  const recovered = await server.registry.recover((runId, reason) => console.log(`sluice: left run ${runId} alone: ${reason.message}`));
  const names = recovered.map((run) => `${run.id} (${run.snapshot().workflow})`);
  console.log(`sluice: recovered ${recovered.length} run${recovered.length === 1 ? '' : 's'}${names.length > 0 ? `: ${names.join(', ')}` : ''}`);

  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Import the user's module; `.ts` files go through tsx when it is installed. */
async function load(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(resolve(file)).href;
  if (/\.[cm]?tsx?$/.test(file)) {
    let tsx: { tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>> };
    try {
      // A variable specifier: the bundler leaves it alone and Node resolves it from the user's project.
      const api = 'tsx/esm/api';
      tsx = (await import(api)) as typeof tsx;
    } catch {
      usage(`${file} is TypeScript: compile it to .js, or install tsx (npm install -D tsx) so sluice can load it`);
    }
    return tsx.tsImport(url, url);
  }
  return (await import(url)) as Record<string, unknown>;
}

/** Workflows among a module's exports: the default (one, an array, or an object of them) and named ones. */
function collectWorkflows(module: Record<string, unknown>): Workflow[] {
  const found = new Set<Workflow>();
  const visit = (value: unknown, depth: number) => {
    if (isWorkflow(value)) found.add(value);
    else if (depth > 0 && Array.isArray(value)) for (const v of value) visit(v, depth - 1);
    else if (depth > 0 && typeof value === 'object' && value !== null) for (const v of Object.values(value)) visit(v, depth - 1);
  };
  visit(module.default, 1);
  for (const [name, value] of Object.entries(module)) if (name !== 'default') visit(value, 0);
  return [...found];
}

/** Duck-typed, so a module that imports its own copy of sluice still counts. */
function isWorkflow(value: unknown): value is Workflow {
  const v = value as Partial<Workflow> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.name === 'string' &&
    Array.isArray(v.steps) &&
    typeof v.run === 'function' &&
    typeof v.resume === 'function' &&
    typeof v.withOptions === 'function'
  );
}

function usage(message: string): never {
  console.error(`sluice: ${message}\n\n${USAGE}`);
  process.exit(2);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`sluice: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
