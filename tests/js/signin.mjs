#!/usr/bin/env node
// Drive a builder's sign-in in headless Chromium (/usr/bin/chromium via playwright-core) for the
// Rust tests of our server's account pages (issue #12.1), by their accessible names only.
//
// Usage:
//   node tests/js/signin.mjs '{"base":"http://127.0.0.1:PORT","email":"owner@example.com",
//                              "password":"…","phase":"first"|"after",
//                              "invite":"http://…/invite/TOKEN" (phase first),
//                              "evil":"http://127.0.0.1:OTHER/" (optional: a page of another origin
//                                     with a form posting to our /signout, button "Claim prize"),
//                              "screenshots":"/dir" (optional), "timeoutMs":60000}'
//
// phase "first": invite link -> "Set password" -> signed in (home shows the email) -> [the evil
//   page's cross-site post is refused and the session survives] -> "Sign out" -> "Sign in" again ->
//   "Sign out" -> the wrong password 10 times -> the right password, which must be refused too.
// phase "after": the right password signs in (run after the server's clock moved past the window).
// phase "device" (with "device": the verification URL, "userCode", "decision": "approve"|"deny"):
//   invite -> signed out -> the device page sends to sign-in and back -> the code typed in lower
//   case without its dash -> "Continue" -> the client and scopes shown -> "Approve" (or "Deny").
//
// phase "sso" (with "button": the SSO button's name, "login": a login at the provider's dev pages,
//   "next": a local path, "expect": "signed-in" or a text the failure page's alert must contain):
//   the sign-in page -> the SSO button -> the provider's login (password "password") and consent
//   -> back on our server: signed in at `next` (the page shows "email"), or the failure page.
//
// Prints exactly one JSON line on stdout: {"ok", "steps": [{"name","ok","url","alert"}], "error"?}.
// Exit 0 even when ok=false; 1 only if this script itself crashes.

import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let input;
try {
  input = JSON.parse(process.argv[2] ?? "");
  new URL(input.base);
} catch (e) {
  process.stderr.write(`signin.mjs: ${e.message}\n`);
  process.exit(1);
}
const timeoutMs = Number.isFinite(input.timeoutMs) ? input.timeoutMs : 60000;
const result = { ok: false, steps: [] };
let browser;

function emit(code = 0) {
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(code));
}

async function alertText(page) {
  const alert = page.getByRole("alert");
  return (await alert.count()) ? (await alert.first().innerText()).trim() : null;
}

async function step(page, name, ok) {
  const entry = { name, ok: Boolean(ok), url: page.url(), alert: await alertText(page) };
  result.steps.push(entry);
  if (!entry.ok) {
    entry.text = (await page.locator("body").innerText().catch(() => "")).slice(0, 1500);
    throw new Error(`step failed: ${name}`);
  }
}

// Clicks a button and waits for the page it leads to.
async function submit(page, button) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    page.getByRole("button", { name: button, exact: true }).click(),
  ]);
}

const home = () => new URL("/", input.base).href;
const onHome = async (page) =>
  page.url() === home() && (await page.locator("body").innerText()).includes(input.email);

