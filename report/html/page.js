// exhunt HTML report: the findings table. Every value comes from the JSON
// data island and is hostile evidence, so it only ever reaches the page
// through textContent, never parsed as markup. Rows are built one page at a time
// so that thousands of findings stay quick.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('exhunt-data').textContent);
  var all = data.findings;
  var pageSize = 100;
  var state = { key: 't', dir: 1, q: '', sev: -1, stage: -1, page: 0 };
  var open = {}; // row index -> detail shown
  var view = [];
  var hay = []; // lower-case search text per row, built on first search

  var body = document.getElementById('fbody');
  var q = document.getElementById('q');
  var sevSel = document.getElementById('sev');
  var stageSel = document.getElementById('stage');
  var count = document.getElementById('count');
  var pageinfo = document.getElementById('pageinfo');
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function haystack(i) {
    if (hay[i] === undefined) {
      var r = all[i];
      var parts = [r.t, r.h, data.severities[r.s], data.stages[r.g], r.id, r.ti, r.l, r.ip, r.x, r.fp, r.sha, r.c, r.r];
      (r.f || []).forEach(function (kv) { parts.push(kv[0] + '=' + kv[1]); });
      (r.cve || []).forEach(function (c) { parts.push(c); });
      (r.att || []).forEach(function (c) { parts.push(c); });
      hay[i] = parts.join('\n').toLowerCase();
    }
    return hay[i];
  }

  function compare(a, b) {
    var ra = all[a], rb = all[b], k = state.key;
    var va = ra[k], vb = rb[k];
    if (k === 't') {
      // Unknown times sort last whichever the direction.
      if (!va && vb) return 1;
      if (va && !vb) return -1;
    }
    var c = 0;
    if (typeof va === 'number') c = va - vb;
    else c = String(va || '').localeCompare(String(vb || ''));
    if (c === 0) return a - b;
    return c * state.dir;
  }

  function refilter() {
    var words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    view = [];
    for (var i = 0; i < all.length; i++) {
      var r = all[i];
      if (state.sev >= 0 && r.s < state.sev) continue;
      if (state.stage >= 0 && r.g !== state.stage) continue;
      if (words.length) {
        var h = haystack(i), ok = true;
        for (var w = 0; w < words.length; w++) {
          if (h.indexOf(words[w]) < 0) { ok = false; break; }
        }
        if (!ok) continue;
      }
      view.push(i);
    }
    view.sort(compare);
    state.page = 0;
    render();
  }

  function detailRow(r) {
    var tr = el('tr', 'detail');
    var td = el('td');
    td.colSpan = 8;
    if (r.x) td.appendChild(el('pre', null, r.x));
    var dl = el('dl');
    function add(k, v) {
      if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) return;
      dl.appendChild(el('dt', null, k));
      dl.appendChild(el('dd', null, Array.isArray(v) ? v.join(', ') : v));
    }
    (r.f || []).forEach(function (kv) { add(kv[0], kv[1]); });
    add('sha256', r.sha);
    if (r.sz) add('size', r.sz + ' bytes');
    add('modified', r.mt);
    add('campaign', r.c);
    add('CVE', r.cve);
    add('ATT&CK', r.att);
    add('rule', r.r);
    if (r.rel) {
      var rel = r.rel.slice();
      if (r.relmore) rel.push('… ' + r.relmore + ' more');
      add('related rows', rel);
    }
    add('fingerprint', r.fp);
    td.appendChild(dl);
    tr.appendChild(td);
    return tr;
  }

  function toggle(tr, i) {
    open[i] = !open[i];
    tr.classList.toggle('open', open[i]);
    tr.setAttribute('aria-expanded', open[i] ? 'true' : 'false');
    if (open[i]) tr.parentNode.insertBefore(detailRow(all[i]), tr.nextSibling);
    else if (tr.nextSibling && tr.nextSibling.className === 'detail') tr.parentNode.removeChild(tr.nextSibling);
  }

  function render() {
    var pages = Math.max(1, Math.ceil(view.length / pageSize));
    if (state.page >= pages) state.page = pages - 1;
    var from = state.page * pageSize, to = Math.min(view.length, from + pageSize);
    var frag = document.createDocumentFragment();
    for (var n = from; n < to; n++) {
      var i = view[n], r = all[i];
      var tr = el('tr', 'row sev-' + data.severities[r.s]);
      tr.tabIndex = 0;
      tr.setAttribute('aria-expanded', open[i] ? 'true' : 'false');
      tr.appendChild(el('td', 'nw', r.t || 'unknown'));
      tr.appendChild(el('td', null, r.h));
      var sc = el('td');
      sc.appendChild(el('span', 'chip sev-' + data.severities[r.s], data.severities[r.s]));
      tr.appendChild(sc);
      tr.appendChild(el('td', null, data.stages[r.g]));
      tr.appendChild(el('td', 'nw', r.id));
      tr.appendChild(el('td', null, r.ti));
      tr.appendChild(el('td', 'loc', r.l));
      tr.appendChild(el('td', null, r.ip));
      tr.dataset.i = i;
      frag.appendChild(tr);
      if (open[i]) {
        tr.classList.add('open');
        frag.appendChild(detailRow(r));
      }
    }
    body.textContent = '';
    body.appendChild(frag);
    if (!view.length) {
      var empty = el('tr');
      var td = el('td', 'note', all.length ? 'No finding matches the filters.' : 'No findings.');
      td.colSpan = 8;
      empty.appendChild(td);
      body.appendChild(empty);
    }
    count.textContent = view.length === all.length ? all.length + ' finding(s)' : view.length + ' of ' + all.length + ' finding(s) match';
    pageinfo.textContent = view.length ? 'rows ' + (from + 1) + '–' + to + ' of ' + view.length + ' (page ' + (state.page + 1) + ' of ' + pages + ')' : '';
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
  }

  body.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr.row');
    if (tr) toggle(tr, Number(tr.dataset.i));
  });
  body.addEventListener('keydown', function (ev) {
    var tr = ev.target.closest('tr.row');
    if (tr && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      toggle(tr, Number(tr.dataset.i));
    }
  });

  var heads = document.querySelectorAll('#ftable thead th');
  Array.prototype.forEach.call(heads, function (th) {
    var b = th.querySelector('button');
    b.addEventListener('click', function () {
      var k = b.dataset.key;
      state.dir = state.key === k ? -state.dir : (k === 's' ? -1 : 1);
      state.key = k;
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
      view.sort(compare);
      render();
    });
  });

  var timer = 0;
  q.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = q.value; refilter(); }, 150);
  });
  sevSel.addEventListener('change', function () { state.sev = Number(sevSel.value); refilter(); });
  stageSel.addEventListener('change', function () { state.stage = Number(stageSel.value); refilter(); });
  document.getElementById('reset').addEventListener('click', function () {
    q.value = ''; sevSel.value = '-1'; stageSel.value = '-1';
    state.q = ''; state.sev = -1; state.stage = -1;
    refilter();
  });
  prev.addEventListener('click', function () { state.page--; render(); });
  next.addEventListener('click', function () { state.page++; render(); });

  // A reason's fingerprint buttons show its findings in the table.
  Array.prototype.forEach.call(document.querySelectorAll('button.fp'), function (b) {
    b.addEventListener('click', function () {
      q.value = b.dataset.fp;
      state.q = q.value; state.sev = -1; state.stage = -1;
      sevSel.value = '-1'; stageSel.value = '-1';
      refilter();
      document.getElementById('findings').scrollIntoView();
    });
  });

  // On paper nothing can be clicked open: print the closed tables too.
  var closed = [];
  window.addEventListener('beforeprint', function () {
    closed = Array.prototype.filter.call(document.querySelectorAll('details'), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener('afterprint', function () {
    closed.forEach(function (d) { d.open = false; });
  });

  refilter();
  document.body.setAttribute('data-ready', '1');
})();
