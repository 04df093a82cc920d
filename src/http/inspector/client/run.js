// The run view: header and controls, outcome, waits with their forms, waterfall, event log, details, graph.
var current = null; // { id, model, events: [], source, body, selected, drawTimer }

function openRun(id) {
  closeRun();
  current = { id: id, model: newModel(id), events: [], source: null, body: null, selected: null, drawTimer: null };
  clear($('timeline'));
  clear($('waterfall'));
  clear($('graph'));
  clear($('waiting'));
  $('detail-section').hidden = true;
  $('outcome').hidden = true;
  $('run-id').textContent = id;
  refreshRun().then(function () { if (current && current.id === id) openStream(id); }).catch(fail);
}

function closeRun() {
  if (current && current.source) current.source.close();
  current = null;
}

function openStream(id) {
  var source = new EventSource(withToken(runPath(id) + '/events'));
  current.source = source;
  $('stream-state').textContent = '(connecting)';
  var mine = function () { return current && current.source === source; };
  source.onopen = function () { if (mine()) $('stream-state').textContent = '(live)'; };
  source.onerror = function () { if (mine()) $('stream-state').textContent = '(reconnecting…)'; };
  source.onmessage = function (msg) {
    if (!mine()) return;
    addEvent(JSON.parse(msg.data));
    scheduleDraw();
  };
  source.addEventListener('gap', function (msg) {
    if (!mine()) return;
    $('timeline').appendChild(el('li', { class: 'fold', text: '… ' + JSON.parse(msg.data).missed + ' older events not replayed' }));
  });
  source.addEventListener('end', function () {
    source.close();
    if (!mine()) return;
    $('stream-state').textContent = '(ended)';
    refreshRun().catch(fail);
  });
}

/** Redraw the waterfall and graph at most every 100 ms while events stream in; refresh the run's state too. */
function scheduleDraw() {
  if (current.drawTimer) return;
  current.drawTimer = setTimeout(function () {
    if (!current) return;
    current.drawTimer = null;
    draw();
    refreshRun().catch(fail);
  }, 100);
}

function draw() {
  if (!current) return;
  var waiting = current.body && !TERMINAL[current.body.status] ? current.body.snapshot.waiting : [];
  if (current.body && !TERMINAL[current.body.status]) syncWaits(current.model, waiting);
  renderWaterfall($('waterfall'), current.model, waiting, showDetail, current.selected);
  renderGraph($('graph'), workflows[current.body ? current.body.workflow : current.model.workflow], current.model);
}

function refreshRun() {
  var id = current.id;
  return api('GET', runPath(id)).then(function (body) {
    if (!current || current.id !== id) return;
    showError('');
    current.body = body;
    var ended = !!TERMINAL[body.status];
    var status = $('run-status');
    status.textContent = body.status;
    status.className = 'badge ' + body.status;
    $('run-workflow').textContent = body.workflow + (body.live ? '' : ' · from the store');
    var end = ended ? body.updatedAt : Date.now();
    $('run-times').textContent = 'started ' + clock(body.createdAt) + ' · ' + duration(end - body.createdAt) + (ended ? '' : ' so far');
    $('pause').disabled = ended || body.status === 'paused';
    $('resume').disabled = ended || (body.live && body.status !== 'paused');
    $('abort').disabled = ended;
    $('retry').hidden = body.status !== 'failed' && body.status !== 'timed_out';
    $('state').textContent = json(body.snapshot.state);
    renderOutcome(body);
    renderIdle(ended ? null : body.idle || current.model.idle);
    renderWaiting(ended ? [] : body.snapshot.waiting || []);
    draw();
  });
}

function renderOutcome(body) {
  var box = clear($('outcome'));
  if ('result' in body) {
    box.className = 'ok';
    box.appendChild(el('b', { text: 'Result' }));
    box.appendChild(el('pre', { id: 'result', text: JSON.stringify(body.result) }));
  } else if (body.error) {
    box.className = 'bad';
    box.appendChild(el('b', { text: body.error.code + (body.error.step ? ' in step ' + body.error.step : '') }));
    box.appendChild(el('pre', { id: 'result', text: body.error.code + ': ' + body.error.message }));
  }
  box.hidden = box.children.length === 0;
}

/** An idle run (run_idle): since when, the step that completed without output, and a form to revive it. */
function renderIdle(idle) {
  var box = $('idle');
  $('run-idle').hidden = !idle;
  if (!idle) { clear(box); box.hidden = true; return; }
  if (!box.hidden && box.getAttribute('data-since') === String(idle.since)) return; // keep what someone is typing
  clear(box);
  box.setAttribute('data-since', String(idle.since));
  var line = idle.lastStep
    ? ['idle since ' + clock(idle.since) + ' — last step ', el('code', { text: idle.lastStep }), ' completed without output']
    : ['idle since ' + clock(idle.since)];
  box.appendChild(el('b', { id: 'idle-line' }, line));
  box.appendChild(el('p', { class: 'muted', text: 'Nothing is queued, running, waiting or sleeping, and no step returned a StopEvent. Did a step forget to return one? Sending an event revives the run.' }));
  box.appendChild(sendForm(''));
  box.hidden = false;
}

