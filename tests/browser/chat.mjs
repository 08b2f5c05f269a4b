#!/usr/bin/env node
// Two people chat in the web app (/app/) in two browser contexts of /usr/bin/chromium:
// both register through the UI, one creates a channel and the other joins it from
// the channel list, messages and typing show live on both sides, a thread, members
// with presence, a private channel that never shows to the other user, another one
// he is added to that shows in his sidebar at once, a mention there (not the channel
// he has open) that rings his notification bell and leads to it, and a server
// restart in the middle of the conversation after which every message is on both
// pages exactly once, in seq order.
//
//   node tests/browser/chat.mjs <base URL of the API port> <screenshot dir>
//        [--tag T] [--timeout-s 20] [--restart stdio|none]
//
// --restart stdio: the server restart is done by the caller. This script prints a
// line "STOP" and waits for "STOPPED" on stdin, then (after sending while the server
// is down) prints "START" and waits for "STARTED" (the server answers again on the
// same ports and database). tests/e2e/test_app_browser.py does this.
//
// The last stdout line is a JSON summary ("ok", "errors", "steps", "screenshots").

import { createInterface } from "node:readline";
import { join, resolve } from "node:path";
import { Rest, launchBrowser, newWatchedPage, parseOptions, runMain, screenshot, sleep } from "./lib.mjs";

const USAGE = "node chat.mjs <base-url> <screenshot-dir> [--tag T] [--timeout-s N] [--restart stdio|none]";
const { opt, pos } = parseOptions(process.argv.slice(2),
  { tag: `t${Date.now().toString(36)}`, timeout_s: 20, restart: "stdio" }, USAGE);
if (pos.length !== 2 || !["stdio", "none"].includes(opt.restart)) {
  process.stderr.write(`usage: ${USAGE}\n`);
  process.exit(2);
}
const BASE = pos[0].replace(/\/+$/, "");
const SHOTS = resolve(pos[1]);
const WAIT_MS = opt.timeout_s * 1000;
// After a restart the pages wait out their reconnect backoff (up to 10 s) first.
const RECONNECT_MS = WAIT_MS + 15000;

const MAIN_LIST = "main message list";

// Lines the caller writes on stdin, consumed by waitLine().
const stdinLines = [];
let lineWaiter = null;
if (opt.restart === "stdio") {
  createInterface({ input: process.stdin }).on("line", (line) => {
    stdinLines.push(line.trim());
    if (lineWaiter) lineWaiter();
  });
}

async function control(command, reply, timeoutMs) {
  process.stdout.write(command + "\n");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = stdinLines.indexOf(reply);
    if (i >= 0) {
      stdinLines.splice(i, 1);
      return;
    }
    if (Date.now() > deadline) throw new Error(`no "${reply}" on stdin within ${timeoutMs} ms after "${command}"`);
    await new Promise((r) => {
      lineWaiter = r;
      setTimeout(r, 200);
    });
    lineWaiter = null;
  }
}

// page.waitForFunction with a readable failure.
async function waitIn(who, fn, arg, what, timeoutMs = WAIT_MS) {
  try {
    return await who.page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 100 });
  } catch (err) {
    const last = await who.page.evaluate(() => document.body?.innerText.slice(0, 400)).catch(() => "?");
    throw new Error(`${who.name}: ${what} not within ${timeoutMs} ms (page text: ${JSON.stringify(last)})`);
  }
}

// The textarea of a composer, whether the test id is on the textarea or around it.
function composerBox(who, testId) {
  return who.page.locator(`textarea[data-testid="${testId}"], [data-testid="${testId}"] textarea`).first();
}

async function sendViaComposer(who, text, testId = "composer") {
  const box = composerBox(who, testId);
  await box.click();
  await box.fill(text);
  await box.press("Enter");
}

