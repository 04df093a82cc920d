// Shared helpers of the inspector page. The client files are concatenated into one function scope and
// served as /inspector.js (no inline script, so a strict Content-Security-Policy holds). User data is only
// ever written with textContent.
var token = new URLSearchParams(location.search).get('access_token');
var TERMINAL = { completed: 1, failed: 1, aborted: 1, timed_out: 1 };
var STATUSES = ['running', 'waiting', 'paused', 'completed', 'failed', 'aborted', 'timed_out'];

function $(id) { return document.getElementById(id); }

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === undefined || v === null || v === false) return;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k === 'style') node.style.cssText = v; // CSSOM, which a strict CSP allows (a style attribute it would block)
    else node.setAttribute(k, v === true ? '' : v);
  });
  (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return node;
}

function clear(node) { node.textContent = ''; return node; }

function withToken(path) {
  return token ? path + (path.indexOf('?') < 0 ? '?' : '&') + 'access_token=' + encodeURIComponent(token) : path;
}

function showError(message) {
  var box = $('error');
  box.textContent = message || '';
  box.hidden = !message;
}

/** JSON call to the API; rejects with an Error carrying `status` and `code`. */
function api(method, path, body) {
  var headers = { accept: 'application/json' };
  if (method !== 'GET') headers['content-type'] = 'application/json'; // writes are JSON, even without a body
  if (token) headers.authorization = 'Bearer ' + token;
  var init = { method: method, headers: headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  return fetch(path, init).then(function (res) {
    return res.text().then(function (text) {
      var json = null;
      try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
      if (!res.ok) {
        var e = json && json.error ? json.error : { code: 'http_' + res.status, message: res.statusText || text };
        var error = new Error(e.code + ': ' + e.message);
        error.status = res.status;
        error.code = e.code;
        throw error;
      }
      return json;
    });
  });
}

function fail(error) { showError(error && error.message ? error.message : String(error)); }

function runPath(id) { return '/api/runs/' + encodeURIComponent(id); }

/** Form text as JSON when it parses, else as the string itself. */
function parseLoose(text) {
  try { return JSON.parse(text); } catch (_) { return text; }
}

function json(value) {
  if (value === undefined) return 'undefined';
  try { return JSON.stringify(value, null, 2); } catch (_) { return String(value); }
}

function clock(at) {
  if (!at) return '—';
  var d = new Date(at);
  var now = new Date();
  var time = d.toTimeString().slice(0, 8);
  return d.toDateString() === now.toDateString() ? time : d.toISOString().slice(0, 10) + ' ' + time;
}

function duration(ms) {
  if (ms === undefined || ms === null || isNaN(ms)) return '—';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  var s = Math.round((ms % 60000) / 1000), m = Math.round((ms % 3600000) / 60000);
  if (ms < 3600000) return Math.floor(ms / 60000) + ' m' + (s ? ' ' + s + ' s' : '');
  return Math.floor(ms / 3600000) + ' h' + (m ? ' ' + m + ' m' : '');
}

function badge(status) { return el('span', { class: 'badge ' + status, text: status }); }
