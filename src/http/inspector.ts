/**
 * The inspector: one page, plain HTML + CSS + vanilla JS, no build step and nothing fetched from elsewhere
 * (it works offline). It lives in a TypeScript string so it ships inside the bundle of `sluice/http` and
 * loads the same under tsx, vitest and `dist/`. The script avoids template literals so this file can hold
 * it verbatim; it only ever writes user data with `textContent`.
 *
 * It talks to the JSON API of the same server: workflows and their step graph, the runs list (polled),
 * one run's state and open input requests, and its live timeline over `EventSource` (which resumes with
 * `Last-Event-ID` on its own). With a token, open it as `/?access_token=<token>`.
 */
export const INSPECTOR_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice inspector</title>
<style>
  :root { --fg: #1d2330; --muted: #6b7385; --line: #d8dce5; --bg: #f6f7fa; --accent: #2f6fdf; --ok: #1f8a4c; --bad: #c0392b; --warn: #b7791f; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 10px 16px; background: #1d2330; color: #fff; display: flex; gap: 12px; align-items: baseline; }
  header h1 { font-size: 16px; margin: 0; }
  header small { color: #aab; }
  main { display: grid; grid-template-columns: 320px 1fr; gap: 16px; padding: 16px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; margin-bottom: 16px; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
  ul { list-style: none; margin: 0; padding: 0; }
  textarea, input[type=text] { width: 100%; font: 12px/1.3 ui-monospace, monospace; border: 1px solid var(--line); border-radius: 4px; padding: 4px; }
  button { font: inherit; border: 1px solid var(--line); background: #fff; border-radius: 4px; padding: 3px 10px; cursor: pointer; }
  button:hover:not(:disabled) { border-color: var(--accent); color: var(--accent); }
  button:disabled { opacity: .45; cursor: default; }
  .wf { border-top: 1px solid var(--line); padding: 8px 0; }
  .wf:first-child { border-top: 0; }
  .wf b { display: block; margin-bottom: 4px; }
  #runs li button { width: 100%; text-align: left; display: flex; justify-content: space-between; gap: 8px; border: 0; border-bottom: 1px solid var(--line); border-radius: 0; padding: 6px 2px; }
  #runs li.selected button { background: #eef3fd; }
  .id { font: 12px ui-monospace, monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #e8eaf0; white-space: nowrap; }
  .badge.running { background: #dbe7fb; color: var(--accent); }
  .badge.paused, .badge.waiting { background: #fbefd5; color: var(--warn); }
  .badge.completed { background: #d9f2e3; color: var(--ok); }
  .badge.failed, .badge.aborted, .badge.timed_out { background: #f8dcd8; color: var(--bad); }
  #controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
  #error { display: none; background: #f8dcd8; color: var(--bad); padding: 8px 12px; border-radius: 4px; margin-bottom: 12px; }
  #graph svg { max-width: 100%; }
  #graph .node rect { fill: #fff; stroke: #9aa3b5; rx: 5; }
  #graph .node.active rect { stroke: var(--accent); stroke-width: 2; fill: #eef3fd; }
  #graph .node.done rect { stroke: var(--ok); }
  #graph .node.failed rect { stroke: var(--bad); stroke-width: 2; }
  #graph text { font: 12px system-ui, sans-serif; }
  #graph .edge { stroke: #9aa3b5; fill: none; marker-end: url(#arrow); }
  #graph .label { fill: var(--muted); font-size: 10px; }
  #steps li { font-size: 12px; color: var(--muted); }
  #steps li b { color: var(--fg); }
  #timeline { max-height: 360px; overflow: auto; font: 12px/1.5 ui-monospace, monospace; }
  #timeline li { border-bottom: 1px dotted var(--line); padding: 1px 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #timeline .seq { color: var(--muted); display: inline-block; min-width: 3em; }
  #timeline .kind { font-weight: 600; }
  #waiting li { border: 1px solid #f0d9a8; background: #fffaf0; border-radius: 4px; padding: 8px; margin-bottom: 8px; }
  #waiting .prompt { font-weight: 600; margin-bottom: 4px; }
  #waiting form { display: flex; gap: 8px; }
  pre { margin: 0; font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
  .muted { color: var(--muted); }
</style>
</head>
<body>
<header><h1>sluice inspector</h1><small id="where"></small></header>
<main>
  <div>
    <section><h2>Workflows</h2><div id="workflows" class="muted">loading…</div></section>
    <section><h2>Runs</h2><ul id="runs"></ul><p id="no-runs" class="muted">no runs yet</p></section>
  </div>
  <div>
    <div id="error" role="alert"></div>
    <section id="run" hidden>
      <h2>Run</h2>
      <div id="controls">
        <span class="id" id="run-id"></span>
        <span class="badge" id="run-status"></span>
        <span class="muted" id="run-workflow"></span>
        <button id="pause" type="button">Pause</button>
        <button id="resume" type="button">Resume</button>
        <button id="abort" type="button">Abort</button>
      </div>
    </section>
    <section id="waiting-section" hidden><h2>Waiting for input</h2><ul id="waiting"></ul></section>
    <section id="graph-section" hidden><h2>Step graph</h2><div id="graph"></div><ul id="steps"></ul></section>
    <section id="timeline-section" hidden><h2>Timeline <span class="muted" id="stream-state"></span></h2><ul id="timeline"></ul></section>
    <section id="state-section" hidden><h2>State</h2><pre id="state"></pre><h2 style="margin-top:10px">Result</h2><pre id="result" class="muted">—</pre></section>
  </div>
</main>
<script>
(function () {
  'use strict';
  var token = new URLSearchParams(location.search).get('access_token');
  var workflows = {};
  var current = null;      // { id, workflow, source, steps: { name: 'active' | 'done' | 'failed' } }
  var refreshTimer = null;
  var TERMINAL = { completed: 1, failed: 1, aborted: 1, timed_out: 1 };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'class') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function withToken(path) {
    return token ? path + (path.indexOf('?') < 0 ? '?' : '&') + 'access_token=' + encodeURIComponent(token) : path;
  }
  function showError(message) {
    var box = $('error');
    box.textContent = message || '';
    box.style.display = message ? 'block' : 'none';
  }
  function api(method, path, body) {
    var headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    var init = { method: method, headers: headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    return fetch(path, init).then(function (res) {
      return res.json().then(function (json) {
        if (!res.ok) {
          var e = json && json.error ? json.error : { code: 'http_' + res.status, message: res.statusText };
          throw new Error(e.code + ': ' + e.message);
        }
        showError('');
        return json;
      });
    });
  }
  function fail(error) { showError(error.message || String(error)); }
  function runPath(id) { return '/api/runs/' + encodeURIComponent(id); }
  function parseAnswer(text) {
    try { return JSON.parse(text); } catch (_) { return text; }
  }

  // ── workflows and starting runs ───────────────────────────────────────────────────────────────
  function loadWorkflows() {
    return api('GET', '/api/workflows').then(function (json) {
      var box = $('workflows');
      box.textContent = '';
      box.className = '';
      json.workflows.forEach(function (wf) {
        workflows[wf.name] = wf;
        var input = el('textarea', { rows: '2', placeholder: 'input (JSON or text)', 'aria-label': 'input for ' + wf.name });
        var form = el('form', { class: 'wf', 'data-workflow': wf.name }, [
          el('b', { text: wf.name }),
          input,
          el('button', { type: 'submit', class: 'start', text: 'Start run' }),
        ]);
        form.addEventListener('submit', function (e) {
          e.preventDefault();
          var body = input.value.trim() === '' ? {} : { input: parseAnswer(input.value) };
          api('POST', '/api/workflows/' + encodeURIComponent(wf.name) + '/runs', body)
            .then(function (json) { return loadRuns().then(function () { select(json.runId); }); })
            .catch(fail);
        });
        box.appendChild(form);
      });
    });
  }

  // ── runs list ─────────────────────────────────────────────────────────────────────────────────
  function loadRuns() {
    return api('GET', '/api/runs').then(function (json) {
      var list = $('runs');
      list.textContent = '';
      $('no-runs').hidden = json.runs.length > 0;
      json.runs.forEach(function (row) {
        var button = el('button', { type: 'button', title: row.runId }, [
          el('span', { class: 'id', text: row.workflow + ' · ' + row.runId.slice(0, 8) }),
          el('span', { class: 'badge ' + row.status, text: row.status }),
        ]);
        button.addEventListener('click', function () { select(row.runId); });
        var item = el('li', { 'data-run-id': row.runId, 'data-status': row.status, class: current && current.id === row.runId ? 'selected' : '' }, [button]);
        list.appendChild(item);
      });
    });
  }

  // ── one run ───────────────────────────────────────────────────────────────────────────────────
  function select(id) {
    if (current && current.source) current.source.close();
    current = { id: id, workflow: null, source: null, steps: {} };
    $('timeline').textContent = '';
    $('result').textContent = '—';
    ['run', 'graph-section', 'timeline-section', 'state-section'].forEach(function (s) { $(s).hidden = false; });
    Array.prototype.forEach.call(document.querySelectorAll('#runs li'), function (li) {
      li.className = li.getAttribute('data-run-id') === id ? 'selected' : '';
    });
    refresh().then(function () { openStream(id); }).catch(fail);
  }

  function openStream(id) {
    var source = new EventSource(withToken(runPath(id) + '/events'));
    current.source = source;
    $('stream-state').textContent = '(connecting)';
    source.onopen = function () { if (current && current.source === source) $('stream-state').textContent = '(live)'; };
    source.onerror = function () { if (current && current.source === source) $('stream-state').textContent = '(reconnecting…)'; };
    source.onmessage = function (msg) {
      if (!current || current.source !== source) return;
      addEvent(JSON.parse(msg.data));
      scheduleRefresh();
    };
    source.addEventListener('gap', function (msg) {
      var gap = JSON.parse(msg.data);
      $('timeline').appendChild(el('li', { class: 'muted', text: '… ' + gap.missed + ' older events not replayed' }));
    });
    source.addEventListener('end', function () {
      source.close();
      if (!current || current.source !== source) return;
      $('stream-state').textContent = '(ended)';
      refresh();
      loadRuns().catch(fail);
    });
  }

  function describe(ev) {
    switch (ev.kind) {
      case 'event_routed': return ev.event.type + ' → ' + (ev.steps.length ? ev.steps.join(', ') : '—');
      case 'step_started': case 'step_completed': case 'step_failed': case 'step_retried':
        return ev.step + ' (' + ev.type + ')' + (ev.durationMs !== undefined ? ' ' + ev.durationMs + 'ms' : '') + (ev.error ? ' ' + ev.error.code + ': ' + ev.error.message : '');
      case 'input_requested': return ev.requestId + ' “' + ev.prompt + '”';
      case 'input_received': return ev.requestId;
      case 'run_completed': return JSON.stringify(ev.result);
      case 'run_failed': case 'run_aborted': case 'run_timed_out': case 'checkpoint_failed': return ev.error.code + ': ' + ev.error.message;
      case 'stream': return JSON.stringify(ev.event);
      case 'run_started': return JSON.stringify(ev.input);
      default: return '';
    }
  }

  function addEvent(ev) {
    var at = new Date(ev.at).toISOString().slice(11, 23);
    var item = el('li', { 'data-kind': ev.kind, 'data-seq': String(ev.seq), title: JSON.stringify(ev) }, [
      el('span', { class: 'seq', text: String(ev.seq) }),
      el('span', { class: 'muted', text: at + ' ' }),
      el('span', { class: 'kind', text: ev.kind }),
      el('span', { text: ' ' + describe(ev) }),
    ]);
    var list = $('timeline');
    var stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.appendChild(item);
    if (stick) list.scrollTop = list.scrollHeight;
    if (ev.kind === 'step_started') current.steps[ev.step] = 'active';
    if (ev.kind === 'step_completed') current.steps[ev.step] = 'done';
    if (ev.kind === 'step_failed') current.steps[ev.step] = 'failed';
    if (ev.kind === 'run_completed') $('result').textContent = JSON.stringify(ev.result, null, 2);
    if (ev.error && ev.kind.indexOf('run_') === 0) $('result').textContent = ev.error.code + ': ' + ev.error.message;
    renderGraph();
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh().catch(fail); }, 100);
  }

  function refresh() {
    if (!current) return Promise.resolve();
    var id = current.id;
    return api('GET', runPath(id)).then(function (json) {
      if (!current || current.id !== id) return;
      current.workflow = json.workflow;
      $('run-id').textContent = json.runId;
      var badge = $('run-status');
      badge.textContent = json.status;
      badge.className = 'badge ' + json.status;
      $('run-workflow').textContent = json.workflow + (json.live ? '' : ' (stored)');
      var ended = !!TERMINAL[json.status];
      $('pause').disabled = ended || json.status === 'paused';
      $('resume').disabled = ended || (json.live && json.status !== 'paused');
      $('abort').disabled = ended;
      $('state').textContent = JSON.stringify(json.snapshot.state, null, 2);
      renderWaiting(ended ? [] : json.snapshot.waiting);
      renderGraph();
      var row = document.querySelector('#runs li[data-run-id="' + CSS.escape(id) + '"] .badge');
      if (row) { row.textContent = json.status; row.className = 'badge ' + json.status; }
    });
  }

  function renderWaiting(waiting) {
    var list = $('waiting');
    var open = {};
    waiting.forEach(function (w) { open[w.requestId] = w; });
    // Keep forms that are still open (and what someone is typing in them); drop answered ones.
    Array.prototype.forEach.call(list.children, function (li) {
      if (!open[li.getAttribute('data-request-id')]) list.removeChild(li);
      else delete open[li.getAttribute('data-request-id')];
    });
    Object.keys(open).forEach(function (requestId) {
      var w = open[requestId];
      var answer = el('input', { type: 'text', placeholder: 'answer (JSON or text)', 'aria-label': 'answer to ' + w.prompt });
      var form = el('form', {}, [answer, el('button', { type: 'submit', class: 'answer', text: 'Answer' })]);
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        api('POST', runPath(current.id) + '/respond', { requestId: requestId, response: parseAnswer(answer.value) })
          .then(refresh).then(loadRuns).catch(fail);
      });
      var meta = w.metadata === undefined || w.metadata === null ? null : el('pre', { class: 'muted', text: JSON.stringify(w.metadata) });
      list.appendChild(el('li', { 'data-request-id': requestId }, [el('div', { class: 'prompt', text: w.prompt }), meta, form]));
    });
    $('waiting-section').hidden = list.children.length === 0;
  }

  // ── step graph: layers from StartEvent along declared emits → accepts ──────────────────────────
  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function renderGraph() {
    var wf = current && workflows[current.workflow];
    var box = $('graph');
    if (!wf) { box.textContent = ''; return; }
    var layer = {};
    var queue = [];
    wf.edges.forEach(function (e) { if (e.from === null && layer[e.to] === undefined) { layer[e.to] = 0; queue.push(e.to); } });
    while (queue.length) {
      var from = queue.shift();
      wf.edges.forEach(function (e) {
        if (e.from === from && layer[e.to] === undefined) { layer[e.to] = layer[from] + 1; queue.push(e.to); }
      });
    }
    var deepest = 0;
    Object.keys(layer).forEach(function (k) { deepest = Math.max(deepest, layer[k]); });
    wf.steps.forEach(function (s) { if (layer[s.name] === undefined) layer[s.name] = deepest + 1; });
    var columns = [];
    wf.steps.forEach(function (s) { (columns[layer[s.name]] = columns[layer[s.name]] || []).push(s.name); });
    var W = 150, H = 34, GX = 70, GY = 22, pos = {};
    var rows = 1;
    columns.forEach(function (col, x) {
      (col || []).forEach(function (name, y) { pos[name] = { x: 20 + x * (W + GX), y: 10 + y * (H + GY) }; });
      rows = Math.max(rows, (col || []).length);
    });
    var width = 40 + columns.length * (W + GX) - GX, height = 20 + rows * (H + GY);
    var root = svg('svg', { width: String(width), height: String(height), viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'step graph of ' + wf.name });
    var defs = svg('defs', {});
    var marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto' });
    marker.appendChild(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9aa3b5' }));
    defs.appendChild(marker);
    root.appendChild(defs);
    wf.edges.forEach(function (e) {
      if (e.from === null) return;
      var a = pos[e.from], b = pos[e.to];
      var x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      if (e.from === e.to || b.x <= a.x) { x2 = b.x + W / 2; y2 = b.y + (b.y >= a.y ? 0 : H); x1 = a.x + W / 2; y1 = a.y + (b.y >= a.y ? H : 0); }
      var mx = (x1 + x2) / 2;
      root.appendChild(svg('path', { class: 'edge', d: 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2 }));
      root.appendChild(svg('text', { class: 'label', x: String(mx), y: String((y1 + y2) / 2 - 4), 'text-anchor': 'middle' }, e.type));
    });
    wf.steps.forEach(function (s) {
      var p = pos[s.name];
      var g = svg('g', { class: 'node ' + (current.steps[s.name] || ''), 'data-step': s.name, transform: 'translate(' + p.x + ',' + p.y + ')' });
      g.appendChild(svg('rect', { width: String(W), height: String(H) }));
      g.appendChild(svg('text', { x: String(W / 2), y: String(H / 2 + 4), 'text-anchor': 'middle' }, s.name));
      root.appendChild(g);
    });
    box.textContent = '';
    box.appendChild(root);
    var steps = $('steps');
    steps.textContent = '';
    wf.steps.forEach(function (s) {
      steps.appendChild(el('li', { 'data-step': s.name }, [
        el('b', { text: s.name }),
        el('span', { text: ' accepts ' + s.accepts.join(', ') + (s.emits ? ' · emits ' + (s.emits.join(', ') || 'nothing') : ' · emits (undeclared)') }),
      ]));
    });
  }

  // ── controls ──────────────────────────────────────────────────────────────────────────────────
  ['pause', 'resume', 'abort'].forEach(function (action) {
    $(action).addEventListener('click', function () {
      if (!current) return;
      var id = current.id;
      var body = action === 'abort' ? { reason: 'aborted from the inspector' } : undefined;
      api('POST', runPath(id) + '/' + action, body)
        .then(function () { return current && current.id === id ? refresh() : undefined; })
        .then(loadRuns)
        .catch(fail);
    });
  });

  $('where').textContent = location.host;
  loadWorkflows().then(loadRuns).catch(fail);
  setInterval(function () { loadRuns().catch(function () {}); }, 3000);
})();
</script>
</body>
</html>
`;
