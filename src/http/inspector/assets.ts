/**
 * The inspector: one page of plain HTML, CSS and JavaScript, nothing fetched from elsewhere (it works
 * offline). The files next to this module are the source; `?raw` imports inline them as strings, so they
 * ship inside the bundle of `sluice/http` (tsup.config.ts), and load the same under vitest (native) and tsx
 * (test/support/rawImports.mjs).
 *
 * The script is served as its own file (`/inspector.js`), never inline, so a strict Content-Security-Policy
 * (`script-src 'self'`) holds. Its parts share one function scope, in the order below.
 */
import page from './index.html?raw';
import style from './inspector.css?raw';
import util from './client/util.js?raw';
import model from './client/model.js?raw';
import waterfall from './client/waterfall.js?raw';
import graph from './client/graph.js?raw';
import log from './client/log.js?raw';
import runs from './client/runs.js?raw';
import run from './client/run.js?raw';
import main from './client/main.js?raw';

export const INSPECTOR_HTML: string = page;
export const INSPECTOR_CSS: string = style;
export const INSPECTOR_JS: string = `(function () {\n'use strict';\n${[util, model, waterfall, graph, log, runs, run, main].join('\n')}\n})();\n`;

/** What the page needs and nothing more: scripts, styles and API calls from this server only. */
export const INSPECTOR_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
