// The event log (filterable by kind; runs of checkpoint_saved folded into one line) and the details panel
// that shows what a clicked event or invocation carried.
var GROUPS = {
  step: /^step_/,
  routing: /^event_routed$/,
  input: /^input_|sleep|wait/,
  stream: /^stream$/,
  run: /^run_|^gap$/,
  error: /failed$|^run_aborted$|^run_timed_out$|^step_retried$/,
  checkpoint: /^checkpoint_/,
};

function describe(ev) {
  switch (ev.kind) {
    case 'event_routed': return (ev.source ? ev.source + ': ' : '') + ev.event.type + ' → ' + (ev.steps.length ? ev.steps.join(', ') : '—');
    case 'step_started': return ev.step + ' (' + ev.type + ')' + (ev.attempt > 1 ? ' attempt ' + ev.attempt : '');
    case 'step_completed': return ev.step + ' (' + ev.type + ') ' + duration(ev.durationMs);
    case 'step_failed': return ev.step + ' ' + ev.error.code + ': ' + ev.error.message;
    case 'step_retried': return ev.step + ' attempt ' + ev.attempt + ' ' + ev.error.code + ': ' + ev.error.message;
    case 'input_requested': return ev.requestId + ' “' + ev.prompt + '”';
    case 'input_received': return ev.requestId;
    case 'run_started': return ev.workflow + ' ' + JSON.stringify(ev.input);
    case 'run_completed': return JSON.stringify(ev.result);
    case 'run_failed': case 'run_aborted': case 'run_timed_out': case 'checkpoint_failed': return ev.error.code + ': ' + ev.error.message;
    case 'stream': return (ev.step ? ev.step + ': ' : '') + JSON.stringify(ev.event);
    case 'child': return ev.step + ' ▸ ' + ev.childRunId.slice(0, 8) + ' ' + ev.event.kind + ' ' + describe(ev.event);
    case 'gap': return ev.missed + ' events missed';
    case 'run_idle': return 'nothing left to do' + (ev.lastStep ? ' — last step ' + ev.lastStep + ' completed without output' : '');
    default: return '';
  }
}

function addEvent(ev) {
  current.events.push(ev);
  applyEvent(current.model, ev);
  var list = $('timeline');
  var stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  var item = el('li', { 'data-kind': ev.kind, 'data-seq': String(ev.seq) }, [
    el('span', { class: 'seq', text: String(ev.seq) }),
    el('span', { class: 'muted', text: new Date(ev.at).toISOString().slice(11, 23) + ' ' }),
    el('span', { class: 'kind', text: ev.kind }),
    el('span', { class: 'desc', text: ' ' + describe(ev) }),
  ]);
  item.addEventListener('click', function () { showDetail({ event: ev }); });
  if (ev.kind === 'checkpoint_saved') {
    // Fold a run of checkpoints into one line; the single lines stay (hidden) for the "checkpoints" filter.
    var last = list.lastElementChild;
    var fold = last && last.getAttribute('data-fold') === 'checkpoint' ? last : null;
    if (!fold) {
      fold = el('li', { class: 'fold', 'data-fold': 'checkpoint', 'data-count': '0' });
      fold.addEventListener('click', function () { $('kind-filter').value = 'checkpoint'; applyFilter(); });
      list.appendChild(fold);
    }
    var n = Number(fold.getAttribute('data-count')) + 1;
    fold.setAttribute('data-count', String(n));
    fold.textContent = '· ' + n + ' checkpoint' + (n === 1 ? '' : 's') + ' saved';
    list.insertBefore(item, fold);
  } else {
    list.appendChild(item);
  }
  filterItem(item, $('kind-filter').value);
  if (stick) list.scrollTop = list.scrollHeight;
}

function filterItem(li, group) {
  if (li.classList.contains('fold')) { li.hidden = group !== ''; return; }
  var kind = li.getAttribute('data-kind') || '';
  if (group === '') li.hidden = kind === 'checkpoint_saved';
  else li.hidden = !GROUPS[group].test(kind);
}

function applyFilter() {
  var group = $('kind-filter').value;
  Array.prototype.forEach.call($('timeline').children, function (li) { filterItem(li, group); });
}

