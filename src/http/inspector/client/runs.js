// The runs view: status chips with counts, search, a page of runs (newest first), polled while shown.
var PAGE = 50;
var workflows = {};
var listQuery = { status: '', q: '', offset: 0 };
var searchTimer = null;

function loadWorkflows() {
  return api('GET', '/api/workflows').then(function (body) {
    var box = clear($('workflows'));
    box.className = '';
    body.workflows.forEach(function (wf) {
      workflows[wf.name] = wf;
      var input = el('textarea', { rows: '2', placeholder: 'input (JSON or text)', 'aria-label': 'input for ' + wf.name });
      var form = el('form', { class: 'wf', 'data-workflow': wf.name }, [
        el('b', { text: wf.name }),
        input,
        el('div', {}, [el('button', { type: 'submit', class: 'start', text: 'Start run' })]),
      ]);
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var payload = input.value.trim() === '' ? {} : { input: parseLoose(input.value) };
        api('POST', '/api/workflows/' + encodeURIComponent(wf.name) + '/runs', payload)
          .then(function (res) { location.hash = '#/runs/' + encodeURIComponent(res.runId); })
          .catch(fail);
      });
      box.appendChild(form);
    });
  });
}

function listUrl() {
  var p = new URLSearchParams();
  if (listQuery.status) p.set('status', listQuery.status);
  if (listQuery.q) p.set('q', listQuery.q);
  p.set('limit', String(PAGE));
  p.set('offset', String(listQuery.offset));
  return '/api/runs?' + p.toString();
}

function loadRuns() {
  var asked = listUrl();
  return api('GET', asked).then(function (body) {
    if (asked !== listUrl()) return; // the filter changed while this page was loading
    showError('');
    renderChips(body.counts || {});
    var rows = clear($('runs').tBodies[0]);
    var now = Date.now();
    body.runs.forEach(function (row) {
      var end = TERMINAL[row.status] ? row.updatedAt : now;
      var href = '#/runs/' + encodeURIComponent(row.runId);
      var tr = el('tr', { 'data-run-id': row.runId, 'data-status': row.status }, [
        el('td', {}, [el('a', { href: href, class: 'id', title: row.runId, text: row.runId.length > 13 ? row.runId.slice(0, 13) + '…' : row.runId })]),
        el('td', { text: row.workflow }),
        el('td', {}, [badge(row.status), row.idle ? el('span', { class: 'badge idle', title: 'idle since ' + clock(row.idle.since) + (row.idle.lastStep ? ' — last step ' + row.idle.lastStep + ' completed without output' : ''), text: 'idle' }) : null]),
        el('td', { class: 'num', text: clock(row.createdAt) }),
        el('td', { class: 'num', text: clock(row.updatedAt) }),
        el('td', { class: 'num', text: row.createdAt ? duration(end - row.createdAt) : '—' }),
      ]);
      tr.addEventListener('click', function (e) { if (e.target.tagName !== 'A') location.hash = href; });
      rows.appendChild(tr);
    });
    $('no-runs').hidden = body.runs.length > 0;
    var first = body.total === 0 ? 0 : body.offset + 1;
    $('page-info').textContent = first + '–' + (body.offset + body.runs.length) + ' of ' + body.total;
    $('prev').disabled = body.offset === 0;
    $('next').disabled = body.offset + body.runs.length >= body.total;
    $('live-state').textContent = '· updated ' + new Date().toTimeString().slice(0, 8);
  });
}

function renderChips(counts) {
  var box = clear($('status-filter'));
  var all = 0;
  Object.keys(counts).forEach(function (k) { all += counts[k]; });
  [''].concat(STATUSES).forEach(function (status) {
    var n = status ? counts[status] || 0 : all;
    var button = el('button', { type: 'button', 'data-status': status || 'all', 'aria-pressed': String(listQuery.status === status) }, [
      status || 'all',
      el('span', { class: 'count', text: String(n) }),
    ]);
    button.addEventListener('click', function () {
      listQuery.status = status;
      listQuery.offset = 0;
      loadRuns().catch(fail);
    });
    box.appendChild(button);
  });
}

function loadSchedules() {
  return api('GET', '/api/schedules').then(function (body) {
    var list = body && (body.schedules || body);
    if (!Array.isArray(list)) return;
    var rows = clear($('schedules').tBodies[0]);
    list.forEach(function (s) {
      // sluice/bullmq's ScheduleInfo: { id, workflow, every? (ms) | pattern (cron), tz?, next?, iterations }
      var timing = s.pattern ? s.pattern + (s.tz ? ' (' + s.tz + ')' : '') : s.every ? 'every ' + duration(s.every) : '';
      rows.appendChild(el('tr', { 'data-schedule': s.id }, [
        el('td', { text: s.id }),
        el('td', { class: 'muted', text: s.workflow || '' }),
        el('td', { class: 'muted', text: timing }),
        el('td', { class: 'num', text: s.next ? 'next ' + clock(s.next) : 'done' }),
        el('td', { class: 'num', text: (s.iterations || 0) + ' run' + (s.iterations === 1 ? '' : 's') }),
      ]));
    });
    $('schedules-section').hidden = false;
  }).catch(function () { $('schedules-section').hidden = true; }); // no dispatcher: no schedules panel
}

function initRunsView() {
  $('search').addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      listQuery.q = $('search').value.trim();
      listQuery.offset = 0;
      loadRuns().catch(fail);
    }, 200);
  });
  $('prev').addEventListener('click', function () { listQuery.offset = Math.max(0, listQuery.offset - PAGE); loadRuns().catch(fail); });
  $('next').addEventListener('click', function () { listQuery.offset += PAGE; loadRuns().catch(fail); });
}
