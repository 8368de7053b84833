// Filters, sorts and pages the detection table. Without this script the
// table shows every row in time order and the filter form stays hidden.
//
// Only the first data-page matching rows are shown, and more on request:
// browsers lay out a table of 20,000 rows slowly.
//
// The filters and the sort live in the address's fragment, so that a view
// can be bookmarked or shared:
// #q=reg%20save&levels=critical,high&host=DC01&rule=...&sort=-t
// (a leading minus sorts descending).
(function () {
  'use strict';
  var table = document.getElementById('detections');
  var form = document.getElementById('filters');
  var shown = document.getElementById('shown');
  if (!table || !form || !shown) {
    return;
  }
  var tbody = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var search = document.getElementById('f-q');
  var host = document.getElementById('f-host');
  var rule = document.getElementById('f-rule');
  var levelBoxes = Array.prototype.slice.call(form.querySelectorAll('input[name="level"]'));
  var rank = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
  var COL = { host: 1, level: 2, rule: 3, tactics: 4, source: 6 };
  var PAGE = Number(table.getAttribute('data-page')) || Infinity;
  var limit = PAGE;
  var more = document.getElementById('more');
  var all = document.getElementById('all');

  // What filtering and sorting read, taken from each row once.
  var info = Array.prototype.map.call(tbody.rows, function (tr) {
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

  // Hand the paging of the table from the style sheet to this script.
  // Rows are hidden while they move: moving shown rows costs the browser
  // a style pass over each.
  function hideAll() {
    info.forEach(function (d) {
      d.tr.hidden = true;
    });
  }
  hideAll();
  document.body.classList.add('js');

  function fmt(n) {
    return n.toLocaleString('en-US');
  }

  // order is info in the table's current order.
  var order = info.slice();

  // filter hides the rows the form leaves out, and those past the limit,
  // and says how many match.
  function filter() {
    var q = search.value.trim().toLowerCase();
    var levels = {};
    levelBoxes.forEach(function (b) {
      levels[b.value] = b.checked;
    });
    var h = host.value;
    var r = rule.value;
    var n = 0;
    order.forEach(function (d) {
      var ok = levels[d.level] !== false &&
        (h === '' || d.host === h) &&
        (r === '' || d.rule === r) &&
        (q === '' || d.text.indexOf(q) >= 0);
      if (ok) {
        n++;
      }
      d.tr.hidden = !ok || n > limit;
    });
    var text = 'Showing ' + fmt(n) + ' of ' + fmt(info.length) + ' detections';
    if (n > limit) {
      text += '; the first ' + fmt(limit) + ' are listed';
    }
    shown.textContent = text;
    more.hidden = all.hidden = n <= limit;
  }

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

  // sortBy orders the rows by a column: ascending, or descending when
  // desc. It leaves every row hidden: filter shows them.
  function sortBy(th, desc) {
    var cmp = compare(th.getAttribute('data-key'));
    hideAll();
    order = info.slice().sort(function (a, b) {
      return desc ? cmp(b, a) : cmp(a, b);
    });
    // Rows move within the body taken out of the page: moving them in
    // place costs the browser far more.
    var next = tbody.nextSibling;
    table.removeChild(tbody);
    order.forEach(function (d) {
      tbody.appendChild(d.tr);
    });
    table.insertBefore(tbody, next);
    headers.forEach(function (h) {
      h.removeAttribute('aria-sort');
    });
    th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
  }

  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ''));
    if (p.has('q')) {
      search.value = p.get('q');
    }
    if (p.has('levels')) {
      var on = p.get('levels').split(',');
      levelBoxes.forEach(function (b) {
        b.checked = on.indexOf(b.value) >= 0;
      });
    }
    if (p.has('host')) {
      host.value = p.get('host');
    }
    if (p.has('rule')) {
      rule.value = p.get('rule');
    }
    var sort = p.get('sort') || '';
    var desc = sort.charAt(0) === '-';
    var key = desc ? sort.slice(1) : sort;
    headers.forEach(function (th) {
      if (key !== '' && th.getAttribute('data-key') === key) {
        sortBy(th, desc);
      }
    });
  }

  function writeHash() {
    var p = new URLSearchParams();
    if (search.value.trim() !== '') {
      p.set('q', search.value.trim());
    }
    var on = levelBoxes.filter(function (b) { return b.checked; });
    if (on.length !== levelBoxes.length) {
      p.set('levels', on.map(function (b) { return b.value; }).join(','));
    }
    if (host.value !== '') {
      p.set('host', host.value);
    }
    if (rule.value !== '') {
      p.set('rule', rule.value);
    }
    headers.forEach(function (th) {
      var dir = th.getAttribute('aria-sort');
      var key = th.getAttribute('data-key');
      if (dir && !(key === 't' && dir === 'ascending')) {
        p.set('sort', (dir === 'descending' ? '-' : '') + key);
      }
    });
    var h = p.toString();
    if (h !== location.hash.replace(/^#/, '')) {
      history.replaceState(null, '', h === '' ? location.pathname + location.search : '#' + h);
    }
  }

  function update() {
    limit = PAGE;
    filter();
    writeHash();
  }

  more.addEventListener('click', function () {
    limit += PAGE;
    filter();
  });
  all.addEventListener('click', function () {
    limit = Infinity;
    filter();
  });

  var timer = 0;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  });
  form.addEventListener('change', update);
  form.addEventListener('submit', function (e) {
    e.preventDefault();
  });
  form.addEventListener('reset', function () {
    setTimeout(update, 0);
  });

  // Each sortable header becomes a button; a second click on the same
  // column reverses the order.
  headers.forEach(function (th) {
    if (!th.getAttribute('data-key')) {
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
      sortBy(th, th.getAttribute('aria-sort') === 'ascending');
      filter();
      writeHash();
    });
  });

  form.hidden = false;
  readHash();
  filter();
  document.body.setAttribute('data-ready', '1');
})();
