#!/usr/bin/env node
// An app's page in headless Chromium connects its user in a popup, as
// generated Base44 apps do (wave2.md §1.4): the page (served here, on
// 127.0.0.1:<appPort>) calls our `initiate` route cross-origin with the
// user's token, as the SDK does from a browser (Authorization, X-App-Id,
// X-Origin-URL), opens the answered `redirect_url` in a popup, the person
// logs in and consents at oidc-provider, and the page listens for the
// landing page's `postMessage`.
//
// Usage:
//   node tests/js/popup.mjs '{"serverUrl":"http://127.0.0.1:PORT","appId":"…","connectorId":"…",
//                             "userToken":"…","appPort":PORT,"login":"alice","timeoutMs":30000}'
//
// Prints exactly one JSON line on stdout:
//   {"fetch": "ok"|"blocked"|"status <n>", "messages": [{"origin","data"}], "popupClosed": bool,
//    "popupHeading": string|null, "error"?: string}
// Exit 0 in every outcome the test judges; 1 only if this script itself crashes.

import http from "node:http";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const input = JSON.parse(process.argv[2] || "{}");
const { serverUrl, appId, connectorId, userToken, appPort } = input;
const login = input.login || "alice";
const timeoutMs = Number.isFinite(input.timeoutMs) ? input.timeoutMs : 30000;
const deadline = Date.now() + timeoutMs;
const remaining = () => Math.max(1, deadline - Date.now());

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(0));
}

// The app's page: everything it learns is kept in window.__state.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>App</title></head><body>
<button id="connect">Connect calendar</button>
<script>
window.__state = { fetch: null, messages: [] };
window.addEventListener("message", (e) => window.__state.messages.push({ origin: e.origin, data: e.data }));
document.getElementById("connect").addEventListener("click", async () => {
  const popup = window.open("about:blank", "connect");
  try {
    const r = await fetch(${JSON.stringify(serverUrl)} + "/api/apps/" + ${JSON.stringify(appId)} +
      "/app-user-auth/connectors/" + ${JSON.stringify(connectorId)} + "/initiate", {
      method: "POST",
      headers: { "Authorization": "Bearer " + ${JSON.stringify(userToken)}, "Content-Type": "application/json",
        "Accept": "application/json", "X-App-Id": ${JSON.stringify(appId)}, "X-Origin-URL": location.href },
    });
    if (!r.ok) { window.__state.fetch = "status " + r.status; popup.close(); return; }
    const body = await r.json();
    window.__state.fetch = "ok";
    popup.location.href = body.redirect_url;
  } catch (e) {
    window.__state.fetch = "blocked";
    popup.close();
  }
});
</script></body></html>`;

const app = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end(PAGE);
});

let browser;
const result = { fetch: null, messages: [], popupClosed: false, popupHeading: null };

async function main() {
  await new Promise((r) => app.listen(appPort, "127.0.0.1", r));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: remaining() });
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(remaining());
  await page.goto(`http://127.0.0.1:${appPort}/`);
  const popupPromise = context.waitForEvent("page", { timeout: remaining() });
  await page.click("#connect");
  const popup = await popupPromise;
  popup.setDefaultTimeout(remaining());
  popup.on("close", () => (result.popupClosed = true));
  // Wait for the page's fetch to settle.
  await page.waitForFunction(() => window.__state.fetch !== null, null, { timeout: remaining() });
  result.fetch = await page.evaluate(() => window.__state.fetch);
  if (result.fetch === "ok") {
    // The provider: login, then consent, until the popup closes or lands.
    await popup.waitForURL((u) => !String(u).startsWith("about:"), { timeout: remaining() }).catch(() => {});
    for (let step = 0; step < 10 && !result.popupClosed; step++) {
      await popup.waitForLoadState("load", { timeout: remaining() }).catch(() => {});
      if (result.popupClosed) break;
      const loginInput = popup.locator('input[name="login"]');
      const consentForm = popup.locator('form:has(input[name="prompt"][value="consent"])');
      if ((await loginInput.count().catch(() => 0)) > 0) {
        await loginInput.fill(login);
        await popup.locator('input[name="password"]').fill("password");
        await Promise.all([
          popup.waitForNavigation({ timeout: remaining() }).catch(() => {}),
          popup.locator('form:has(input[name="login"]) button[type=submit]').click(),
        ]);
      } else if ((await consentForm.count().catch(() => 0)) > 0) {
        await Promise.all([
          popup.waitForNavigation({ timeout: remaining() }).catch(() => {}),
          consentForm.locator("button[type=submit]").click(),
        ]);
      } else {
        // Our landing page (it closes itself in a popup) or an error page.
        result.popupHeading = await popup.locator("h1").first().innerText({ timeout: 2000 }).catch(() => null);
        await popup.waitForEvent("close", { timeout: 5000 }).catch(() => {});
        break;
      }
    }
    await page.waitForFunction(() => window.__state.messages.length > 0, null, { timeout: 5000 }).catch(() => {});
  }
  result.messages = await page.evaluate(() => window.__state.messages);
}

try {
  await main();
} catch (e) {
  result.error = String(e?.message || e).split("\n")[0];
}
await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 3000))]).catch(() => {});
app.close();
emit(result);
