// Signalink analytics dashboard: polls the analytics API (same origin) and draws
// headline numbers, three uPlot charts and two top-10 tables.
//
// State for tests and tooling, on <body>:
//   data-state     "loading" | "ready" (the last refresh drew the messages chart with
//                  at least one data point) | "empty" (it succeeded with no data) |
//                  "error" (it failed) | "token" (the server wants a token)
//   data-refreshes number of refreshes finished
// on each chart element, data-points = the rows the API returned for it, and on each
// table, data-rows = its rows of data.
"use strict";

(() => {
  const POLL_MS = 5000;            // between the end of one refresh and the start of the next
  const MAX_BACKOFF_MS = 30000;    // after repeated failures
  const REQUEST_TIMEOUT_MS = 10000;
  const PRESENCE_LIMIT = 10080;     // the endpoint's maximum
  const TOP_LIMIT = 10;
  const PRESENCE_SAMPLE_GAP_S = 25; // gateways sample sockets every 10 s (PRESENCE_SAMPLE_MS)
  const HOURS_CHOICES = [1, 6, 24, 168];
  const TOKEN_KEY = "signalink.analytics.token";

  const $ = (id) => document.getElementById(id);
  const body = document.body;

  const state = {
    hours: 1,
    windowSeconds: 60,
    timer: 0,
    inFlight: false,
    again: false,
    failures: 0,
    refreshes: 0,
    lastSuccess: null,  // Date of the last refresh with no failed request
    charts: {},         // id -> { plot, data }
    tokenPrompted: false,
  };

  // ---------------------------------------------------------------- helpers

  const nf0 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const nf2 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  const nfSig = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 2 });
  const fmtInt = (v) => (v == null || Number.isNaN(v) ? "–" : nf0.format(v));
  // Rates: 0.0014, 0.25, 3.5, 12.25, 250 (small ones keep two significant digits).
  const fmtRate = (v) => {
    if (v == null || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    return (a >= 100 ? nf0 : a >= 1 || a === 0 ? nf2 : nfSig).format(v);
  };
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  // "2026-11-28T10:05:03.123456Z" -> seconds since the epoch (microseconds kept).
  const TS_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;
  function parseTs(text) {
    const m = typeof text === "string" ? TS_RE.exec(text) : null;
    if (!m) return NaN;
    let secs = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
    if (m[7]) secs += Number("0." + m[7]);
    if (m[8] !== "Z") {
      const sign = m[8][0] === "-" ? -1 : 1;
      const digits = m[8].slice(1).replace(":", "");
      secs -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
    }
    return secs;
  }

  // "1 user", "2 users" (the noun phrase's last word takes the s).
  function count(n, noun) {
    return `${fmtInt(n)} ${noun}${n === 1 ? "" : "s"}`;
  }

  function num(v) {
    return typeof v === "number" && Number.isFinite(v) ? v : 0;
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function withAlpha(color, alpha) {
    // #rrggbb -> rgba(); anything else is returned unchanged.
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
    if (!m) return color;
    return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
  }

  function storage() {
    try {
      return window.sessionStorage;
    } catch {
      return null;  // storage disabled: the token lives in memory only
    }
  }
  let memoryToken = "";
  function readToken() {
    const s = storage();
    try {
      return (s && s.getItem(TOKEN_KEY)) || memoryToken;
    } catch {
      return memoryToken;
    }
  }
  function writeToken(token) {
    memoryToken = token;
    const s = storage();
    try {
      if (s) token ? s.setItem(TOKEN_KEY, token) : s.removeItem(TOKEN_KEY);
    } catch {
      /* memory only */
    }
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(path, status, detail) {
      // The message leaves the path out, so that failures can be grouped by cause.
      super(status ? `HTTP ${status}${detail ? ` (${detail})` : ""}` : detail);
      this.path = path;
      this.status = status;
    }
  }

  // What one refresh asks for, in this order (render() relies on it).
  const REQUESTS = [
    { name: "stats", path: () => "/metrics/system/stats?hours=1" },
    { name: "time series", path: (h) => `/metrics/system/timeseries?hours=${h}` },
    { name: "presence", path: (h) => `/metrics/presence?hours=${h}&limit=${PRESENCE_LIMIT}` },
    { name: "top channels", path: (h) => `/metrics/channels/top/active?hours=${h}&limit=${TOP_LIMIT}` },
    { name: "top users", path: (h) => `/metrics/users/top/active?hours=${h}&limit=${TOP_LIMIT}` },
  ];

  async function getJson(path, signal) {
    const headers = { Accept: "application/json" };
    const token = readToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let resp;
    try {
      resp = await fetch(path, { headers, signal, cache: "no-store", credentials: "same-origin" });
    } catch (err) {
      throw new ApiError(path, 0, signal.aborted ? "no answer within 10 s" : "server unreachable");
    }
    if (!resp.ok) {
      let detail = "";
      try {
        const b = await resp.json();
        detail = typeof b.detail === "string" ? b.detail : "";
      } catch {
        /* not JSON */
      }
      throw new ApiError(path, resp.status, detail);
    }
    try {
      return await resp.json();
    } catch {
      throw new ApiError(path, resp.status, "response is not JSON");
    }
  }

  // ---------------------------------------------------------------- charts

  // Each chart: series drawn from a list of points; gaps handled per chart.
  const CHARTS = {
    "chart-messages": {
      series: [{ label: "Messages / s", color: "--series-1", fill: true, fmt: fmtRate }],
      unit: "msg/s",
    },
    "chart-activity": {
      series: [
        { label: "Active users", color: "--series-2", fmt: fmtInt },
        { label: "Active channels", color: "--series-3", fmt: fmtInt },
      ],
      integer: true,
    },
    "chart-presence": {
      series: [
        { label: "Users online", color: "--series-4", fill: true, fmt: fmtInt },
        { label: "Sockets (peak)", color: "--series-1", fmt: fmtInt },
      ],
      integer: true,
    },
  };

  function rangeX() {
    const to = Date.now() / 1000;
    return [to - state.hours * 3600, to];
  }

  function chartOptions(id, width) {
    const spec = CHARTS[id];
    const axis = cssVar("--axis") || "#4a5260";
    const grid = cssVar("--grid") || "#e3e7ec";
    const axisCommon = {
      stroke: axis,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
    };
    return {
      width,
      height: width < 480 ? 200 : 240,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: () => rangeX() },
        y: {
          range: (u, min, max) => {
            const top = Number.isFinite(max) && max > 0 ? max : 1;
            return [0, spec.integer ? Math.max(1, Math.ceil(top * 1.15)) : top * 1.15];
          },
        },
      },
      axes: [
        axisCommon,
        {
          ...axisCommon,
          size: 50,
          values: (u, ticks) => ticks.map((t) => (spec.integer ? fmtInt(t) : fmtRate(t))),
          ...(spec.integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000] } : {}),
        },
      ],
      series: [
        { label: "Time" },
        ...spec.series.map((s) => {
          const color = cssVar(s.color) || "#2563eb";
          return {
            label: s.label,
            stroke: color,
            width: 2,
            fill: s.fill ? withAlpha(color, 0.16) : undefined,
            spanGaps: false,
            points: { size: 5, fill: color },
            value: (u, v) => s.fmt(v),
          };
        }),
      ],
      legend: { live: true },
    };
  }

  function emptyData(id) {
    return [[], ...CHARTS[id].series.map(() => [])];
  }

  function buildChart(id) {
    const el = $(id);
    const old = state.charts[id];
    const data = old ? old.data : emptyData(id);
    if (old) old.plot.destroy();
    const width = Math.max(240, Math.floor(el.clientWidth));
    const plot = new uPlot(chartOptions(id, width), data, el);
    state.charts[id] = { plot, data };
  }

  function setChartData(id, data, realPoints) {
    const c = state.charts[id];
    c.data = data;
    c.plot.setData(data);
    $(id).dataset.points = String(realPoints);
  }

  function rebuildCharts() {
    for (const id of Object.keys(CHARTS)) buildChart(id);
  }

  function watchSizes() {
    if (!("ResizeObserver" in window)) return;
    const ro = new ResizeObserver((entries) => {
      for (const e of entries) {
        const c = state.charts[e.target.id];
        if (!c) continue;
        const width = Math.max(240, Math.floor(e.contentRect.width));
        if (width !== c.plot.width) c.plot.setSize({ width, height: width < 480 ? 200 : 240 });
      }
    });
    for (const id of Object.keys(CHARTS)) ro.observe($(id));
  }

  // Rows exist only for windows with events. Timeseries: between two rows more than a
  // window apart, and before the first / after the last (once the following window is
  // surely written), the rate really was zero. Presence: gateways sample their sockets
  // every 10 s while they have any, so a gap longer than that means nobody was online,
  // and shorter gaps (windows under 10 s) are joined. Zeros are drawn with two points
  // per gap rather than one per empty window (168 h of 2 s windows would be 300k).
  function fillZeros(points, w, from, to, maxGap = 1.5 * w) {
    const xs = [];
    const ys = points.length ? points[0].ys.map(() => []) : [];
    const push = (x, vals) => {
      xs.push(x);
      vals.forEach((v, i) => ys[i].push(v));
    };
    if (!points.length) return { xs, ys };
    const zeros = points[0].ys.map(() => 0);
    const first = points[0].x;
    const start = Math.ceil(from / w) * w;
    if (first - w >= start) {
      if (first - w > start) push(start, zeros);
      push(first - w, zeros);
    }
    points.forEach((p, i) => {
      if (i > 0) {
        const prev = points[i - 1].x;
        if (p.x - prev > maxGap) {
          push(prev + w, zeros);
          if (p.x - w > prev + w + 0.5 * w) push(p.x - w, zeros);
        }
      }
      push(p.x, p.ys);
    });
    const last = points[points.length - 1].x;
    // The window after `last` ended at last + 2w; allow it one more window to be written.
    if (last + w + Math.max(maxGap, 2 * w) <= to) {
      push(last + w, zeros);
      const settled = Math.floor(to / w) * w - 2 * w;
      if (settled > last + w) push(settled, zeros);
    }
    return { xs, ys };
  }

  function maxOf(arr) {
    let m = 0;
    for (const v of arr) if (v != null && v > m) m = v;
    return m;
  }

  function periodText() {
    return $("hours").selectedOptions[0].textContent.toLowerCase();
  }

  // Long periods of short windows hold more windows than the chart has pixels: group
  // them into buckets of a round length (a multiple of the window), about 300 per chart.
  const NICE_SECONDS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const TARGET_BUCKETS = 300;
  function bucketSeconds(w) {
    const raw = (state.hours * 3600) / TARGET_BUCKETS;
    if (raw <= w) return w;
    const nice = NICE_SECONDS.find((n) => n >= raw && n % w === 0);
    return nice || w * Math.ceil(raw / w);
  }

  // points: [{x, ...}] ascending; combine(group, bucketStart) -> a point of the bucket.
  function bucketize(points, size, combine) {
    const out = [];
    let group = [];
    let start = NaN;
    for (const p of points) {
      const b = Math.floor(p.x / size) * size;
      if (b !== start && group.length) {
        out.push(combine(group, start));
        group = [];
      }
      start = b;
      group.push(p);
    }
    if (group.length) out.push(combine(group, start));
    return out;
  }

  function drawTimeseries(ts) {
    const rows = Array.isArray(ts && ts.time_series) ? ts.time_series : [];
    const points = rows
      .map((r) => ({
        x: parseTs(r.timestamp),
        msg: num(r.messages_per_second),
        users: num(r.active_users),
        channels: num(r.active_channels),
        count: num(r.message_count),
      }))
      .filter((p) => Number.isFinite(p.x))
      .sort((a, b) => a.x - b.x);
    const [from, to] = rangeX();
    const w = state.windowSeconds;
    const size = bucketSeconds(w);
    // A bucket's rate: its messages over its length (its empty windows count as zero);
    // the last bucket only up to the end of its last window. Users and channels: the
    // most in one window of the bucket.
    const buckets = size === w ? points : bucketize(points, size, (group, start) => {
      const isLast = group[group.length - 1] === points[points.length - 1];
      const span = isLast ? Math.min(size, group[group.length - 1].x + w - start) : size;
      const count = group.reduce((acc, p) => acc + p.count, 0);
      return {
        x: start,
        msg: count / span,
        users: maxOf(group.map((p) => p.users)),
        channels: maxOf(group.map((p) => p.channels)),
        count,
      };
    });

    const m = fillZeros(buckets.map((p) => ({ x: p.x, ys: [p.msg] })), size, from, to);
    setChartData("chart-messages", [m.xs, ...m.ys], points.length);
    const a = fillZeros(buckets.map((p) => ({ x: p.x, ys: [p.users, p.channels] })), size, from, to);
    setChartData("chart-activity", [a.xs, ...a.ys], points.length);

    if (!points.length) {
      $("chart-messages-summary").textContent = `No messages in the ${periodText()}.`;
      $("chart-activity-summary").textContent = `No message activity in the ${periodText()}.`;
      return 0;
    }
    const total = points.reduce((acc, p) => acc + p.count, 0);
    const peak = points.reduce((best, p) => (p.msg > best.msg ? p : best), points[0]);
    $("chart-messages-summary").textContent =
      `${count(total, "message")} in ${count(points.length, `active ${durationText(w)} window`)}; ` +
      `peak ${fmtRate(peak.msg)} msg/s at ${timeFmt.format(new Date(peak.x * 1000))}` +
      (size !== w ? `; drawn as the average over ${durationText(size)}.` : ".");
    $("chart-activity-summary").textContent =
      `At most ${count(maxOf(points.map((p) => p.users)), "user")} and ` +
      `${count(maxOf(points.map((p) => p.channels)), "channel")} active in one window` +
      (size !== w ? `; drawn as the most per ${durationText(size)}.` : ".");
    return points.length;
  }

  function durationText(secs) {
    if (secs % 3600 === 0) return `${secs / 3600} h`;
    if (secs % 60 === 0) return `${secs / 60} min`;
    return `${secs} s`;
  }

  function drawPresence(rows) {
    const list = Array.isArray(rows) ? rows : [];
    const points = list
      .map((r) => ({ x: parseTs(r.time_window), ys: [num(r.users_online), num(r.sockets_peak)] }))
      .filter((p) => Number.isFinite(p.x))
      .sort((a, b) => a.x - b.x);
    const w = num(list[0] && list[0].window_duration_seconds) || state.windowSeconds;
    const size = bucketSeconds(w);
    const buckets = size === w ? points : bucketize(points, size, (group, start) => ({
      x: start,
      ys: group[0].ys.map((_, i) => maxOf(group.map((p) => p.ys[i]))),
    }));
    const [from, to] = rangeX();
    const g = fillZeros(buckets, size, from, to, Math.max(1.5 * size, size + PRESENCE_SAMPLE_GAP_S));
    setChartData("chart-presence", [g.xs, ...g.ys], points.length);
    const summary = $("chart-presence-summary");
    if (!points.length) {
      summary.textContent = `No presence windows in the ${periodText()}.`;
      return;
    }
    const latest = points[points.length - 1].ys;
    summary.textContent =
      `Latest window: ${count(latest[0], "user")} online, ${count(latest[1], "socket")} at peak; ` +
      `at most ${count(maxOf(points.map((p) => p.ys[0])), "user")} online` +
      (list.length >= PRESENCE_LIMIT ? ` (in the newest ${fmtInt(PRESENCE_LIMIT)} windows with presence events)` : "") +
      (size !== w ? `; drawn as the most per ${durationText(size)}.` : ".");
  }

  // ---------------------------------------------------------------- stats and tables

  function drawStats(s) {
    $("stat-messages").textContent = fmtInt(s.total_messages_last_hour);
    $("stat-rate").textContent = fmtRate(s.messages_per_second);
    $("stat-users").textContent = fmtInt(s.active_users_last_hour);
    $("stat-channels").textContent = fmtInt(s.active_channels_last_hour);
    $("stat-online").textContent = fmtInt(s.users_online_now);
  }

  function nameCell(name, id) {
    const td = document.createElement("td");
    td.className = "name";
    if (typeof name === "string" && name) {
      td.textContent = name;
      td.title = id || "";
    } else {
      // No name (deleted or unknown): the start of the id, the whole id on hover.
      const span = document.createElement("span");
      span.className = "id";
      span.textContent = id ? `${id.slice(0, 8)}…` : "(unknown)";
      span.title = id || "";
      td.append(span);
    }
    return td;
  }

  function numCell(text) {
    const td = document.createElement("td");
    td.className = "num";
    td.textContent = text;
    return td;
  }

  function fillTable(tableId, rows, columns, nameOf, emptyText) {
    const tbody = $(tableId).tBodies[0];
    const out = [];
    for (const r of Array.isArray(rows) ? rows : []) {
      const tr = document.createElement("tr");
      const [name, id] = nameOf(r);
      tr.append(nameCell(name, id), ...columns.map((col) => numCell(col(r))));
      out.push(tr);
    }
    if (!out.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = document.createElement("td");
      td.colSpan = columns.length + 1;
      td.textContent = emptyText;
      tr.append(td);
      out.push(tr);
    }
    tbody.replaceChildren(...out);
    $(tableId).dataset.rows = String(out.length - (out[0].className === "empty" ? 1 : 0));
  }

  function drawTopChannels(rows) {
    fillTable(
      "top-channels",
      rows,
      [
        (r) => fmtInt(r.message_count),
        (r) => fmtRate(r.messages_per_second),
        (r) => fmtInt(r.unique_senders_count),
        (r) => fmtInt(r.edited_count),
        (r) => fmtInt(r.deleted_count),
      ],
      (r) => [r.channel_name, r.channel_id],
      `No channel activity in the ${periodText()}.`,
    );
  }

  function drawTopUsers(rows) {
    fillTable(
      "top-users",
      rows,
      [
        (r) => fmtInt(r.messages_sent),
        (r) => fmtInt(r.messages_edited),
        (r) => fmtInt(r.messages_deleted),
        (r) => fmtInt(r.channels_active),
      ],
      (r) => [r.username, r.user_id],
      `No user activity in the ${periodText()}.`,
    );
  }

  // ---------------------------------------------------------------- status, errors, token

  function showError(text) {
    const el = $("error");
    if (text) {
      if (el.textContent !== text) el.textContent = text;
      el.hidden = false;
    } else {
      el.hidden = true;
      el.textContent = "";
    }
  }

  function showStatus(failedAt) {
    const parts = [state.lastSuccess ? `Last updated ${timeFmt.format(state.lastSuccess)}` : "Not updated yet"];
    if (failedAt) parts.push(`update failed at ${timeFmt.format(failedAt)}`);
    parts.push(`${state.windowSeconds} s windows`);
    $("status").textContent = parts.join(" · ");
  }

  function promptToken(rejected) {
    const form = $("token-form");
    const wasHidden = form.hidden;
    form.hidden = false;
    $("token-toggle").hidden = false;
    if (rejected && (wasHidden || !state.tokenPrompted)) {
      state.tokenPrompted = true;
      $("token").focus();
    }
  }

  // ---------------------------------------------------------------- refresh loop

  function schedule(delay) {
    clearTimeout(state.timer);
    state.timer = 0;
    if (document.hidden) return;  // resumed by visibilitychange
    state.timer = setTimeout(refresh, delay);
  }

  async function refresh() {
    if (state.inFlight) {
      state.again = true;  // run once more as soon as this one ends
      return;
    }
    clearTimeout(state.timer);
    state.inFlight = true;
    state.again = false;
    const hours = state.hours;
    const ctl = new AbortController();
    const timeout = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
    const get = (path) => getJson(path, ctl.signal);
    let results;
    try {
      results = await Promise.allSettled(REQUESTS.map((r) => get(r.path(hours))));
    } finally {
      clearTimeout(timeout);
      state.inFlight = false;
    }
    if (hours !== state.hours) state.again = true;  // the period changed meanwhile: redo
    else render(results);
    state.refreshes += 1;
    body.dataset.refreshes = String(state.refreshes);
    if (state.again) refresh();
    else schedule(state.failures ? Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** (state.failures - 1)) : POLL_MS);
  }

  // "HTTP 500 (Internal server error): stats, presence; server unreachable: top users"
  function describeFailures(results) {
    const byCause = new Map();
    results.forEach((r, i) => {
      if (r.status !== "rejected") return;
      const cause = r.reason instanceof Error ? r.reason.message : String(r.reason);
      if (!byCause.has(cause)) byCause.set(cause, []);
      byCause.get(cause).push(REQUESTS[i].name);
    });
    return [...byCause].map(([cause, names]) => `${cause}: ${names.join(", ")}`).join("; ");
  }

  function render(results) {
    const [stats, ts, presence, topChannels, topUsers] = results;
    const errors = results.filter((r) => r.status === "rejected").map((r) => r.reason);
    const unauthorized = errors.some((e) => e instanceof ApiError && e.status === 401);

    if (stats.status === "fulfilled") {
      const w = num(stats.value.window_seconds);
      if (w > 0) state.windowSeconds = w;
      drawStats(stats.value);
    }
    let messagePoints = -1;
    if (ts.status === "fulfilled") messagePoints = drawTimeseries(ts.value);
    if (presence.status === "fulfilled") drawPresence(presence.value);
    if (topChannels.status === "fulfilled") drawTopChannels(topChannels.value);
    if (topUsers.status === "fulfilled") drawTopUsers(topUsers.value);

    if (unauthorized) {
      const had = Boolean(readToken());
      promptToken(true);
      showError(had ? "The analytics token was refused: enter the right one below."
                    : "This analytics server requires a token: enter it below.");
      body.dataset.state = "token";
      state.failures += 1;
    } else if (errors.length) {
      state.failures += 1;
      const next = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** (state.failures - 1)) / 1000;
      showError(`The analytics API failed (${describeFailures(results)}). ` +
                `Showing the last data received; retrying in ${next} s.`);
      body.dataset.state = errors.length === results.length ? "error" : (messagePoints > 0 ? "ready" : "error");
    } else {
      state.failures = 0;
      state.lastSuccess = new Date();
      showError("");
      body.dataset.state = messagePoints > 0 ? "ready" : "empty";
    }
    showStatus(errors.length ? new Date() : null);
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    if (typeof window.uPlot !== "function") {
      showError("The chart library (/dashboard/assets/uPlot.iife.min.js) did not load.");
      body.dataset.state = "error";
      return;
    }
    const fromUrl = Number(new URLSearchParams(location.search).get("hours"));
    if (HOURS_CHOICES.includes(fromUrl)) state.hours = fromUrl;
    $("hours").value = String(state.hours);

    $("controls").addEventListener("submit", (e) => e.preventDefault());
    $("hours").addEventListener("change", () => {
      state.hours = Number($("hours").value);
      const url = new URL(location.href);
      url.searchParams.set("hours", String(state.hours));
      history.replaceState(null, "", url);
      refresh();
    });

    if (readToken()) $("token-toggle").hidden = false;
    $("token-toggle").addEventListener("click", () => {
      const form = $("token-form");
      form.hidden = !form.hidden;
      if (!form.hidden) $("token").focus();
    });
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = $("token").value.trim();
      if (!value) return;
      writeToken(value);
      $("token").value = "";
      $("token-form").hidden = true;
      $("token-toggle").hidden = false;
      state.failures = 0;
      refresh();
    });
    $("token-forget").addEventListener("click", () => {
      writeToken("");
      $("token").value = "";
      refresh();
    });

    rebuildCharts();
    watchSizes();
    const dark = window.matchMedia("(prefers-color-scheme: dark)");
    if (dark.addEventListener) dark.addEventListener("change", rebuildCharts);

    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && !state.inFlight) refresh();
    });
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