// Every row of the main message list, gathered by scrolling the windowed list from
// top to bottom; rows keep display order. A message rendered twice at once, or two
// rows (different ids) with the same text, count as doubles.
async function collectRows(who) {
  return who.page.evaluate(async () => {
    const list = [...document.querySelectorAll('[data-testid="message-list"]')]
      .find((el) => !el.closest('[data-testid="thread-view"]'));
    if (!list) return null;
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const rows = new Map();
    const doubled = [];
    const snapshot = () => {
      const ids = new Set();
      for (const row of list.querySelectorAll('[data-testid="message"]')) {
        const content = row.querySelector('[data-testid="message-content"]')?.textContent.trim() ?? "";
        const id = row.dataset.messageId || `no-id:${content}`;
        if (ids.has(id)) doubled.push(content);
        ids.add(id);
        rows.set(id, {
          id,
          seq: Number(row.dataset.seq || 0),
          content,
          pending: row.dataset.pending === "true",
          own: row.dataset.own,
          author: row.querySelector('[data-testid="message-author"]')?.textContent.trim() ?? null,
        });
      }
    };
    list.scrollTop = 0;
    await frame();
    snapshot();
    for (let i = 0; i < 500 && list.scrollTop + list.clientHeight < list.scrollHeight - 1; i++) {
      list.scrollTop += Math.max(40, list.clientHeight / 2);
      await frame();
      snapshot();
    }
    return {
      rows: [...rows.values()],
      doubled,
      total: list.dataset.total ?? null,
      rendered: list.dataset.rendered ?? null,
    };
  });
}

// How many rows of the main list show exactly `text` (0 when none).
function countRowsWithText(who, text) {
  return who.page.evaluate((t) => {
    const list = [...document.querySelectorAll('[data-testid="message-list"]')]
      .find((el) => !el.closest('[data-testid="thread-view"]'));
    if (!list) return 0;
    return [...list.querySelectorAll('[data-testid="message"] [data-testid="message-content"]')]
      .filter((c) => c.textContent.trim() === t).length;
  }, text);
}

async function waitMessageShown(who, text, timeoutMs = WAIT_MS) {
  await waitIn(who, (t) => {
    const list = [...document.querySelectorAll('[data-testid="message-list"]')]
      .find((el) => !el.closest('[data-testid="thread-view"]'));
    return list && [...list.querySelectorAll('[data-testid="message"] [data-testid="message-content"]')]
      .some((c) => c.textContent.trim() === t);
  }, text, `message ${JSON.stringify(text)} in the ${MAIN_LIST}`, timeoutMs);
}

async function registerViaUi(who, user) {
  const { page } = who;
  await page.getByTestId("show-register").click();
  const form = page.getByTestId("auth");
  await form.locator('input[name="username"]').fill(user.username);
  await form.locator('input[name="email"]').fill(user.email);
  await form.locator('input[name="password"]').fill(user.password);
  const fullName = form.locator('input[name="full_name"]');
  if (await fullName.count()) await fullName.fill(user.fullName);
  await page.getByTestId("register-submit").click();
  await waitIn(who, (name) => document.querySelector('[data-testid="me"]')?.textContent.includes(name),
    user.username, `"me" showing ${user.username} after registering`);
  await waitConnOpen(who);
}

async function waitConnOpen(who, timeoutMs = WAIT_MS) {
  await waitIn(who, () => {
    const banner = document.querySelector('[data-testid="conn-banner"]');
    const hidden = !banner || banner.hidden || banner.getClientRects().length === 0 ||
      getComputedStyle(banner).visibility === "hidden";
    return document.body.dataset.conn === "open" && hidden;
  }, null, "body[data-conn=open] with conn-banner hidden", timeoutMs);
}

async function openChannel(who, channelId) {
  await who.page.locator(`[data-testid="channel-item"][data-channel-id="${channelId}"]`).click();
  await waitIn(who, (id) => document.querySelector(`[data-testid="channel-view"][data-channel-id="${id}"]`),
    channelId, `channel-view of ${channelId}`);
}

