// Filters and sorts the detection table. Without this script the table
// shows every row in time order and the filter form stays hidden.
(function () {
  'use strict';
  var table = document.getElementById('detections');
  var form = document.getElementById('filters');
  var shown = document.getElementById('shown');
  if (!table || !form || !shown) {
    return;
  }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var total = rows.length;
  var search = document.getElementById('f-q');
  var host = document.getElementById('f-host');
  var rule = document.getElementById('f-rule');
  var levelBoxes = Array.prototype.slice.call(form.querySelectorAll('input[name="level"]'));
  var rank = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
  var COL = { host: 1, level: 2, rule: 3, tactics: 4, source: 6 };

  // What filtering and sorting read, taken from each row once.
  var info = rows.map(function (tr) {
    var c = tr.cells;
    return {
      tr: tr,
      t: Number(tr.getAttribute('data-t')) || 0,
      host: c[COL.host].textContent,
      level: c[COL.level].textContent,
      rule: c[COL.rule].textContent,
      tactics: c[COL.tactics].textContent,
      source: c[COL.source].textContent,
      text: tr.textContent.toLowerCase()
    };
  });

  function fmt(n) {
    return n.toLocaleString('en-US');
  }

  function apply() {
    var q = search.value.trim().toLowerCase();
    var levels = {};
    levelBoxes.forEach(function (b) {
      levels[b.value] = b.checked;
    });
    var h = host.value;
    var r = rule.value;
    var n = 0;
    info.forEach(function (d) {
      var ok = levels[d.level] !== false &&
        (h === '' || d.host === h) &&
        (r === '' || d.rule === r) &&
        (q === '' || d.text.indexOf(q) >= 0);
      d.tr.hidden = !ok;
      if (ok) {
        n++;
      }
    });
    shown.textContent = 'Showing ' + fmt(n) + ' of ' + fmt(total) + ' detections';
  }

  var timer = 0;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 150);
  });
  form.addEventListener('change', apply);
  form.addEventListener('submit', function (e) {
    e.preventDefault();
  });
  form.addEventListener('reset', function () {
    setTimeout(apply, 0);
  });

  // Sorting: each sortable header becomes a button; a second click on
  // the same column reverses the order.
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function compare(key) {
    if (key === 't') {
      return function (a, b) { return a.t - b.t; };
    }
    if (key === 'level') {
      return function (a, b) { return rank[a.level] - rank[b.level] || a.t - b.t; };
    }
    return function (a, b) {
      return a[key].localeCompare(b[key]) || a.t - b.t;
    };
  }
  function sortBy(th, key) {
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    var cmp = compare(key);
    var order = info.slice().sort(function (a, b) {
      return asc ? cmp(a, b) : cmp(b, a);
    });
    var frag = document.createDocumentFragment();
    order.forEach(function (d) {
      frag.appendChild(d.tr);
    });
    tbody.appendChild(frag);
    headers.forEach(function (h) {
      h.removeAttribute('aria-sort');
    });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
  }
  headers.forEach(function (th) {
    var key = th.getAttribute('data-key');
    if (!key) {
      return;
    }
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'sort';
    while (th.firstChild) {
      button.appendChild(th.firstChild);
    }
    th.appendChild(button);
    button.addEventListener('click', function () {
      sortBy(th, key);
    });
  });

  form.hidden = false;
  apply();
  document.body.setAttribute('data-ready', '1');
})();
