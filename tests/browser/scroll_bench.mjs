#!/usr/bin/env node
// Scrolling a long channel in the web app (/app/) in /usr/bin/chromium.
//
// Seeds a channel with --messages messages over REST (the server must run with
// RATE_LIMIT_ENABLED=false), logs in through the UI, opens the channel, loads the
// whole history upward (the app pages 50 at a time with before_seq: the script
// scrolls to the top until `history-start` shows), then scrolls the message list
// from top to bottom at a steady pace (a fixed scrollTop step every animation
// frame, the whole list in about --duration-s seconds), --runs times, measuring
// frame intervals (requestAnimationFrame), long tasks (PerformanceObserver
// 'longtask'), rows in the DOM (`data-rendered`) against messages loaded
// (`data-total`), blank samples (the middle of the list showing no row), and the
// JS heap after a GC (DevTools protocol).
//
//   node tests/browser/scroll_bench.mjs <base URL of the API port>
//        [--messages 10000] [--runs 3] [--duration-s 20] [--parallel 16]
//        [--timeout-s 300] [--shot file.png]
//
// The last stdout line is a JSON summary; per-run numbers and their medians.

import { join } from "node:path";
import { tmpdir } from "node:os";
import { Rest, inParallel, launchBrowser, newWatchedPage, parseOptions, runMain, screenshot } from "./lib.mjs";

const USAGE = "node scroll_bench.mjs <base-url> [--messages N] [--runs N] [--duration-s S] " +
  "[--parallel N] [--timeout-s S] [--shot file.png]";
const { opt, pos } = parseOptions(process.argv.slice(2),
  { messages: 10000, runs: 3, duration_s: 20, parallel: 16, timeout_s: 300, shot: "" }, USAGE);
if (pos.length !== 1 || !(opt.messages >= 1) || !(opt.runs >= 0) || !(opt.duration_s > 0)) {
  process.stderr.write(`usage: ${USAGE}\n`);
  process.exit(2);
}
const BASE = pos[0].replace(/\/+$/, "");
const PAGE_WAIT_MS = 15000;

const WORDS = ("the quick brown fox jumps over a lazy dog while seven engineers debate " +
  "whether windowed lists render faster than plain ones on slow laptops").split(" ");

// Deterministic text of varied length (one to four lines on screen, some with a
// line break), so that rows have different heights as in a real channel.
function contentOf(i) {
  let x = (i * 2654435761) >>> 0;
  const next = () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x >>> 8;
  };
  const n = 3 + (next() % 45);
  const words = [];
  for (let k = 0; k < n; k++) words.push(WORDS[next() % WORDS.length]);
  if (i % 7 === 0) words.splice(n >> 1, 0, "\n");
  return `#${i} ${words.join(" ")}`;
}

function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

const round2 = (v) => (v === null ? null : Math.round(v * 100) / 100);

// Page functions are real functions, not strings: the app's CSP forbids eval, which
// playwright would need for a string. Each finds the main message list (not a
// thread's) itself.

async function seed(rest, channelId, count, parallel) {
  const t0 = Date.now();
  await inParallel(count, parallel, (i) => rest.send(channelId, contentOf(i)));
  const ms = Date.now() - t0;
  return { messages: count, ms, per_s: Math.round(count / (ms / 1000)) };
}

async function loginViaUi(page, user) {
  await page.goto(`${BASE}/app/`, { waitUntil: "load", timeout: PAGE_WAIT_MS });
  await page.getByTestId("auth").waitFor({ timeout: PAGE_WAIT_MS });
  const form = page.getByTestId("auth");
  if (await form.locator('input[name="email"]').count()) await page.getByTestId("show-login").click();
  await form.locator('input[name="username"]').fill(user.username);
  await form.locator('input[name="password"]').fill(user.password);
  await page.getByTestId("login-submit").click();
  await page.waitForFunction((n) => document.querySelector('[data-testid="me"]')?.textContent.includes(n),
    user.username, { timeout: PAGE_WAIT_MS });
}

