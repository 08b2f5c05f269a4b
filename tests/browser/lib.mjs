// Shared by the browser scripts (dashboard.mjs, chat.mjs, scroll_bench.mjs): launching
// /usr/bin/chromium through playwright-core (which downloads no browser), the
// non-blank screenshot check, a small REST client for seeding, and the JSON summary.

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { chromium } from "playwright-core";
import pngjs from "pngjs";

const { PNG } = pngjs;
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

// A drawn view has antialiased text in several colours and a good share of pixels
// unlike its background; a blank or unstyled-white page has neither.
export const MIN_DISTINCT_COLOURS = 32;
export const MIN_FOREGROUND_FRACTION = 0.01;

// launch() (not launchPersistentContext) because the chat test needs two contexts
// with separate storage; playwright gives the browser a fresh temporary profile
// (--user-data-dir) and deletes it on close.
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 30000,
  });
}

// A page that records what went wrong in it: uncaught errors, console errors and
// failed requests, for the summary.
export async function newWatchedPage(browser, label, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  const page = await context.newPage();
  const log = { label, pageErrors: [], consoleErrors: [], failedRequests: [] };
  page.on("pageerror", (e) => log.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on("console", (m) => {
    if (m.type() === "error") log.consoleErrors.push(m.text());
  });
  page.on("requestfailed", (r) => log.failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) log.failedRequests.push(`${r.url()}: HTTP ${r.status()}`);
  });
  return { context, page, log };
}

// Colour statistics of a PNG: distinct RGB colours, the most frequent one (the
// background) and the fraction of pixels clearly unlike it.
export function pngStats(buffer) {
  const { width, height, data } = PNG.sync.read(buffer);
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  let bg = 0;
  let bgCount = -1;
  for (const [k, c] of counts) if (c > bgCount) [bg, bgCount] = [k, c];
  const r = (bg >> 16) & 255, g = (bg >> 8) & 255, b = bg & 255;
  let foreground = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) > 48) foreground++;
  }
  return {
    width,
    height,
    distinct_colours: counts.size,
    background: `#${bg.toString(16).padStart(6, "0")}`,
    foreground_fraction: Number((foreground / (width * height)).toFixed(4)),
  };
}

// Saves a viewport screenshot and returns its statistics; `fail` gets a message
// when it looks blank.
export async function screenshot(page, path, fail) {
  await mkdir(dirname(path), { recursive: true });
  const stats = { path, ...pngStats(await page.screenshot({ path, timeout: 15000 })) };
  if (stats.distinct_colours < MIN_DISTINCT_COLOURS || stats.foreground_fraction < MIN_FOREGROUND_FRACTION) {
    fail(`screenshot ${path} looks blank: ${stats.distinct_colours} colours, ` +
      `${stats.foreground_fraction} foreground`);
  }
  return stats;
}

// Minimal REST client for what the scripts do outside the UI (seeding, sending while
// the pages reconnect). Throws with the status and body on any non-2xx.
export class Rest {
  constructor(base, token = null) {
    this.base = base;
    this.token = token;
  }

  async call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const resp = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    if (!resp.ok) throw new Error(`${method} ${path} -> ${resp.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  }

  async login(username, password) {
    const tok = await this.call("POST", "/api/v1/users/login", { username, password });
    this.token = tok.access_token;
    return this;
  }

  async registerAndLogin(username, password) {
    const user = await this.call("POST", "/api/v1/users/register",
      { username, email: `${username.toLowerCase()}@example.com`, password });
    await this.login(username, password);
    return user;
  }

  send(channelId, content) {
    return this.call("POST", "/api/v1/messages/", { channel_id: channelId, content });
  }

  // The whole history, ascending (pages of 100 with before_seq).
  async history(channelId) {
    const out = [];
    let before = null;
    for (;;) {
      const q = before === null ? "limit=100" : `limit=100&before_seq=${before}`;
      const page = await this.call("GET", `/api/v1/messages/channels/${channelId}?${q}`);
      out.unshift(...page);
      if (page.length < 100) return out;
      before = page[0].seq;
    }
  }
}

// Runs `task(i)` for i in [0, count) with at most `parallel` in flight.
export async function inParallel(count, parallel, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}

export function parseOptions(argv, defaults, usageText) {
  const opt = { ...defaults };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      pos.push(a);
      continue;
    }
    const key = a.slice(2).replace(/-/g, "_");
    if (!(key in defaults) || i + 1 >= argv.length) {
      process.stderr.write(`bad option ${a}\nusage: ${usageText}\n`);
      process.exit(2);
    }
    const value = argv[++i];
    opt[key] = typeof defaults[key] === "number" ? Number(value) : value;
  }
  return { opt, pos };
}

// The summary is the LAST line of stdout, one JSON object (earlier lines may be
// control lines for the caller). A hard limit keeps a hung browser from hanging it.
export function runMain(main, hardLimitS) {
  const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  const guard = setTimeout(() => {
    emit({ ok: false, errors: [`hard timeout (${hardLimitS} s)`] });
    process.exit(1);
  }, hardLimitS * 1000);
  guard.unref();
  main().then(
    (summary) => {
      emit(summary);
      process.exit(summary.ok ? 0 : 1);
    },
    (err) => {
      emit({ ok: false, errors: [String(err && err.stack ? err.stack : err)] });
      process.exit(1);
    },
  );
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
