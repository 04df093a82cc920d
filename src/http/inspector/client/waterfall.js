// The waterfall: one row per step invocation on a shared time axis; bars per attempt (retried attempts
// amber, failures red, running blue), hatched bars for waits; sub-workflow invocations expand into their
// child run's rows.
var expanded = {};
// A run of thousands of invocations draws its first rows only (redrawn while it runs), until asked for all.
var ROW_LIMIT = 300;
var showAllRows = false;

function renderWaterfall(box, m, waiting, onPick, selectedId) {
  clear(box);
  if (m.start === null) { box.appendChild(el('p', { class: 'muted', text: 'no events yet' })); return; }
  var now = Date.now();
  var t0 = m.start;
  var t1 = m.end !== null ? m.end : Math.max(m.last, now);
  (waiting || []).forEach(function (w) { if (w.kind === 'sleep' && w.dueAt) t1 = Math.max(t1, Math.min(w.dueAt, t0 + 10 * (t1 - t0 + 1))); });
  var span = Math.max(1, t1 - t0);
  var x = function (at) { return Math.max(0, Math.min(100, ((at - t0) / span) * 100)); };
  var live = m.end === null;

  var ticks = el('div', { class: 'ticks' });
  [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
    var shift = f === 0 ? '0' : f === 1 ? '-100%' : '-50%'; // the end labels stay inside the track
    ticks.appendChild(el('span', { style: 'left:' + f * 100 + '%;transform:translateX(' + shift + ')', text: duration(span * f) }));
  });
  box.appendChild(el('div', { class: 'wf-axis' }, [el('span', { text: 'invocation' }), ticks, el('span', { class: 'dur', text: 'duration' })]));

  var drawn = 0, hiddenRows = 0;
  function addRows(model, depth) {
    model.order.forEach(function (inv) {
      if (!showAllRows && drawn >= ROW_LIMIT) { hiddenRows++; return; }
      drawn++;
      var hasChildren = inv.children.length > 0;
      var open = !!expanded[inv.id];
      var track = el('div', { class: 'track' });
      inv.attempts.forEach(function (a) {
        var end = a.end !== null ? a.end : live ? now : t1;
        track.appendChild(el('div', {
          class: 'bar ' + a.status,
          style: 'left:' + x(a.start) + '%;width:' + Math.max(0, x(end) - x(a.start)) + '%',
          title: inv.step + ' attempt ' + a.attempt + ' · ' + a.status + ' · ' + duration(end - a.start),
        }));
      });
      inv.waits.forEach(function (w) {
        // An open sleep is drawn up to its due time.
        var end = w.end !== null ? w.end : w.kind === 'sleep' && w.dueAt ? Math.min(w.dueAt, t1) : live ? now : t1;
        var what = w.kind === 'sleep' ? 'sleeping until ' + clock(w.dueAt) : w.kind === 'event' ? 'waiting for event ' + w.type : 'waiting for input: ' + w.prompt;
        track.appendChild(el('div', {
          class: 'bar ' + (w.kind === 'sleep' ? 'sleep' : 'wait'),
          'data-wait': w.requestId,
          style: 'left:' + x(w.start) + '%;width:' + Math.max(0, x(end) - x(w.start)) + '%',
          title: what + (w.end !== null ? ' · ' + duration(w.end - w.start) : ' · open'),
        }));
      });
      var end = inv.end !== null ? inv.end : live ? now : t1;
      var retries = inv.attempts.length > 1 ? el('span', { class: 'attempt', text: '×' + inv.attempts.length }) : null;
      var label = el('span', { class: 'label', title: inv.step + ' · ' + inv.id, style: 'padding-left:' + depth * 14 + 'px' }, [
        el('span', { class: 'toggle', text: hasChildren ? (open ? '▾' : '▸') : '' }),
        inv.step,
        retries,
      ]);
      var row = el('div', {
        class: 'wf-row' + (depth > 0 ? ' child' : '') + (selectedId === inv.id ? ' selected' : ''),
        'data-invocation': inv.id, 'data-step': inv.step, 'data-status': inv.status, 'data-attempts': String(inv.attempts.length),
      }, [label, track, el('span', { class: 'dur', text: duration(end - inv.start) })]);
      row.tabIndex = 0;
      row.setAttribute('role', 'button');
      row.addEventListener('keydown', function (e) { if (e.key === 'Enter') onPick({ invocation: inv }); });
      row.addEventListener('click', function (e) {
        if (hasChildren && e.target.className === 'toggle') {
          expanded[inv.id] = !open;
          renderWaterfall(box, m, waiting, onPick, selectedId);
          return;
        }
        onPick({ invocation: inv });
      });
      box.appendChild(row);
      if (hasChildren && open) {
        inv.children.forEach(function (child) {
          var cm = child.model;
          var head = el('div', { class: 'wf-row child', 'data-child-run': child.runId }, [
            el('span', { class: 'label', style: 'padding-left:' + (depth + 1) * 14 + 'px', text: '↳ ' + (cm.workflow || 'child') + ' ' + child.runId.slice(0, 8) }),
            el('div', { class: 'track' }, [el('div', {
              class: 'bar ' + (cm.outcome ? (cm.outcome.status === 'completed' ? 'done' : 'failed') : 'running'),
              style: 'opacity:.35;left:' + x(cm.start) + '%;width:' + Math.max(0, x(cm.end !== null ? cm.end : live ? now : t1) - x(cm.start)) + '%',
            })]),
            el('span', { class: 'dur', text: cm.end !== null ? duration(cm.end - cm.start) : '' }),
          ]);
          head.addEventListener('click', function () { onPick({ child: child }); });
          box.appendChild(head);
          addRows(cm, depth + 2);
        });
      }
    });
  }
  addRows(m, 0);
  if (hiddenRows > 0) {
    var more = el('button', { type: 'button', class: 'link more-rows', text: 'show ' + hiddenRows + ' more invocations' });
    more.addEventListener('click', function () { showAllRows = true; renderWaterfall(box, m, waiting, onPick, selectedId); });
    box.appendChild(more);
  }

  m.runWaits.concat((waiting || []).filter(function (w) { return w.kind === 'sleep' || w.kind === 'event'; }).map(function (w) {
    return { requestId: w.requestId, kind: w.kind, start: m.last, end: null, dueAt: w.dueAt, type: w.type };
  })).forEach(function (w) {
    if (m.waits[w.requestId] && m.runWaits.indexOf(w) < 0) return;
    var end = w.end !== null ? w.end : w.dueAt ? Math.min(w.dueAt, t1) : live ? now : t1;
    var what = w.kind === 'sleep' ? 'sleep until ' + clock(w.dueAt) : w.kind === 'event' ? 'wait for ' + w.type : 'input: ' + w.prompt;
    box.appendChild(el('div', { class: 'wf-row', 'data-wait': w.requestId }, [
      el('span', { class: 'label muted', text: what }),
      el('div', { class: 'track' }, [el('div', { class: 'bar ' + (w.kind === 'sleep' ? 'sleep' : 'wait'), style: 'left:' + x(w.start) + '%;width:' + Math.max(0, x(end) - x(w.start)) + '%' })]),
      el('span', { class: 'dur', text: w.end !== null ? duration(w.end - w.start) : 'open' }),
    ]));
  });

  box.appendChild(el('div', { class: 'legend' }, [
    legend('bar', 'done'), legend('bar running', 'running'), legend('bar retried', 'failed attempt, retried'),
    legend('bar failed', 'failed'), legend('bar wait', 'waiting for input or an event'), legend('bar sleep', 'sleeping'),
  ]));
}

function legend(cls, text) {
  return el('span', {}, [el('i', { class: cls, style: 'position:static' }), text]);
}
