// A run's invocations rebuilt from its RunEvents (and its child runs' events, nested), for the waterfall,
// the step counts of the graph and the details panel. Pure: events in, plain objects out.

function newModel(runId) {
  return {
    runId: runId, workflow: null, start: null, last: null, end: null, outcome: null, failedStep: null,
    invs: {}, order: [], routed: {}, justDone: null, running: {}, children: {}, waits: {}, runWaits: [],
    idle: null, // { since, lastStep } from run_idle until the next event that is not bookkeeping
  };
}

/** The invocation a request id `<invocationId>:<n>` belongs to. */
function invocationOfRequest(m, requestId) {
  var cut = String(requestId).lastIndexOf(':');
  return cut > 0 ? m.invs[requestId.slice(0, cut)] : undefined;
}

function applyEvent(m, ev) {
  if (m.start === null) m.start = ev.at;
  m.last = Math.max(m.last || 0, ev.at);
  var inv = ev.invocationId !== undefined ? m.invs[ev.invocationId] : undefined;
  if (ev.kind !== 'event_routed' && ev.kind !== 'checkpoint_saved') m.justDone = null;
  if (ev.kind !== 'checkpoint_saved' && ev.kind !== 'checkpoint_failed' && ev.kind !== 'gap') m.idle = null;
  switch (ev.kind) {
    case 'run_started':
      m.workflow = ev.workflow;
      m.input = ev.input;
      break;
    case 'event_routed':
      ev.steps.forEach(function (s) { (m.routed[s] = m.routed[s] || []).push(ev); });
      // Outputs: what a step returned is routed right after its step_completed; what an Observable handler
      // emits while running is its own only when one invocation of that step is running.
      // (An `invocationId` on the RunEvent, where the engine records it, settles the question.)
      var from = ev.invocationId && m.invs[ev.invocationId]
        ? m.invs[ev.invocationId]
        : m.justDone && m.justDone.step === ev.source ? m.justDone : soleRunning(m, ev.source);
      if (from) from.outputs.push(ev.event);
      break;
    case 'step_started':
      if (!inv) {
        inv = m.invs[ev.invocationId] = {
          id: ev.invocationId, step: ev.step, type: ev.type, start: ev.at, end: null, status: 'running',
          attempts: [], outputs: [], streams: [], waits: [], children: [], input: takeInput(m, ev.step, ev.type), error: null,
        };
        m.order.push(inv);
      }
      inv.status = 'running';
      inv.end = null;
      inv.attempts.push({ attempt: ev.attempt, start: ev.at, end: null, status: 'running', error: null });
      m.running[ev.step] = inv;
      break;
    case 'step_retried':
      if (inv) settle(inv, ev.at, 'retried', ev.error);
      break;
    case 'step_completed':
      if (inv) {
        settle(inv, ev.at, 'done', null);
        inv.status = 'done';
        inv.end = ev.at;
        m.justDone = inv;
      }
      break;
    case 'step_failed':
      if (inv) {
        settle(inv, ev.at, 'failed', ev.error);
        inv.status = 'failed';
        inv.end = ev.at;
        inv.error = ev.error;
      }
      m.failedStep = ev.step;
      break;
    case 'input_requested': {
      var wait = { requestId: ev.requestId, kind: 'input', prompt: ev.prompt, metadata: ev.metadata, start: ev.at, end: null };
      m.waits[ev.requestId] = wait;
      var owner = invocationOfRequest(m, ev.requestId);
      (owner ? owner.waits : m.runWaits).push(wait);
      break;
    }
    case 'input_received':
      if (m.waits[ev.requestId]) m.waits[ev.requestId].end = ev.at;
      break;
    case 'stream': {
      // ctx.write names the step, not the invocation: the sole running one, else the one started last.
      var writer = inv || (ev.step ? soleRunning(m, ev.step) || m.running[ev.step] : undefined);
      if (writer) writer.streams.push(ev.event);
      break;
    }
    case 'child': {
      var child = m.children[ev.childRunId];
      if (!child) {
        child = m.children[ev.childRunId] = { runId: ev.childRunId, step: ev.step, model: newModel(ev.childRunId) };
        if (inv) inv.children.push(child);
      }
      applyEvent(child.model, ev.event);
      break;
    }
    case 'run_idle':
      m.idle = { since: ev.at, lastStep: ev.lastStep };
      break;
    case 'run_completed':
      m.end = ev.at;
      m.outcome = { status: 'completed', result: ev.result };
      break;
    case 'run_failed': case 'run_aborted': case 'run_timed_out':
      m.end = ev.at;
      m.outcome = { status: ev.kind.slice(4), error: ev.error };
      closeOpen(m, ev.at);
      break;
    default:
      break;
  }
}

function soleRunning(m, step) {
  var found = null;
  for (var i = 0; i < m.order.length; i++) {
    var inv = m.order[i];
    if (inv.step !== step || inv.status !== 'running') continue;
    if (found) return null;
    found = inv;
  }
  return found;
}

/** The event a new invocation of `step` got: the oldest routed event of its type not yet taken (FIFO per step). */
function takeInput(m, step, type) {
  var queue = m.routed[step] || [];
  for (var i = 0; i < queue.length; i++) {
    if (queue[i].event.type === type) return queue.splice(i, 1)[0].event;
  }
  return undefined;
}

function settle(inv, at, status, error) {
  var attempt = inv.attempts[inv.attempts.length - 1];
  if (!attempt) return;
  attempt.end = at;
  attempt.status = status;
  attempt.error = error;
}

/** A run that ended leaves nothing running: open attempts and waits end with it. */
function closeOpen(m, at) {
  m.order.forEach(function (inv) {
    if (inv.status === 'running') {
      inv.status = 'cancelled';
      inv.end = at;
      var attempt = inv.attempts[inv.attempts.length - 1];
      if (attempt && attempt.end === null) { attempt.end = at; attempt.status = 'cancelled'; }
    }
    inv.waits.forEach(function (w) { if (w.end === null) w.end = at; });
  });
}

/**
 * Open sleeps and event waits reach the page in the snapshot only (no RunEvent marks them): attach each to its
 * invocation, as input waits are, from when it was first seen; one no longer listed has ended. An entry whose
 * invocation the model has not seen yet is left for the next call (the waterfall draws it on its own row).
 */
function syncWaits(m, waiting) {
  var open = {};
  (waiting || []).forEach(function (w) {
    if (w.kind !== 'sleep' && w.kind !== 'event') return;
    open[w.requestId] = true;
    var owner = invocationOfRequest(m, w.requestId);
    if (m.waits[w.requestId] || !owner) return;
    var wait = { requestId: w.requestId, kind: w.kind, type: w.type, dueAt: w.dueAt, start: m.last, end: null };
    m.waits[w.requestId] = wait;
    owner.waits.push(wait);
  });
  Object.keys(m.waits).forEach(function (id) {
    var w = m.waits[id];
    if ((w.kind === 'sleep' || w.kind === 'event') && w.end === null && !open[id]) w.end = m.last;
  });
}

/** running / done / failed per step name, over the run's own invocations. */
function stepCounts(m) {
  var counts = {};
  m.order.forEach(function (inv) {
    var c = counts[inv.step] = counts[inv.step] || { running: 0, done: 0, failed: 0, waiting: 0 };
    if (inv.status === 'running') c.running++;
    if (inv.status === 'running' && inv.waits.some(function (w) { return w.end === null; })) c.waiting++;
    else if (inv.status === 'done') c.done++;
    else if (inv.status === 'failed') c.failed++;
  });
  return counts;
}