async function createChannelViaUi(who, name, isPrivate) {
  const { page } = who;
  await page.getByTestId("new-channel").click();
  const form = page.getByTestId("channel-form");
  await form.locator('input[name="name"], [name="name"]').first().fill(name);
  await form.locator('[name="description"]').first().fill(`made by the browser test (${isPrivate ? "private" : "public"})`);
  if (isPrivate) await form.locator('input[name="is_private"]').check();
  await page.getByTestId("channel-create-submit").click();
  const handle = await waitIn(who, (n) => {
    const item = document.querySelector(`[data-testid="channel-item"][data-channel-name="${n}"]`);
    const view = item && document.querySelector(`[data-testid="channel-view"][data-channel-id="${item.dataset.channelId}"]`);
    return view ? item.dataset.channelId : null;
  }, name, `channel ${name} created, listed and open`);
  return handle.jsonValue();
}

// The member list shows each of `names` online (`fail` is told otherwise; the run goes on).
async function checkPresence(who, names, when, fail, summary) {
  const online = (list) => list.every((n) => document.querySelector(
    `[data-testid="member-list"] [data-testid="member-item"][data-username="${n}"][data-presence="online"]`));
  try {
    await who.page.waitForFunction(online, names, { timeout: 8000, polling: 100 });
  } catch {
    fail(`${who.name}: member-item data-presence not "online" for all of ${names.join(", ")} ${when}`);
  }
  summary[`presence_${when.replace(/\W+/g, "_")}`] = await who.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="member-item"]')].map((m) => [m.dataset.username, m.dataset.presence]));
}

// Which of the conversation's messages each page shows, compared with the server's
// history: each exactly once, in seq order, none missing, no pending left.
function checkConversation(who, collected, expected, fail) {
  if (!collected) {
    fail(`${who.name}: no message-list`);
    return;
  }
  const byContent = new Map();
  for (const row of collected.rows) byContent.set(row.content, [...(byContent.get(row.content) || []), row]);
  for (const m of expected) {
    const rows = byContent.get(m.content) || [];
    if (rows.length !== 1) {
      fail(`${who.name}: ${JSON.stringify(m.content)} shown ${rows.length} times (want exactly once)`);
    } else if (rows[0].seq !== m.seq || rows[0].id !== m.id) {
      fail(`${who.name}: ${JSON.stringify(m.content)} has seq ${rows[0].seq} id ${rows[0].id}, ` +
        `the server says seq ${m.seq} id ${m.id}`);
    }
  }
  if (collected.doubled.length) fail(`${who.name}: rows rendered twice at once: ${collected.doubled.join(", ")}`);
  const pending = collected.rows.filter((r) => r.pending).map((r) => r.content);
  if (pending.length) fail(`${who.name}: still pending: ${pending.join(", ")}`);
  const seqs = collected.rows.map((r) => r.seq);
  for (let i = 1; i < seqs.length; i++) {
    if (!(seqs[i] > seqs[i - 1])) {
      fail(`${who.name}: rows not in strictly ascending seq order: ${seqs.join(",")}`);
      break;
    }
  }
}

