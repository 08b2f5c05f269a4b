#!/usr/bin/env node
// Opens the analytics dashboard in /usr/bin/chromium (driven by playwright-core, which
// downloads no browser), waits until it has drawn the messages chart with data, checks
// the top-channels table, saves a full-page screenshot and checks that it is not blank.
//
//   node tests/browser/dashboard.mjs <analytics base URL> <screenshot.png>
//        [--token T] [--timeout-s 30] [--viewport 1280x900] [--color-scheme light|dark]
//        [--min-channel-rows 1]
//
// Prints one JSON summary on stdout ("ok": true or false, "errors": [...]) and exits 0
// only when every check passed. Used by tests/e2e/test_dashboard_browser.py.

import { mkdtemp, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, pngStats } from "./lib.mjs";

const MIN_DISTINCT_COLOURS = 64;
const MIN_FOREGROUND_FRACTION = 0.02;
const MIN_CHART_FOREGROUND_FRACTION = 0.005;

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node dashboard.mjs <base-url> <screenshot.png> ` +
    "[--token T] [--timeout-s N] [--viewport WxH] [--color-scheme light|dark] [--min-channel-rows N]\n");
  process.exit(2);
}

function parseArgs(argv) {
  const pos = [];
  const opt = { token: "", timeoutS: 30, width: 1280, height: 900, colorScheme: "light", minChannelRows: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--token") opt.token = next();
    else if (a === "--timeout-s") opt.timeoutS = Number(next());
    else if (a === "--viewport") {
      const m = /^(\d+)x(\d+)$/.exec(next());
      if (!m) usage("--viewport is WIDTHxHEIGHT");
      opt.width = Number(m[1]);
      opt.height = Number(m[2]);
    } else if (a === "--color-scheme") opt.colorScheme = next();
    else if (a === "--min-channel-rows") opt.minChannelRows = Number(next());
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) usage("expected a base URL and a screenshot path");
  if (!(opt.timeoutS > 0 && opt.timeoutS <= 90)) usage("--timeout-s is 1..90 (the script's hard limit is 120 s)");
  if (!["light", "dark"].includes(opt.colorScheme)) usage("--color-scheme is light or dark");
  return { base: pos[0].replace(/\/+$/, ""), shot: resolve(pos[1]), ...opt };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const url = `${args.base}/dashboard`;
  const summary = { ok: false, url, screenshot: args.shot, errors: [] };
  const fail = (msg) => summary.errors.push(msg);
  const consoleErrors = [];
  const failedRequests = [];
  const pageErrors = [];

  const userDataDir = await mkdtemp(join(tmpdir(), "signalink-chromium-"));
  let context;
  const started = Date.now();
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: args.width, height: args.height },
      colorScheme: args.colorScheme,
      timeout: 30000,
    });
    summary.browser = context.browser()?.version() ?? null;
    const page = context.pages()[0] || (await context.newPage());
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
    page.on("requestfailed", (r) => failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on("response", (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.url()}: HTTP ${r.status()}`);
    });
    if (args.token) {
      // As if the user had entered it: the page keeps it in sessionStorage.
      await page.addInitScript((t) => {
        try {
          sessionStorage.setItem("signalink.analytics.token", t);
        } catch {
          /* ignore */
        }
      }, args.token);
    }

    const resp = await page.goto(url, { waitUntil: "load", timeout: args.timeoutS * 1000 });
    summary.http_status = resp ? resp.status() : null;
    if (!resp || resp.status() !== 200) fail(`GET ${url} answered ${summary.http_status}`);

    const remaining = Math.max(1000, args.timeoutS * 1000 - (Date.now() - started));
    try {
      await page.waitForFunction(
        () => document.body.dataset.state === "ready" &&
          Number(document.getElementById("chart-messages")?.dataset.points) > 0,
        null,
        { timeout: remaining, polling: 100 },
      );
    } catch {
      fail(`the dashboard was not ready with data within ${args.timeoutS} s`);
    }
    summary.ready_after_ms = Date.now() - started;

    const dom = await page.evaluate(() => {
      const text = (id) => document.getElementById(id)?.textContent.trim() ?? null;
      const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr:not(.empty)`)]
        .map((tr) => [...tr.cells].map((td) => td.textContent.trim()));
      const points = {};
      for (const el of document.querySelectorAll(".chart")) points[el.id] = Number(el.dataset.points);
      const canvases = [...document.querySelectorAll(".chart canvas")].map((c) => [c.width, c.height]);
      const banner = document.getElementById("error");
      return {
        state: document.body.dataset.state,
        refreshes: Number(document.body.dataset.refreshes || 0),
        title: document.title,
        stats: {
          messages: text("stat-messages"),
          messages_per_second: text("stat-rate"),
          active_users: text("stat-users"),
          active_channels: text("stat-channels"),
          users_online: text("stat-online"),
        },
        data_points: points,
        canvases,
        top_channels: rows("top-channels"),
        top_users: rows("top-users"),
        error_banner: banner && !banner.hidden ? banner.textContent.trim() : null,
        status_line: text("status"),
      };
    });
    Object.assign(summary, dom);
    if (dom.state !== "ready") fail(`data-state is ${JSON.stringify(dom.state)}, not "ready"`);
    if (!(dom.data_points["chart-messages"] > 0)) fail("the messages chart has no data points");
    if (dom.canvases.length < 3) fail(`expected 3 chart canvases, found ${dom.canvases.length}`);
    if (dom.top_channels.length < args.minChannelRows) {
      fail(`the top channels table has ${dom.top_channels.length} rows (want >= ${args.minChannelRows})`);
    }
    if (dom.error_banner) fail(`error banner shown: ${dom.error_banner}`);

    // The messages chart itself has drawn something (its canvas is not just background).
    const chartShot = await page.locator("#chart-messages canvas").first().screenshot({ timeout: 10000 });
    summary.messages_chart = pngStats(chartShot);
    if (summary.messages_chart.foreground_fraction < MIN_CHART_FOREGROUND_FRACTION) {
      fail(`the messages chart canvas looks empty (${summary.messages_chart.foreground_fraction} foreground)`);
    }

    await mkdir(dirname(args.shot), { recursive: true });
    const shot = await page.screenshot({ path: args.shot, fullPage: true, timeout: 15000 });
    summary.screenshot_png = pngStats(shot);
    if (summary.screenshot_png.distinct_colours < MIN_DISTINCT_COLOURS) {
      fail(`the screenshot has only ${summary.screenshot_png.distinct_colours} distinct colours`);
    }
    if (summary.screenshot_png.foreground_fraction < MIN_FOREGROUND_FRACTION) {
      fail(`the screenshot is nearly blank (${summary.screenshot_png.foreground_fraction} foreground)`);
    }
  } catch (err) {
    fail(`browser run failed: ${err && err.message ? err.message.split("\n")[0] : String(err)}`);
  } finally {
    if (context) await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }

  // A request the page needs that failed, or an uncaught exception, is a failure;
  // other console noise is reported only.
  const needed = failedRequests.filter((r) => /\/(dashboard|metrics)\b/.test(r));
  if (needed.length) fail(`requests failed: ${needed.slice(0, 5).join("; ")}`);
  if (pageErrors.length) fail(`uncaught errors in the page: ${pageErrors.slice(0, 3).join(" | ")}`);
  summary.console_errors = consoleErrors.slice(0, 10);
  summary.failed_requests = failedRequests.slice(0, 10);
  summary.elapsed_ms = Date.now() - started;
  summary.ok = summary.errors.length === 0;
  process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  return summary.ok ? 0 : 1;
}

// Never hang the caller: a hard limit well above the page timeout.
const HARD_LIMIT_S = 120;
const guard = setTimeout(() => {
  process.stdout.write(JSON.stringify({ ok: false, errors: [`dashboard.mjs hard timeout (${HARD_LIMIT_S} s)`] }) + "\n");
  process.exit(1);
}, HARD_LIMIT_S * 1000);
guard.unref();

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stdout.write(JSON.stringify({ ok: false, errors: [String(err && err.stack ? err.stack : err)] }) + "\n");
    process.exit(1);
  },
);