async function signIn(page, password) {
  await page.goto(new URL("/signin", input.base).href);
  await page.getByLabel("Email", { exact: true }).fill(input.email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await submit(page, "Sign in");
}

async function main() {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: timeoutMs });
  const page = await (await browser.newContext({ viewport: { width: 390, height: 760 } })).newPage();
  page.setDefaultTimeout(timeoutMs);
  const shot = async (name) => {
    if (input.screenshots) await page.screenshot({ path: `${input.screenshots}/${name}.png`, fullPage: true });
  };

  if (input.phase === "after") {
    await signIn(page, input.password);
    await step(page, "signed in after the window", await onHome(page));
    result.ok = true;
    return;
  }

  if (input.phase === "sso") {
    const next = input.next || "/";
    await page.goto(new URL(`/signin?next=${encodeURIComponent(next)}`, input.base).href);
    const button = page.getByRole("button", { name: input.button, exact: true });
    await step(page, "the sign-in page offers single sign-on", (await button.count()) === 1);
    await shot("signin-sso");
    await submit(page, input.button);
    await step(page, "at the identity provider", new URL(page.url()).origin !== new URL(input.base).origin);
    await page.locator('input[name="login"]').fill(input.login);
    await page.locator('input[name="password"]').fill("password");
    await Promise.all([
      page.waitForNavigation({ waitUntil: "load" }),
      page.locator('form:has(input[name="login"]) button[type=submit]').click(),
    ]);
    const consent = page.locator('form:has(input[name="prompt"][value="consent"])');
    if ((await consent.count()) > 0) {
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), consent.locator("button[type=submit]").click()]);
    }
    if (input.expect === "signed-in") {
      const here = new URL(page.url());
      const body = await page.locator("body").innerText();
      await step(page, "back signed in at next", here.origin === new URL(input.base).origin
        && here.pathname + here.search === next && body.includes(input.email));
      await shot("sso-signed-in");
    } else {
      const alert = await alertText(page);
      await step(page, "the failure page says why", alert && alert.includes(input.expect));
      await shot("sso-refused");
    }
    result.ok = true;
    return;
  }

  if (input.phase === "device") {
    // The verification page as `base44 login` prints it: sign in first
    // (the page sends anonymous visitors there and back), type the code,
    // read what asks, approve (or deny).
    await page.goto(input.invite);
    await page.getByLabel("Password", { exact: true }).fill(input.password);
    await page.getByLabel("Confirm password", { exact: true }).fill(input.password);
    await submit(page, "Set password");
    await submit(page, "Sign out");
    await page.goto(input.device);
    await step(page, "the device page needs a session", new URL(page.url()).pathname === "/signin");
    await page.getByLabel("Email", { exact: true }).fill(input.email);
    await page.getByLabel("Password", { exact: true }).fill(input.password);
    await submit(page, "Sign in");
    await step(page, "back on the device page", new URL(page.url()).pathname === "/device");
    await shot("device-code");
    await page.getByLabel("Code", { exact: true }).fill(input.userCode.toLowerCase().replace("-", ""));
    await submit(page, "Continue");
    const asks = await page.locator("body").innerText();
    await step(page, "the page names the client and the scopes", asks.includes("Base44 CLI") && asks.includes("apps:read"));
    await shot("device-approve");
    await submit(page, input.decision === "deny" ? "Deny" : "Approve");
    const done = await page.getByRole("status").innerText().catch(() => "");
    await step(page, "decision recorded", done.includes(input.decision === "deny" ? "denied" : "approved"));
    result.ok = true;
    return;
  }

  await page.goto(input.invite);
  await shot("invite");
  await page.getByLabel("Password", { exact: true }).fill(input.password);
  await page.getByLabel("Confirm password", { exact: true }).fill(input.password);
  await submit(page, "Set password");
  await step(page, "invite: password set and signed in", await onHome(page));
  await shot("home");

  if (input.evil) {
    await page.goto(input.evil);
    await submit(page, "Claim prize");
    const text = await page.locator("body").innerText();
    await step(page, "cross-site post refused", text.includes("sent from another site"));
    await page.goto(home());
    await step(page, "still signed in after the cross-site post", await onHome(page));
  }

  await submit(page, "Sign out");
  await step(page, "signed out", new URL(page.url()).pathname === "/signin");
  await page.goto(home());
  await step(page, "home needs a session", new URL(page.url()).pathname === "/signin");
  await shot("signin");

  await signIn(page, input.password);
  await step(page, "signed in again", await onHome(page));
  await submit(page, "Sign out");

  for (let i = 1; i <= 10; i++) {
    await signIn(page, `${input.password} but wrong`);
    const alert = await alertText(page);
    await step(page, `wrong password ${i}`, alert && alert.includes("not right"));
  }
  await signIn(page, input.password);
  const alert = await alertText(page);
  await step(page, "right password refused while limited", alert && alert.includes("Too many failed sign-ins"));
  await shot("limited");
  result.ok = true;
}

try {
  await main();
} catch (e) {
  result.error = String(e?.message ?? e);
} finally {
  await browser?.close().catch(() => {});
  emit(0);
}
