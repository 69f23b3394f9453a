/**
 * The browser-side script inlined into every report. It reads the JSON data block and draws the
 * charts with the inlined Chart.js; all numbers a reader needs are also in the HTML, so the page
 * stays useful without it. Plain ES2017 in a string: it is never executed by Node.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var el = document.getElementById('lethe-data');
  if (!el || typeof Chart === 'undefined') return;
  var data = JSON.parse(el.textContent);
  var C = { forget: '#d55e00', retain: '#0072b2', test: '#009e73', val: '#777777', loss: '#6a3d9a', oracle: '#6b7280' };
  var PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#8c6d1f', '#000000'];
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#1d2330';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 14;

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + ((n >> 16) & 255) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  function finite(v) { return typeof v === 'number' && isFinite(v); }
  function pct(v, d) { return finite(v) ? (v * 100).toFixed(d == null ? 1 : d) + '%' : '—'; }
  function pctScale(extra) {
    var s = { min: 0, max: 1, ticks: { callback: function (v) { return Math.round(v * 100) + '%'; } } };
    for (var k in extra) s[k] = extra[k];
    return s;
  }
  function pctTooltip(d) {
    return { callbacks: { label: function (ctx) {
      var ds = ctx.dataset, y = ctx.parsed.y, e = ds.errors ? ds.errors[ctx.dataIndex] : null;
      return (ds.label || '') + ': ' + pct(y, d) + (finite(e) ? ' ± ' + pct(e, d) : '');
    } } };
  }
  function canvas(id) { return document.getElementById(id); }

  // Whiskers of ± std on bars whose dataset carries an "errors" array.
  var errorBars = { id: 'letheErrorBars', afterDatasetsDraw: function (chart) {
    var ctx = chart.ctx;
    chart.data.datasets.forEach(function (ds, i) {
      if (!ds.errors || !chart.isDatasetVisible(i)) return;
      var meta = chart.getDatasetMeta(i), scale = chart.scales[meta.yAxisID];
      meta.data.forEach(function (bar, j) {
        var e = ds.errors[j], v = ds.data[j];
        if (!finite(e) || !finite(v) || e <= 0) return;
        var top = scale.getPixelForValue(v + e), bot = scale.getPixelForValue(v - e);
        var w = Math.min(6, bar.width / 4);
        ctx.save();
        ctx.strokeStyle = '#222'; ctx.lineWidth = 1.2; ctx.beginPath();
        ctx.moveTo(bar.x, top); ctx.lineTo(bar.x, bot);
        ctx.moveTo(bar.x - w, top); ctx.lineTo(bar.x + w, top);
        ctx.moveTo(bar.x - w, bot); ctx.lineTo(bar.x + w, bot);
        ctx.stroke(); ctx.restore();
      });
    });
  } };

  // Dashed horizontal reference lines; "category" limits a line to one category's band.
  var refLines = { id: 'letheRefLines', afterDatasetsDraw: function (chart, args, opts) {
    var lines = opts && opts.lines;
    if (!lines || !lines.length) return;
    var y = chart.scales.y, x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
    lines.forEach(function (l) {
      if (!finite(l.value)) return;
      var py = y.getPixelForValue(l.value), x0 = area.left, x1 = area.right;
      if (l.category != null) {
        var half = (area.right - area.left) / chart.data.labels.length / 2, cx = x.getPixelForValue(l.category);
        x0 = cx - half; x1 = cx + half;
      }
      ctx.save();
      ctx.strokeStyle = l.color || '#333'; ctx.lineWidth = 1.5; ctx.setLineDash([6, 4]);
      ctx.beginPath(); ctx.moveTo(x0, py); ctx.lineTo(x1, py); ctx.stroke();
      if (l.label) {
        ctx.setLineDash([]); ctx.fillStyle = l.color || '#333'; ctx.font = '11px system-ui, sans-serif';
        ctx.textAlign = 'right'; ctx.textBaseline = 'bottom'; ctx.fillText(l.label, x1 - 4, py - 2);
      }
      ctx.restore();
    });
  } };

  function line(label, color, points, opts) {
    var ds = { label: label, data: points, borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: 0, tension: 0 };
    for (var k in opts) ds[k] = opts[k];
    return ds;
  }

  function runReport(d) {
    var m = d.metrics, steps = m.history.steps, epochs = m.history.epochs;
    var w = d.derived.smoothingWindow, smooth = w > 1;
    var many = steps.length > 2000;
    var decimation = { enabled: many, algorithm: 'lttb', samples: 1000 };

    if (steps.length && canvas('chart-steps')) {
      var xs = steps.map(function (s) { return s.step; });
      var first = xs[0], last = xs[xs.length - 1];
      var pts = function (key) { return steps.map(function (s) { return { x: s.step, y: s[key] }; }); };
      var ptsOf = function (arr) { return arr.map(function (v, i) { return { x: xs[i], y: v }; }); };
      var ds = [
        line('facc (forget batch)', smooth ? alpha(C.forget, 0.3) : C.forget, pts('facc'), { borderWidth: smooth ? 1 : 2 }),
        line('racc (retain batch)', smooth ? alpha(C.retain, 0.3) : C.retain, pts('racc'), { borderWidth: smooth ? 1 : 2 })
      ];
      if (smooth) {
        ds.push(line('facc, ' + w + '-step mean', C.forget, ptsOf(d.derived.smoothed.facc), { borderWidth: 2.5 }));
        ds.push(line('racc, ' + w + '-step mean', C.retain, ptsOf(d.derived.smoothed.racc), { borderWidth: 2.5 }));
      }
      ds.push(line('eval-mode forget (final, full set)', C.forget, [{ x: first, y: m.accuracy.forget }, { x: last, y: m.accuracy.forget }], { borderDash: [6, 4], borderWidth: 1.5 }));
      ds.push(line('eval-mode retain (final, full set)', C.retain, [{ x: first, y: m.accuracy.retain }, { x: last, y: m.accuracy.retain }], { borderDash: [6, 4], borderWidth: 1.5 }));
      if (finite(m.accuracy.val)) ds.push(line('eval-mode val (final, held out)', C.val, [{ x: first, y: m.accuracy.val }, { x: last, y: m.accuracy.val }], { borderDash: [2, 3], borderWidth: 1.5 }));
      // The target: what a model retrained without D_f gets right of D_f.
      if (d.oracle && finite(d.oracle.forget)) ds.push(line('retrain oracle forget (target)', C.oracle, [{ x: first, y: d.oracle.forget }, { x: last, y: d.oracle.forget }], { borderDash: [10, 4], borderWidth: 2.5 }));
      new Chart(canvas('chart-steps'), {
        type: 'line',
        data: { datasets: ds },
        options: {
          parsing: false, normalized: true, spanGaps: false,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          scales: { x: { type: 'linear', title: { display: true, text: 'step' }, min: first, max: last }, y: pctScale({ title: { display: true, text: 'training-batch accuracy' } }) },
          plugins: { decimation: decimation, tooltip: pctTooltip(1) }
        }
      });
      var lossDs = [line('loss', smooth ? alpha(C.loss, 0.3) : C.loss, pts('loss'), { borderWidth: smooth ? 1 : 2 })];
      if (smooth) lossDs.push(line('loss, ' + w + '-step mean', C.loss, ptsOf(d.derived.smoothed.loss), { borderWidth: 2.5 }));
      new Chart(canvas('chart-loss'), {
        type: 'line',
        data: { datasets: lossDs },
        options: {
          parsing: false, normalized: true,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          scales: { x: { type: 'linear', title: { display: true, text: 'step' }, min: first, max: last }, y: { title: { display: true, text: 'loss' } } },
          plugins: { decimation: decimation }
        }
      });
    }

    if (epochs.length && canvas('chart-epochs')) {
      var labels = epochs.map(function (e) { return e.epoch === 0 ? '0 (before)' : String(e.epoch); });
      var eds = [];
      ['forget', 'retain', 'test'].forEach(function (k) {
        eds.push(line(k, C[k], epochs.map(function (e) { return e[k]; }), { pointRadius: 4, pointHoverRadius: 6 }));
      });
      if (m.original) {
        ['forget', 'retain', 'test'].forEach(function (k) {
          if (!finite(m.original[k])) return;
          eds.push(line('original ' + k, alpha(C[k], 0.7), epochs.map(function () { return m.original[k]; }), { borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0 }));
        });
      }
      new Chart(canvas('chart-epochs'), {
        type: 'line',
        data: { labels: labels, datasets: eds },
        options: {
          interaction: { mode: 'index', intersect: false },
          scales: { x: { title: { display: true, text: 'epoch' } }, y: pctScale({ title: { display: true, text: 'eval-mode accuracy' } }) },
          plugins: { tooltip: pctTooltip(2) }
        }
      });
    }

    var pc = m.perClass;
    if (pc && canvas('chart-per-class')) {
      var bars = [];
      var add = function (label, values, color) { if (values) bars.push({ label: label, data: values, backgroundColor: color, borderColor: color }); };
      add('test', pc.test, C.test);
      add('test, original', pc.originalTest, alpha(C.test, 0.35));
      add('forget', pc.forget, C.forget);
      add('forget, original', pc.originalForget, alpha(C.forget, 0.35));
      new Chart(canvas('chart-per-class'), {
        type: 'bar',
        data: { labels: d.classNames, datasets: bars },
        options: {
          interaction: { mode: 'index', intersect: false },
          scales: { y: pctScale({ title: { display: true, text: 'accuracy' } }) },
          plugins: { tooltip: pctTooltip(1) }
        }
      });
    }
  }

  function comparisonReport(d) {
    var entries = d.comparison.entries.slice();
    var oracle = d.oracleMethod;
    entries.sort(function (a, b) { return (b.method === oracle) - (a.method === oracle); });
    var colorOf = {}, n = 0;
    entries.forEach(function (e) { colorOf[e.method] = e.method === oracle ? C.oracle : PALETTE[n++ % PALETTE.length]; });
    var has = function (k) { return d.metricKeys.indexOf(k) >= 0; };
    var mean = function (e, k) { var v = e.metrics[k]; return v && finite(v.mean) ? v.mean : null; };
    var std = function (e, k) { var v = e.metrics[k]; return v && finite(v.std) ? v.std : null; };
    var nameOf = function (e) { return e.method === oracle ? e.method + ' (oracle)' : e.method; };

    function grouped(id, keys, names, yScale, extraPlugins) {
      var ks = [], ls = [];
      keys.forEach(function (k, i) { if (has(k)) { ks.push(k); ls.push(names[i]); } });
      if (!ks.length || !canvas(id)) return;
      var ds = entries.map(function (e) {
        return {
          label: nameOf(e), backgroundColor: colorOf[e.method], borderColor: colorOf[e.method],
          data: ks.map(function (k) { return mean(e, k); }), errors: ks.map(function (k) { return std(e, k); })
        };
      });
      var plugins = { tooltip: pctTooltip(2) };
      for (var p in extraPlugins) plugins[p] = extraPlugins[p];
      new Chart(canvas(id), {
        type: 'bar', data: { labels: ls, datasets: ds },
        options: { scales: { y: yScale }, plugins: plugins },
        plugins: [errorBars, refLines]
      });
    }

    grouped('chart-accuracy', ['accuracy.forget', 'accuracy.retain', 'accuracy.test', 'accuracy.val'], ['forget', 'retain', 'test', 'val'], pctScale({ title: { display: true, text: 'eval-mode accuracy' } }), {});
    var miaKeys = ['mia.simple', 'mia.efficacy'].filter(has);
    grouped('chart-mia', ['mia.simple', 'mia.efficacy'], ['simple MIA (ideal ≈ 0.5)', 'MIA-efficacy'], pctScale({}),
      { letheRefLines: { lines: miaKeys.indexOf('mia.simple') === 0 ? [{ value: 0.5, category: 0, label: '0.5' }] : [] } });

    function perMethod(id, key, rivalsOnly, yScale, tooltip) {
      if (!has(key) || !canvas(id)) return;
      var es = entries.filter(function (e) { return e.metrics[key] && !(rivalsOnly && e.method === oracle); });
      new Chart(canvas(id), {
        type: 'bar',
        data: { labels: es.map(nameOf), datasets: [{
          label: key, data: es.map(function (e) { return mean(e, key); }), errors: es.map(function (e) { return std(e, key); }),
          backgroundColor: es.map(function (e) { return colorOf[e.method]; })
        }] },
        options: { scales: { y: yScale }, plugins: { legend: { display: false }, tooltip: tooltip } },
        plugins: [errorBars]
      });
    }
    perMethod('chart-gap', 'gap.avg', true, { min: 0, grace: '10%', title: { display: true, text: 'Avg Gap' }, ticks: { callback: function (v) { return (v * 100).toFixed(0) + '%'; } } }, pctTooltip(2));
    perMethod('chart-time', 'seconds', false, { min: 0, grace: '10%', title: { display: true, text: 'seconds' } }, { callbacks: { label: function (ctx) {
      var e = ctx.dataset.errors[ctx.dataIndex];
      return ctx.parsed.y.toFixed(2) + ' s' + (finite(e) ? ' ± ' + e.toFixed(2) + ' s' : '');
    } } });
  }

  try {
    if (data.kind === 'run') runReport(data);
    else if (data.kind === 'comparison') comparisonReport(data);
  } catch (err) {
    var box = document.createElement('div');
    box.className = 'callout';
    box.textContent = 'A chart could not be drawn: ' + (err && err.message ? err.message : String(err));
    document.querySelector('main').insertBefore(box, document.querySelector('main').children[1]);
  }
})();
`;
