#!/usr/bin/env node
// Drive a person's consent in headless Chromium (/usr/bin/chromium via playwright-core) for the
// Rust end-to-end tests: our connect page -> (our config form) -> provider login -> provider
// consent -> our /oauth/callback.
//
// Usage:
//   node tests/js/consent.mjs '{"url":"http://127.0.0.1:PORT/connect/abc","login":"alice",
//                               "config":{"subdomain":"sites/mysite"}|null,
//                               "stopAtCallback":false,"timeoutMs":30000}'
//
// Prints exactly one JSON line on stdout:
//   {"ok","finalUrl","heading","text","formError", ["callbackUrl","cookies"] (stopAtCallback only),
//    ["error"] (why ok=false, when it is not the page's own heading)}
// Exit 0 even when ok=false; 1 only if this script itself crashes.
// See tests/js/README.md for the contract with our server's pages.

import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
// Our callbacks: an app's own connector's, and Base44's path for workspace connectors.
const CALLBACK_PATHS = ["/oauth/callback", "/api/external-auth/callback"];

function emit(obj, code = 0) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(code));
}

function crash(msg) {
  process.stderr.write(`consent.mjs: ${msg}\n`);
  process.exit(1);
}

let input;
try {
  if (process.argv.length < 3) throw new Error("missing JSON argument");
  input = JSON.parse(process.argv[2]);
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new Error("argument must be a JSON object");
  if (typeof input.url !== "string") throw new Error('"url" is required');
  new URL(input.url);
} catch (e) {
  crash(`${e.message}\nusage: node consent.mjs '{"url":..., "login":"alice", "config":null, "stopAtCallback":false, "timeoutMs":30000}'`);
}

const login = typeof input.login === "string" && input.login ? input.login : "alice";
const config = input.config ?? null;
const stopAtCallback = Boolean(input.stopAtCallback);
const timeoutMs = Number.isFinite(input.timeoutMs) ? input.timeoutMs : 30000;
const ours = new URL(input.url);
const deadline = Date.now() + timeoutMs;
const remaining = () => Math.max(1, deadline - Date.now());

const isCallback = (u) => {
  try {
    return CALLBACK_PATHS.includes(new URL(u).pathname);
  } catch {
    return false;
  }
};

let browser;
let page = null;
const result = { ok: false, finalUrl: null, heading: null, text: null, formError: null };

// Never let reporting hang (e.g. evaluate() while a navigation that never answers is pending).
function bounded(promise, ms, fallback) {
  return Promise.race([promise.catch(() => fallback), new Promise((r) => setTimeout(() => r(fallback), ms).unref())]);
}

async function describe(page) {
  result.finalUrl = page.url();
  result.heading = await bounded(page.locator("h1").first().innerText({ timeout: 800 }), 1000, null);
  const t = await bounded(page.evaluate(() => (document.body ? document.body.innerText : "")), 1000, null);
  result.text = typeof t === "string" ? t.trim().slice(0, 2000) : null;
}

async function finish(page, extra = {}) {
  if (page) await describe(page);
  Object.assign(result, extra);
  if (stopAtCallback && browser) {
    result.callbackUrl = callbackUrl;
    // No URL filter: our cookie is scoped to the callback's path, which a filter on the origin ("/") would drop.
    const cookies = (await bounded(contextRef.cookies(), 2000, [])) || [];
    // Cookies are per host, not per port: the provider's cookies (also on 127.0.0.1) would show
    // up too, so keep only the names that our origin set (Set-Cookie seen on its responses).
    result.cookies = cookies
      .filter((c) => c.domain.replace(/^\./, "") === ours.hostname && ourCookieNames.has(c.name))
      .map(({ name, value, domain, path }) => ({ name, value, domain, path }));
  }
  if (!result.ok && !result.error && result.heading === null) result.error = "no heading on the final page";
  await bounded(browser?.close() ?? Promise.resolve(), 3000, undefined);
  emit(result, 0);
}

let callbackUrl = null;
let resolveCallback;
const callbackSeen = new Promise((r) => (resolveCallback = r));
let contextRef;
const ourCookieNames = new Set();

// Wait for the navigation that `action` triggers (or for the intercepted callback).
async function act(page, action) {
  const nav = page.waitForNavigation({ waitUntil: "load", timeout: remaining() }).catch((e) => e);
  await action();
  await Promise.race([nav, callbackSeen]);
  if (!callbackUrl) await page.waitForLoadState("load", { timeout: remaining() }).catch(() => {});
}