async function main() {
  const summary = { ok: false, base: BASE, errors: [], steps: [], screenshots: {} };
  const fail = (msg) => summary.errors.push(msg);
  const started = Date.now();
  const tag = opt.tag.replace(/[^A-Za-z0-9_]/g, "").slice(0, 24);
  const mkUser = (suffix) => {
    const username = `${tag}_${suffix}`;
    return { username, email: `${username.toLowerCase()}@example.com`, password: `pw-${tag}-${suffix}-secret`, fullName: `Browser ${suffix}` };
  };
  const users = { alice: mkUser("al"), bob: mkUser("bo") };
  const shot = async (who, name) => {
    summary.screenshots[name] = await screenshot(who.page, join(SHOTS, `${name}.png`), fail);
  };
  const step = async (name, fn) => {
    const t0 = Date.now();
    try {
      await fn();
    } finally {
      summary.steps.push({ name, ms: Date.now() - t0 });
    }
  };

  const browser = await launchBrowser();
  summary.browser = browser.version();
  const a = { name: "alice", ...(await newWatchedPage(browser, "alice")) };
  const b = { name: "bob", ...(await newWatchedPage(browser, "bob")) };
  const sent = [];   // contents of the main conversation, in sending order
  const ids = {};
  try {
    await step("alice opens /app/ and registers", async () => {
      const resp = await a.page.goto(`${BASE}/app/`, { waitUntil: "load", timeout: WAIT_MS });
      if (!resp || resp.status() !== 200) throw new Error(`GET /app/ answered ${resp && resp.status()}`);
      await a.page.getByTestId("auth").waitFor({ timeout: WAIT_MS });
      await shot(a, "login");
      await registerViaUi(a, users.alice);
    });

    await step("alice creates a public channel", async () => {
      ids.shared = await createChannelViaUi(a, `${tag}_lobby`, false);
    });

    await step("bob registers and joins from the channel list", async () => {
      await b.page.goto(`${BASE}/app/`, { waitUntil: "load", timeout: WAIT_MS });
      await b.page.getByTestId("auth").waitFor({ timeout: WAIT_MS });
      await registerViaUi(b, users.bob);
      const item = b.page.locator(`[data-testid="channel-item"][data-channel-id="${ids.shared}"]`);
      await item.waitFor({ timeout: WAIT_MS });
      const member = await item.getAttribute("data-member");
      if (member !== "false") fail(`bob: channel-item data-member is ${member} before joining (want "false")`);
      await openChannel(b, ids.shared);
      await b.page.getByTestId("join-channel").click();
      await b.page.getByTestId("leave-channel").waitFor({ timeout: WAIT_MS });
      await waitIn(b, (id) => document.querySelector(`[data-testid="channel-item"][data-channel-id="${id}"]`)
        ?.dataset.member === "true", ids.shared, "channel-item data-member=true after joining");
    });

    await step("messages show live on both sides", async () => {
      const lines = [
        [a, `${tag} hello from alice`],
        [b, `${tag} hi alice, bob here`],
        [a, `${tag} how is the weather`],
        [b, `${tag} sunny and windy`],
      ];
      for (const [who, text] of lines) {
        await sendViaComposer(who, text);
        sent.push(text);
        for (const side of [a, b]) await waitMessageShown(side, text);
      }
      for (const text of sent) {
        for (const side of [a, b]) {
          const n = await countRowsWithText(side, text);
          if (n !== 1) fail(`${side.name}: ${JSON.stringify(text)} shown ${n} times right after sending (want 1)`);
        }
      }
    });

    await step("typing shows on the other side and clears on send", async () => {
      const box = composerBox(a, "composer");
      await box.click();
      const text = `${tag} typed slowly`;
      await box.pressSequentially(text, { delay: 25 });
      await waitIn(b, (name) => {
        const el = document.querySelector('[data-testid="typing-indicator"]');
        return el && (el.dataset.typing || "").split(",").includes(name) && el.textContent.includes(name);
      }, users.alice.username, `typing-indicator naming ${users.alice.username}`);
      summary.typing_text = await b.page.getByTestId("typing-indicator").textContent();
      await shot(b, "typing");
      await box.press("Enter");
      sent.push(text);
      await waitMessageShown(b, text);
      await waitIn(b, () => {
        const el = document.querySelector('[data-testid="typing-indicator"]');
        return el && !el.dataset.typing && el.textContent.trim() === "";
      }, null, "typing-indicator empty after the send", 7000);
    });

    await step("thread: alice replies to a message", async () => {
      const row = a.page.locator('[data-testid="message"]', {
        has: a.page.locator('[data-testid="message-content"]', { hasText: `${tag} sunny and windy` }),
      }).first();
      const parentId = await row.getAttribute("data-message-id");
      await row.hover();
      await row.getByTestId("message-reply").click();
      await waitIn(a, (id) => document.querySelector(`[data-testid="thread-view"][data-parent-id="${id}"]`),
        parentId, "thread-view of the message");
      const reply = `${tag} a reply in the thread`;
      await sendViaComposer(a, reply, "thread-composer");
      await waitIn(a, (t) => [...document.querySelectorAll('[data-testid="thread-view"] [data-testid="message-content"]')]
        .some((c) => c.textContent.trim() === t), reply, "the reply in thread-view");
      await shot(a, "thread");
      await a.page.getByTestId("thread-close").click();
      await a.page.getByTestId("thread-view").waitFor({ state: "detached", timeout: WAIT_MS })
        .catch(() => a.page.getByTestId("thread-view").waitFor({ state: "hidden", timeout: 1000 }));
    });

    // Bob was online before he joined: the server tells alice's subscription so
    // when he joins (a presence.update online), without any resubscribe.
    await step("members with presence", async () => {
      await a.page.getByTestId("members-toggle").click();
      await checkPresence(a, [users.alice.username, users.bob.username], "after bob joined", fail, summary);
      await a.page.getByTestId("members-toggle").click();
    });

    await step("channel view screenshot", async () => {
      await shot(a, "channel");
    });

    const restA = new Rest(BASE);
    const restB = new Rest(BASE);
    await step("both log in over REST too", async () => {
      await restA.login(users.alice.username, users.alice.password);
      await restB.login(users.bob.username, users.bob.password);
    });

    await step("a private channel never shows to bob", async () => {
      const name = `${tag}_secret`;
      const secretText = `${tag} the private plan`;
      ids.private = await createChannelViaUi(a, name, true);
      await sendViaComposer(a, secretText);
      await waitMessageShown(a, secretText);
      // A reload makes bob's app list the channels afresh (the session survives it,
      // or bob logs in again).
      await b.page.reload({ waitUntil: "load" });
      await b.page.waitForFunction(() => document.querySelector('[data-testid="me"], [data-testid="auth"]'),
        null, { timeout: WAIT_MS });
      if (await b.page.getByTestId("auth").count()) {
        summary.bob_logged_in_again_after_reload = true;
        const form = b.page.getByTestId("auth");
        await form.locator('input[name="username"]').fill(users.bob.username);
        await form.locator('input[name="password"]').fill(users.bob.password);
        await b.page.getByTestId("login-submit").click();
      }
      await b.page.locator(`[data-testid="channel-item"][data-channel-id="${ids.shared}"]`).waitFor({ timeout: WAIT_MS });
      if (await b.page.locator(`[data-testid="channel-item"][data-channel-id="${ids.private}"]`).count()) {
        fail("bob: the private channel is in bob's channel-list");
      }
      await b.page.evaluate((id) => { location.hash = `#/c/${id}`; }, ids.private);
      await sleep(1500);
      const seen = await b.page.evaluate(() => ({
        text: document.body.innerText,
        rows: document.querySelectorAll('[data-testid="message"]').length,
        error: [...document.querySelectorAll('[data-testid="error-toast"], [role="alert"]')]
          .map((e) => e.textContent.trim()).filter(Boolean),
      }));
      summary.private_channel_for_bob = { rows: seen.rows, error: seen.error };
      if (seen.text.includes(secretText)) fail("bob: the private channel's message is on bob's page");
      if (seen.text.includes(name)) fail("bob: the private channel's name is on bob's page");
      if (seen.rows) fail(`bob: ${seen.rows} message rows shown at #/c/<private channel>`);
      await b.page.evaluate((id) => { location.hash = `#/c/${id}`; }, ids.shared);
      await waitIn(b, (id) => document.querySelector(`[data-testid="channel-view"][data-channel-id="${id}"]`),
        ids.shared, "back in the shared channel");
      await openChannel(a, ids.shared);
      await waitConnOpen(b);
      for (const text of sent) await waitMessageShown(b, text);
    });

    // Bob is told over the WebSocket when he is added: the channel shows in his
    // sidebar without a reload, and its messages reach him live.
    await step("alice adds bob to a private channel; it shows for bob at once", async () => {
      const text = `${tag} welcome to the inner circle`;
      ids.invited = await createChannelViaUi(a, `${tag}_inner`, true);
      await a.page.getByTestId("members-toggle").click();
      await a.page.locator('[data-testid="add-member"] input[name="member_username"]').fill(users.bob.username);
      await a.page.getByTestId("add-member-submit").click();
      await waitIn(a, (n) => document.querySelector(`[data-testid="member-item"][data-username="${n}"]`),
        users.bob.username, "bob in the member list after adding him");
      const item = `[data-testid="channel-item"][data-channel-id="${ids.invited}"]`;
      await b.page.locator(item).waitFor({ timeout: WAIT_MS });
      await sendViaComposer(a, text);
      await waitIn(b, (sel) => Number(document.querySelector(`${sel} [data-testid="unread"]`)?.textContent) >= 1,
        item, "an unread badge on the channel bob was added to");
      await openChannel(b, ids.invited);
      await waitMessageShown(b, text);
      await openChannel(a, ids.shared);
      await openChannel(b, ids.shared);
    });

    // Bob has the shared channel open: a mention there is no notification (he sees
    // it), one in the private channel he was added to and does not have open is.
    await step("bob is notified of a mention in a channel he does not have open", async () => {
      const seen = `@${users.bob.username} ${tag} you are reading this one`;
      const elsewhere = `@${users.bob.username} ${tag} please look at the inner plan`;
      await sendViaComposer(a, seen);
      sent.push(seen);
      await waitMessageShown(b, seen);
      await openChannel(a, ids.invited);
      await sendViaComposer(a, elsewhere);
      await waitIn(b, () => Number(document.querySelector('[data-testid="notif-count"]')?.textContent) >= 1,
        null, "notif-count >= 1");
      summary.notif_count = Number(await b.page.getByTestId("notif-count").textContent());
      await b.page.getByTestId("notif-bell").click();
      const items = b.page.locator('[data-testid="notif-panel"] [data-testid="notif-item"]');
      await items.first().waitFor({ timeout: WAIT_MS });
      const texts = (await items.allTextContents()).map((t) => t.trim());
      summary.notification_items = texts;
      if (!texts[0]?.includes(`${tag} please look at the inner plan`)) {
        fail(`bob: the newest notif-item is ${JSON.stringify(texts[0])}, not the mention in the inner channel`);
      }
      // The notifier handles messages in order: the mention in the inner channel is
      // notified, so the one in the channel bob had open was handled before it.
      const notified = (await restB.call("GET", "/api/v1/notifications/")).items.map((n) => n.channel_id);
      summary.notified_channels = notified.map((id) => ({ [ids.invited]: "inner", [ids.shared]: "shared" })[id] ?? id);
      if (notified.includes(ids.shared)) fail("bob: notified of a message in the channel he had open");
      if (summary.notif_count !== 1) fail(`bob: notif-count is ${summary.notif_count} (want 1: the inner mention)`);
      await shot(b, "notifications");
      await items.first().click();
      await waitIn(b, (id) => document.querySelector(`[data-testid="channel-view"][data-channel-id="${id}"]`),
        ids.invited, "the inner channel open after clicking the notification");
      await waitMessageShown(b, elsewhere);
      await waitIn(b, () => !document.querySelector('[data-testid="notif-count"]'), null, "notif-count gone once read");
      await openChannel(a, ids.shared);
      await openChannel(b, ids.shared);
    });

    if (opt.restart === "stdio") {
      const downText = `${tag} sent while the server was down`;
      const restTexts = [1, 2, 3].map((i) => `${tag} rest message ${i} after the restart`);
      await step("the server stops; alice sends meanwhile (pending)", async () => {
        await control("STOP", "STOPPED", 30000);
        for (const who of [a, b]) {
          await waitIn(who, () => document.body.dataset.conn !== "open" &&
            document.querySelector('[data-testid="conn-banner"]')?.getClientRects().length > 0,
          null, "body[data-conn] not open and conn-banner visible");
        }
        summary.banner_while_down = (await a.page.getByTestId("conn-banner").textContent())?.trim();
        summary.conn_while_down = await a.page.evaluate(() => document.body.dataset.conn);
        await sendViaComposer(a, downText);
        sent.push(downText);
        await waitIn(a, (t) => [...document.querySelectorAll('[data-testid="message"][data-pending="true"]')]
          .some((r) => r.querySelector('[data-testid="message-content"]')?.textContent.trim() === t),
        downText, "the message sent while down shown with data-pending=true", 5000);
        await shot(a, "reconnecting");
      });

      await step("the server restarts; bob sends over REST before the pages reconnect", async () => {
        await control("START", "STARTED", 60000);
        summary.rest_sent_while_pages = [];
        for (const text of restTexts) {
          await restB.send(ids.shared, text);
          sent.push(text);
          summary.rest_sent_while_pages.push(await a.page.evaluate(() => document.body.dataset.conn));
        }
      });

      await step("both pages reconnect with every message once", async () => {
        const t0 = Date.now();
        for (const who of [a, b]) await waitConnOpen(who, RECONNECT_MS);
        summary.reconnected_after_ms = Date.now() - t0;
        for (const who of [a, b]) {
          for (const text of sent) await waitMessageShown(who, text, WAIT_MS);
        }
        await waitIn(a, () => !document.querySelector('[data-testid="message"][data-pending="true"]'),
          null, "no pending message left");
        await a.page.getByTestId("members-toggle").click();
        await checkPresence(a, [users.alice.username, users.bob.username], "after the restart", fail, summary);
        await shot(a, "members");
        await a.page.getByTestId("members-toggle").click();
        const after = `${tag} live again after the restart`;
        await sendViaComposer(b, after);
        sent.push(after);
        await waitMessageShown(a, after);
      });
    }

    await step("every message exactly once on both pages, in seq order", async () => {
      const history = (await restB.history(ids.shared)).filter((m) => m.parent_id === null);
      const expected = sent.map((text) => history.find((m) => m.content === text) ||
        { content: text, seq: -1, id: "not on the server" });
      for (const m of expected) if (m.seq < 0) fail(`the server has no message ${JSON.stringify(m.content)}`);
      for (const who of [a, b]) {
        const collected = await collectRows(who);
        summary[`rows_${who.name}`] = collected && collected.rows.map((r) => [r.seq, r.content]);
        checkConversation(who, collected, expected.filter((m) => m.seq > 0), fail);
      }
      summary.server_seqs = expected.map((m) => m.seq);
    });

    await step("dark theme", async () => {
      for (let i = 0; i < 3; i++) {
        if (await a.page.evaluate(() => document.documentElement.dataset.theme === "dark")) break;
        await a.page.getByTestId("theme-toggle").click();
      }
      const theme = await a.page.evaluate(() => document.documentElement.dataset.theme);
      if (theme !== "dark") throw new Error(`html[data-theme] is ${theme} after cycling theme-toggle`);
      await sleep(300);
      await shot(a, "dark");
    });

    await step("phone-sized layout", async () => {
      await b.page.setViewportSize({ width: 390, height: 844 });
      await sleep(300);
      await shot(b, "phone");
      await b.page.getByTestId("sidebar-toggle").click();
      await b.page.getByTestId("channel-list").waitFor({ state: "visible", timeout: WAIT_MS });
      await sleep(300);
      await shot(b, "phone-drawer");
    });
  } catch (err) {
    const last = summary.steps[summary.steps.length - 1];
    fail(`step "${last ? last.name : "?"}": ${err && err.message ? err.message.split("\n")[0] : String(err)}`);
    for (const who of [a, b]) {
      await who.page.screenshot({ path: join(SHOTS, `failure-${who.name}.png`) }).catch(() => {});
      summary[`failure_text_${who.name}`] = await who.page.evaluate(() => document.body?.innerText.slice(0, 1500))
        .catch(() => null);
    }
  } finally {
    await browser.close().catch(() => {});
  }

  for (const who of [a, b]) {
    if (who.log.pageErrors.length) fail(`${who.name}: uncaught errors in the page: ${who.log.pageErrors.slice(0, 3).join(" | ")}`);
    summary[`console_errors_${who.name}`] = who.log.consoleErrors.slice(0, 10);
    summary[`failed_requests_${who.name}`] = who.log.failedRequests.slice(0, 10);
  }
  summary.elapsed_ms = Date.now() - started;
  summary.ok = summary.errors.length === 0;
  return summary;
}

runMain(main, 170);