// Scrolls to the top until `history-start` shows (or the deadline); returns what
// was loaded and how long it took.
async function loadAllHistory(page, expected, deadlineMs) {
  const t0 = Date.now();
  let topScrolls = 0;
  let state = null;
  let stopped = null;
  while (Date.now() < deadlineMs) {
    state = await page.evaluate(() => {
      const list = [...document.querySelectorAll('[data-testid="message-list"]')].find((el) => !el.closest('[data-testid="thread-view"]'));
      return { total: Number(list?.dataset.total || 0), start: !!document.querySelector('[data-testid="history-start"]') };
    });
    if (state.start || state.total >= expected) break;
    await page.evaluate(() => {
      const list = [...document.querySelectorAll('[data-testid="message-list"]')].find((el) => !el.closest('[data-testid="thread-view"]'));
      list.scrollTop = 0;
      list.dispatchEvent(new Event("scroll"));
    });
    try {
      await page.waitForFunction((before) => {
        const list = [...document.querySelectorAll('[data-testid="message-list"]')].find((el) => !el.closest('[data-testid="thread-view"]'));
        return Number(list?.dataset.total || 0) > before || !!document.querySelector('[data-testid="history-start"]');
      }, state.total, { timeout: 10000, polling: "raf" });
      topScrolls++;
    } catch (err) {
      stopped = err && err.message ? err.message.split("\n")[0] : String(err);
      break;  // nothing more came within 10 s: report what was loaded
    }
  }
  return { loaded: state ? state.total : 0, history_start: !!(state && state.start), top_scrolls: topScrolls, ms: Date.now() - t0, stopped };
}