// ── details ──────────────────────────────────────────────────────────────────────────────────────────
function showDetail(pick) {
  var box = clear($('detail'));
  $('detail-section').hidden = false;
  if (pick.invocation) {
    var inv = pick.invocation;
    current.selected = inv.id;
    box.appendChild(dl([
      ['step', inv.step], ['invocation', inv.id], ['status', inv.status],
      ['attempts', String(inv.attempts.length)],
      ['started', clock(inv.start)], ['duration', inv.end !== null ? duration(inv.end - inv.start) : 'running'],
    ]));
    block(box, 'input event', inv.input);
    if (inv.attempts.length > 1) {
      block(box, 'attempts', inv.attempts.map(function (a) {
        return { attempt: a.attempt, status: a.status, durationMs: a.end !== null ? a.end - a.start : undefined, error: a.error || undefined };
      }));
    }
    if (inv.outputs.length) block(box, 'outputs', inv.outputs);
    if (inv.streams.length) block(box, 'ctx.write stream', inv.streams);
    if (inv.waits.length) block(box, 'waits', inv.waits.map(function (w) { return { requestId: w.requestId, prompt: w.prompt, answeredAfterMs: w.end !== null ? w.end - w.start : null }; }));
    if (inv.children.length) block(box, 'child runs', inv.children.map(function (c) { return { runId: c.runId, workflow: c.model.workflow, outcome: c.model.outcome }; }));
    if (inv.error) errorBlock(box, inv.error);
    if (redeliverable(inv)) {
      // Retrying the run re-delivers exactly the invocations its last checkpoint kept in flight: this one first.
      var again = el('button', { type: 'button', class: 'retry-step', text: 'Retry step ' + inv.step, title: 'Resume the run from its last checkpoint: this invocation runs again, with the same invocation id' });
      again.addEventListener('click', function () { $('retry').click(); });
      box.appendChild(again);
    }
    draw();
  } else if (pick.child) {
    var cm = pick.child.model;
    box.appendChild(dl([['child run', pick.child.runId], ['workflow', cm.workflow || ''], ['of step', pick.child.step],
      ['status', cm.outcome ? cm.outcome.status : 'running'], ['duration', cm.end !== null ? duration(cm.end - cm.start) : 'running']]));
    block(box, 'input', cm.input);
    if (cm.outcome && 'result' in cm.outcome) block(box, 'result', cm.outcome.result);
    if (cm.outcome && cm.outcome.error) errorBlock(box, cm.outcome.error);
  } else {
    var ev = pick.event;
    box.appendChild(dl([['event', ev.kind], ['seq', String(ev.seq)], ['at', new Date(ev.at).toISOString()]]
      .concat(ev.step ? [['step', ev.step]] : [])
      .concat(ev.invocationId ? [['invocation', ev.invocationId]] : [])
      .concat(ev.attempt ? [['attempt', String(ev.attempt)]] : [])
      .concat(ev.durationMs !== undefined ? [['duration', duration(ev.durationMs)]] : [])));
    if (ev.error) errorBlock(box, ev.error);
    block(box, 'payload', ev);
    var of = ev.invocationId && current.model.invs[ev.invocationId];
    if (of) {
      var link = el('button', { type: 'button', class: 'link', text: 'show invocation ' + of.step });
      link.addEventListener('click', function () { showDetail({ invocation: of }); });
      box.appendChild(link);
    }
  }
}

/** A failed (or, in a timed-out run, cancelled) invocation that `POST /retry` would run again. */
function redeliverable(inv) {
  var body = current.body;
  if (!body || (body.status !== 'failed' && body.status !== 'timed_out')) return false;
  if (inv.status !== 'failed' && inv.status !== 'cancelled') return false;
  return (body.snapshot.inFlight || []).some(function (entry) { return entry.invocationId === inv.id; });
}

function dl(pairs) {
  var list = el('dl');
  pairs.forEach(function (p) { list.appendChild(el('dt', { text: p[0] })); list.appendChild(el('dd', { text: p[1] })); });
  return list;
}

function block(box, title, value) {
  box.appendChild(el('h3', { text: title }));
  box.appendChild(el('pre', { text: json(value) }));
}

/** An error with what the engine kept of it: code, message, step, and cause / stack when present. */
function errorBlock(box, error) {
  var wrap = el('div', { class: 'error' }, [el('h3', { text: 'error' }), el('pre', { text: error.code + ': ' + error.message })]);
  if (error.cause !== undefined) wrap.appendChild(el('pre', { text: 'cause: ' + json(error.cause) }));
  if (error.stack) wrap.appendChild(el('pre', { text: error.stack }));
  box.appendChild(wrap);
}