async function main() {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: remaining() });
  const context = await browser.newContext();
  contextRef = context;
  page = await context.newPage();
  page.setDefaultTimeout(remaining());
  page.on("response", async (resp) => {
    try {
      if (new URL(resp.url()).origin !== ours.origin) return;
      for (const h of await resp.headersArray()) {
        if (h.name.toLowerCase() === "set-cookie") {
          for (const line of h.value.split("\n")) {
            const name = line.split("=")[0].trim();
            if (name) ourCookieNames.add(name);
          }
        }
      }
    } catch {}
  });

  if (stopAtCallback) {
    // page.route() only sees the first URL of a redirect chain, and the provider reaches our
    // callback through 303s, so intercept at the CDP level (Fetch pauses every hop).
    const cdp = await context.newCDPSession(page);
    cdp.on("Fetch.requestPaused", async (ev) => {
      if (isCallback(ev.request.url) && !callbackUrl) {
        callbackUrl = ev.request.url;
        const body = Buffer.from("<!DOCTYPE html><html><body><h1>Callback intercepted</h1></body></html>").toString("base64");
        await cdp
          .send("Fetch.fulfillRequest", { requestId: ev.requestId, responseCode: 200, responseHeaders: [{ name: "Content-Type", value: "text/html" }], body })
          .catch(() => {});
        resolveCallback();
      } else {
        await cdp.send("Fetch.continueRequest", { requestId: ev.requestId }).catch(() => {});
      }
    });
    await cdp.send("Fetch.enable", {
      patterns: CALLBACK_PATHS.map((path) => ({ urlPattern: `*${path}*`, requestStage: "Request" })),
    });
  }

  await act(page, () => page.goto(input.url, { waitUntil: "load", timeout: remaining() }).catch((e) => e));

  let configSubmitted = false;
  for (let step = 0; step < 10; step++) {
    if (Date.now() >= deadline) return await finish(page, { error: `timed out after ${timeoutMs} ms` });
    if (callbackUrl) {
      const cb = new URL(callbackUrl);
      return await finish(page, { ok: cb.searchParams.has("code") && !cb.searchParams.has("error") });
    }
    const url = new URL(page.url());

    // OUR config form.
    if (url.origin === ours.origin && (await page.locator("form#connection-config").count()) > 0) {
      if (configSubmitted) {
        const err = page.locator("form#connection-config .error, .error").first();
        const formError = (await err.count()) > 0 ? (await err.innerText()).trim() : null;
        return await finish(page, { formError, error: "our config form was shown again after submitting it" });
      }
      if (config === null || typeof config !== "object") {
        return await finish(page, { error: 'our config form appeared but "config" is null' });
      }
      for (const [name, value] of Object.entries(config)) {
        const field = page.locator(`form#connection-config [name="${name.replace(/"/g, '\\"')}"]`);
        if ((await field.count()) === 0) return await finish(page, { error: `our config form has no input named ${name}` });
        await field.first().fill(String(value ?? ""));
      }
      configSubmitted = true;
      await act(page, () => page.locator("form#connection-config button[type=submit]").first().click());
      continue;
    }

    // Any other page of OURS: the completion page (after /oauth/callback), or an error page.
    if (url.origin === ours.origin) {
      await describe(page);
      return await finish(page, { ok: (result.heading || "").trim() === "Authorization complete" });
    }

    // Provider: dev-interactions login page.
    const loginInput = page.locator('input[name="login"]');
    if ((await loginInput.count()) > 0) {
      await loginInput.fill(login);
      await page.locator('input[name="password"]').fill("password");
      await act(page, () => page.locator('form:has(input[name="login"]) button[type=submit]').click());
      continue;
    }

    // Provider: dev-interactions consent page.
    const consentForm = page.locator('form:has(input[name="prompt"][value="consent"])');
    if ((await consentForm.count()) > 0) {
      await act(page, () => consentForm.locator("button[type=submit]").click());
      continue;
    }

    // Anything else: an error page (ours or the provider's) or an unexpected page.
    return await finish(page, { error: `unexpected page at ${page.url()}` });
  }
  return await finish(page, { error: "too many steps" });
}

try {
  await main();
} catch (e) {
  if (e?.name === "TimeoutError" && page) {
    await finish(page, { error: `timed out after ${timeoutMs} ms: ${String(e.message).split("\n")[0]}` }).catch(() => process.exit(1));
    await new Promise(() => {}); // emit() exits once stdout is flushed
  }
  process.stderr.write(`consent.mjs: ${e?.stack || e}\n`);
  await bounded(browser?.close() ?? Promise.resolve(), 3000, undefined);
  process.exit(1);
}
