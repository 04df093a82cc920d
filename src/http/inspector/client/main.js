// Routing: `#/` the runs list, `#/runs/<id>` one run. The list polls while shown; a run streams its events.
var pollTimer = null;

function route() {
  var match = /^#\/runs\/(.+)$/.exec(location.hash);
  clearInterval(pollTimer);
  showError('');
  if (match) {
    $('runs-view').hidden = true;
    $('run-view').hidden = false;
    var id = decodeURIComponent(match[1]);
    if (!current || current.id !== id) openRun(id);
    // Running bars grow with the clock while the run is live.
    pollTimer = setInterval(function () { if (current && current.model.end === null && !document.hidden) draw(); }, 1000);
  } else {
    closeRun();
    $('run-view').hidden = true;
    $('runs-view').hidden = false;
    loadRuns().catch(fail);
    pollTimer = setInterval(function () { if (!document.hidden) loadRuns().catch(function () {}); }, 2000);
  }
}

$('where').textContent = location.host;
initRunsView();
initRunView();
loadWorkflows().then(function () {
  route();
  loadSchedules();
}).catch(fail);
window.addEventListener('hashchange', route);