// ── waits: answer an input request, send the event an event-wait expects, see when a sleep ends ──────────
function renderWaiting(waiting) {
  var list = $('waiting');
  var open = {};
  waiting.forEach(function (w) { open[w.requestId] = w; });
  Array.prototype.forEach.call(Array.prototype.slice.call(list.children), function (li) {
    var rid = li.getAttribute('data-request-id');
    if (!open[rid]) list.removeChild(li); // answered: drop it; still open: keep what someone is typing
    else delete open[rid];
  });
  Object.keys(open).forEach(function (requestId) { list.appendChild(waitItem(open[requestId])); });
  $('waiting-section').hidden = list.children.length === 0;
}

function waitItem(w) {
  var kind = w.kind || 'input';
  var head = el('div', { class: 'head' }, [el('span', { class: 'kind-tag', text: kind })]);
  var item = el('li', { 'data-request-id': w.requestId, 'data-wait-kind': kind }, [head]);
  var due = w.dueAt || w.deadline;
  if (kind === 'input') head.appendChild(el('span', { class: 'prompt', text: w.prompt }));
  if (kind === 'event') head.appendChild(el('span', { class: 'prompt', text: 'waits for event ' + w.type }));
  if (kind === 'sleep') head.appendChild(el('span', { class: 'prompt', text: 'sleeps until ' + clock(w.dueAt) }));
  var left = duration(Math.max(0, due - Date.now()));
  if (due) head.appendChild(el('span', { class: 'muted due', text: kind === 'sleep' ? 'in ' + left : 'deadline ' + clock(due) + ' (in ' + left + ')' }));
  if (w.remainingMs !== undefined && !due) head.appendChild(el('span', { class: 'muted due', text: duration(w.remainingMs) + ' left' }));
  head.appendChild(el('span', { class: 'muted id', text: w.requestId }));
  if (w.metadata !== undefined && w.metadata !== null) item.appendChild(el('pre', { class: 'muted', text: JSON.stringify(w.metadata) }));
  if (kind === 'input') {
    var answer = el('input', { type: 'text', placeholder: 'answer (JSON or text)', 'aria-label': 'answer to ' + w.prompt });
    var form = el('form', { class: 'answer-form' }, [answer, el('button', { type: 'submit', class: 'answer', text: 'Answer' })]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      act('/respond', { requestId: w.requestId, response: parseLoose(answer.value) });
    });
    item.appendChild(form);
  }
  // An event wait is answered by sending its event; an input wait can be, too (a step may also accept events).
  if (kind === 'event') item.appendChild(sendForm(w.type));
  if (kind === 'input') item.appendChild(el('details', { class: 'send' }, [el('summary', { class: 'muted', text: 'send an event instead' }), sendForm('')]));
  return item;
}

function sendForm(type) {
  var typeInput = el('input', { type: 'text', placeholder: 'event type', 'aria-label': 'event type', value: type || undefined });
  var data = el('input', { type: 'text', placeholder: 'data (JSON or text)', 'aria-label': 'event data' });
  var form = el('form', { class: 'send-form' }, [typeInput, data, el('button', { type: 'submit', class: 'send', text: 'Send event' })]);
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (!typeInput.value.trim()) { showError('an event needs a type'); return; }
    var event = { type: typeInput.value.trim() };
    if (data.value.trim() !== '') event.data = parseLoose(data.value);
    act('/send', { event: event });
  });
  return form;
}

/** POST an action on the current run, then refresh it. */
function act(path, body) {
  var id = current.id;
  return api('POST', runPath(id) + path, body)
    .then(function () { showError(''); return current && current.id === id ? refreshRun() : undefined; })
    .catch(fail);
}

function initRunView() {
  ['pause', 'resume', 'abort'].forEach(function (action) {
    $(action).addEventListener('click', function () {
      if (current) act('/' + action, action === 'abort' ? { reason: 'aborted from the inspector' } : undefined);
    });
  });
  // A new attempt of the run from its last checkpoint (wf.retry): reopen it, so its stream continues live.
  $('retry').addEventListener('click', function () {
    if (!current) return;
    var id = current.id;
    $('retry').disabled = true;
    api('POST', runPath(id) + '/retry', {})
      .then(function () { $('retry').disabled = false; showError(''); if (current && current.id === id) openRun(id); })
      .catch(function (e) { $('retry').disabled = false; fail(e); });
  });
  $('kind-filter').addEventListener('change', applyFilter);
  $('close-detail').addEventListener('click', function () {
    $('detail-section').hidden = true;
    if (current) { current.selected = null; draw(); }
  });
}