// One pass from top to bottom, measured in the page.
function scrollPass(page, durationS) {
  return page.evaluate(async (durationS) => {
    const list = [...document.querySelectorAll('[data-testid="message-list"]')].find((el) => !el.closest('[data-testid="thread-view"]'));
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    list.scrollTop = 0;
    for (let i = 0; i < 30; i++) await frame();
    const distance = list.scrollHeight - list.clientHeight;
    const step = Math.max(1, distance / (durationS * 60));
    const longTasks = [];
    const observer = new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push(e.duration); });
    observer.observe({ type: "longtask" });
    const intervals = [];
    let maxRendered = 0, maxRows = 0, blank = 0, samples = 0, frames = 0, last = null;
    const rect = list.getBoundingClientRect();
    const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
    const t0 = performance.now();
    await new Promise((resolve) => {
      const tick = (t) => {
        if (last !== null) intervals.push(t - last);
        last = t;
        frames++;
        maxRendered = Math.max(maxRendered, Number(list.dataset.rendered || 0));
        if (frames % 10 === 0) {
          maxRows = Math.max(maxRows, list.querySelectorAll('[data-testid="message"]').length);
          samples++;
          if (!document.elementFromPoint(cx, cy)?.closest('[data-testid="message"]')) blank++;
        }
        if (list.scrollTop + list.clientHeight >= list.scrollHeight - 1 || frames > durationS * 60 * 4) {
          resolve();
          return;
        }
        list.scrollTop += step;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const elapsed = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
    for (const e of observer.takeRecords()) longTasks.push(e.duration);
    observer.disconnect();
    return {
      intervals, frames, elapsed_ms: elapsed, step_px: step, distance_px: distance,
      reached_bottom: list.scrollTop + list.clientHeight >= list.scrollHeight - 1,
      long_tasks: longTasks, max_rendered: maxRendered, max_rows: maxRows,
      blank_samples: blank, samples, total: Number(list.dataset.total || 0),
    };
  }, durationS);
}

function summarisePass(raw) {
  const sorted = [...raw.intervals].sort((p, q) => p - q);
  // The display's frame period, taken as the median interval rounded to a 60/120 Hz
  // period when close to one; an interval of k periods means k-1 dropped frames.
  const med = median(sorted) ?? 16.67;
  const period = Math.abs(med - 16.67) < 2 ? 16.67 : Math.abs(med - 8.33) < 1 ? 8.33 : med;
  let dropped = 0;
  for (const iv of sorted) dropped += Math.max(0, Math.round(iv / period) - 1);
  return {
    frames: raw.frames,
    elapsed_s: round2(raw.elapsed_ms / 1000),
    step_px: round2(raw.step_px),
    distance_px: Math.round(raw.distance_px),
    reached_bottom: raw.reached_bottom,
    frame_ms_median: round2(med),
    frame_ms_p95: round2(quantile(sorted, 0.95)),
    frame_ms_p99: round2(quantile(sorted, 0.99)),
    frame_ms_max: round2(sorted[sorted.length - 1] ?? null),
    dropped_frames: dropped,
    dropped_share: round2(dropped / Math.max(1, raw.frames + dropped)),
    long_tasks: raw.long_tasks.length,
    long_task_ms_total: Math.round(raw.long_tasks.reduce((s, d) => s + d, 0)),
    long_task_ms_max: Math.round(Math.max(0, ...raw.long_tasks)),
    max_rendered: raw.max_rendered,
    max_dom_rows: raw.max_rows,
    total: raw.total,
    blank_samples: raw.blank_samples,
    samples: raw.samples,
  };
}

async function heap(cdp) {
  await cdp.send("HeapProfiler.collectGarbage");
  const h = await cdp.send("Runtime.getHeapUsage");
  return { used_mb: round2(h.usedSize / 1048576), total_mb: round2(h.totalSize / 1048576) };
}

async function main() {
  const started = Date.now();
  const deadline = started + opt.timeout_s * 1000;
  const summary = { ok: false, base: BASE, messages: opt.messages, errors: [], runs: [] };
  const fail = (msg) => summary.errors.push(msg);

  const tag = `sb${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const user = { username: `${tag}_u`, password: `pw-${tag}-bench` };
  const rest = new Rest(BASE);
  await rest.registerAndLogin(user.username, user.password);
  const channel = await rest.call("POST", "/api/v1/channels/", { name: `${tag}_long`, is_private: false });
  summary.seed = await seed(rest, channel.id, opt.messages, opt.parallel);

  const browser = await launchBrowser();
  summary.browser = browser.version();
  const { page, log } = await newWatchedPage(browser, "bench");
  try {
    await loginViaUi(page, user);
    await page.locator(`[data-testid="channel-item"][data-channel-id="${channel.id}"]`).click();
    await page.waitForFunction(() => {
      const list = [...document.querySelectorAll('[data-testid="message-list"]')].find((el) => !el.closest('[data-testid="thread-view"]'));
      return list && Number(list.dataset.total) > 0;
    }, null, { timeout: PAGE_WAIT_MS });
    summary.history = await loadAllHistory(page, opt.messages, deadline - 10000);
    if (!summary.history.history_start) fail(`history-start not shown (${summary.history.loaded} loaded)`);
    if (summary.history.loaded !== opt.messages) {
      fail(`data-total is ${summary.history.loaded} after loading the history (want ${opt.messages})`);
    }
    const cdp = await page.context().newCDPSession(page);
    summary.heap_loaded = await heap(cdp);
    summary.dom_nodes = await page.evaluate(() => document.getElementsByTagName("*").length);

    for (let r = 0; r < opt.runs; r++) {
      if (Date.now() > deadline) {
        fail(`out of time after ${r} runs`);
        break;
      }
      const pass = summarisePass(await scrollPass(page, opt.duration_s));
      summary.runs.push(pass);
      if (!pass.reached_bottom) fail(`run ${r + 1} did not reach the bottom in ${pass.frames} frames`);
    }
    summary.heap_after = await heap(cdp);
    if (opt.shot) summary.screenshot = await screenshot(page, opt.shot, fail);
  } catch (err) {
    fail(err && err.message ? err.message.split("\n")[0] : String(err));
    await page.screenshot({ path: join(tmpdir(), "scroll_bench-failure.png") }).catch(() => {});
  } finally {
    await browser.close().catch(() => {});
  }

  if (summary.runs.length) {
    const keys = Object.keys(summary.runs[0]).filter((k) => typeof summary.runs[0][k] === "number");
    summary.median = Object.fromEntries(keys.map((k) => [k, round2(median(summary.runs.map((p) => p[k])))]));
  }
  if (log.pageErrors.length) fail(`uncaught errors in the page: ${log.pageErrors.slice(0, 3).join(" | ")}`);
  summary.console_errors = log.consoleErrors.slice(0, 10);
  summary.elapsed_s = round2((Date.now() - started) / 1000);
  summary.ok = summary.errors.length === 0;
  return summary;
}

runMain(main, opt.timeout_s + 60);
