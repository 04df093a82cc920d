// The step graph: columns from StartEvent along declared emits → accepts, an end node for StopEvent, and
// per step the invocations running / done / failed in this run; the failing step is highlighted, and so is
// the step an idle run names (the last to complete without output).
var SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  var node = document.createElementNS(SVG_NS, tag);
  Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderGraph(box, wf, m) {
  clear(box);
  if (!wf) return;
  var counts = stepCounts(m);
  var START = '\u0000start', END = '\u0000end';
  var layer = {};
  layer[START] = 0;
  var queue = [];
  wf.edges.forEach(function (e) { if (e.from === null && layer[e.to] === undefined) { layer[e.to] = 1; queue.push(e.to); } });
  while (queue.length) {
    var from = queue.shift();
    wf.edges.forEach(function (e) {
      if (e.from === from && layer[e.to] === undefined) { layer[e.to] = layer[from] + 1; queue.push(e.to); }
    });
  }
  var deepest = 0;
  Object.keys(layer).forEach(function (k) { deepest = Math.max(deepest, layer[k]); });
  wf.steps.forEach(function (s) { if (layer[s.name] === undefined) layer[s.name] = deepest + 1; });
  var enders = wf.steps.filter(function (s) { return s.emits && s.emits.indexOf('StopEvent') >= 0; });
  deepest = 0;
  wf.steps.forEach(function (s) { deepest = Math.max(deepest, layer[s.name]); });
  layer[END] = deepest + 1;

  var names = [START].concat(wf.steps.map(function (s) { return s.name; }), [END]);
  var columns = [];
  names.forEach(function (n) { (columns[layer[n]] = columns[layer[n]] || []).push(n); });
  var W = 130, H = 42, GX = 72, GY = 18, pos = {}, rows = 1;
  columns.forEach(function (col, cx) {
    (col || []).forEach(function (name, cy) { pos[name] = { x: 10 + cx * (W + GX), y: 10 + cy * (H + GY) }; });
    rows = Math.max(rows, (col || []).length);
  });
  var width = 20 + columns.length * (W + GX) - GX, height = 20 + rows * (H + GY) - GY;
  var root = svg('svg', { width: String(width), height: String(height), viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'step graph of ' + wf.name });
  var marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto' });
  marker.appendChild(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9aa3b5' }));
  var defs = svg('defs', {});
  defs.appendChild(marker);
  root.appendChild(defs);

  var edges = wf.edges.map(function (e) { return { from: e.from === null ? START : e.from, to: e.to, type: e.from === null ? '' : e.type }; });
  enders.forEach(function (s) { edges.push({ from: s.name, to: END, type: '' }); });
  edges.forEach(function (e) {
    var a = pos[e.from], b = pos[e.to];
    var x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    if (e.from === e.to || b.x <= a.x) { x2 = b.x + W / 2; y2 = b.y + (b.y >= a.y ? 0 : H); x1 = a.x + W / 2; y1 = a.y + (b.y >= a.y ? H : 0); }
    var mx = (x1 + x2) / 2;
    root.appendChild(svg('path', { class: 'edge', d: 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2 }));
    if (e.type) root.appendChild(svg('text', { class: 'label', x: String(mx), y: String((y1 + y2) / 2 - 4), 'text-anchor': 'middle' }, e.type));
  });

  names.forEach(function (name) {
    var p = pos[name];
    var terminal = name === START || name === END;
    var c = counts[name] || { running: 0, done: 0, failed: 0, waiting: 0 };
    var state = terminal ? 'terminal' : m.failedStep === name ? 'failed' : m.idle && m.idle.lastStep === name ? 'idle' : c.running && c.waiting === c.running ? 'waiting' : c.running ? 'running' : c.done ? 'done' : '';
    var g = svg('g', { class: 'node ' + state, transform: 'translate(' + p.x + ',' + p.y + ')' });
    if (!terminal) g.setAttribute('data-step', name);
    else g.setAttribute('data-terminal', name === START ? 'start' : 'end');
    g.appendChild(svg('rect', { width: String(W), height: String(H) }));
    var title = name === START ? 'start' : name === END ? 'end' : name;
    g.appendChild(svg('text', { x: String(W / 2), y: String(terminal ? H / 2 + 4 : 17), 'text-anchor': 'middle' }, title));
    if (!terminal) {
      var parts = [];
      if (c.running > c.waiting) parts.push(c.running - c.waiting + ' running');
      if (c.waiting) parts.push(c.waiting + ' waiting');
      parts.push(c.done + ' done');
      if (c.failed) parts.push(c.failed + ' failed');
      g.appendChild(svg('text', { class: 'counts', x: String(W / 2), y: '33', 'text-anchor': 'middle', 'data-counts': c.running + '/' + c.done + '/' + c.failed }, parts.join(' · ')));
    }
    root.appendChild(g);
  });
  box.appendChild(root);
}
