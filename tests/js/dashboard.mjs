#!/usr/bin/env node
// Drive a builder's dashboard in headless Chromium (/usr/bin/chromium via playwright-core) for the
// Rust test of issue #12.3, by the pages' accessible names only.
//
// Usage:
//   node tests/js/dashboard.mjs '{"base":"http://127.0.0.1:PORT","invite":"http://…/invite/TOKEN",
//                                 "email":"…","password":"…","appId":"…","connector":"OIDC test provider",
//                                 "login":"alice","hookUrl":"http://…/hook","failUrl":"http://…/fail",
//                                 "screenshots":"/dir" (optional),"timeoutMs":60000}'
//
// invite -> password set -> the app's "Connectors" page shows the connector not connected ->
// its "Connect" button -> the provider's login and consent (oidc-provider's dev pages) -> our
// "Authorization complete" page -> back on the Connectors page the connector is "Active" and
// authorized by the builder -> "Remove…" -> the confirmation -> removed -> app-user settings ->
// the app's and the workspace's audit trails -> the app's Webhooks tab: an endpoint added through
// the form (hookUrl, which answers 204) shows its secret once; "Send test event" shows up as
// delivered in its delivery log; a second endpoint (failUrl, always 503) is sent test events until
// its failures disable it and the page says what to do; Rotate secret…; the first one disabled by
// hand. Screenshots (phone width, and desktop for the trails and the webhook pages) of the
// connectors page before and after, the confirmation, the overview, the trails and the webhook pages.
//
// Prints exactly one JSON line on stdout: {"ok", "steps": [{"name","ok","url"}], "error"?}.
// Exit 0 even when ok=false; 1 only if this script itself crashes.

import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const input = JSON.parse(process.argv[2] ?? "{}");
const timeoutMs = Number.isFinite(input.timeoutMs) ? input.timeoutMs : 60000;
const result = { ok: false, steps: [] };
let browser;

function emit(code = 0) {
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(code));
}

async function step(page, name, ok) {
  const entry = { name, ok: Boolean(ok), url: page.url() };
  result.steps.push(entry);
  if (!ok) {
    entry.text = (await page.locator("body").innerText().catch(() => "")).slice(0, 1500);
    throw new Error(`step failed: ${name}`);
  }
}

async function submit(page, button, scope = page) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    scope.getByRole("button", { name: button, exact: true }).click(),
  ]);
}

const literally = (text) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

// Both widths of the page now; at phone width nothing may be wider than the screen.
async function shotBoth(page, shot, name) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await step(page, `${name}: nothing wider than a phone`, overflow <= 0);
  await shot(name);
  await page.setViewportSize({ width: 1280, height: 800 });
  await shot(`${name}-desktop`);
  await page.setViewportSize({ width: 390, height: 760 });
}

// Reloads until `check` (of the page) holds: the delivery worker runs beside us.
async function reloadUntil(page, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check(page)) return true;
    if (Date.now() > deadline) return false;
    await page.reload({ waitUntil: "load" });
  }
}

async function webhooks(page, shot) {
  const endpoint = (url) => page.getByRole("article", { name: literally(url) });
  await page.goto(new URL(`/apps/${input.appId}/editor/workspace/overview`, input.base).href);
  await page.getByRole("link", { name: "Webhooks", exact: true }).click();
  await page.waitForLoadState("load");
  await step(page, "the Webhooks tab has no endpoints yet", (await page.locator("main").innerText()).includes("No webhook endpoints yet"));

  // Add one for two event types: its secret once, and how to verify.
  await page.getByLabel("URL", { exact: true }).fill(input.hookUrl);
  await page.getByLabel("Description", { exact: true }).fill("Order emails");
  await page.getByRole("checkbox", { name: /^connector\.connected\.v1/ }).check();
  await page.getByRole("checkbox", { name: /^connector\.disconnected\.v1/ }).check();
  await shotBoth(page, shot, "dashboard-webhooks-add");
  await submit(page, "Add endpoint");
  const secret = await page.getByLabel(/^Signing secret of /).inputValue();
  await step(page, "the new endpoint's secret is shown", secret.startsWith("whsec_"));
  await step(page, "with how to verify a delivery", (await page.getByRole("region", { name: "Verify each delivery" }).innerText()).includes("webhook-signature"));
  await shotBoth(page, shot, "dashboard-webhooks-secret");
  await page.getByRole("link", { name: "Back to the app's webhooks" }).click();
  await page.waitForLoadState("load");
  await step(page, "the secret is not shown again", !(await page.content()).includes(secret));
  const card = await endpoint(input.hookUrl).innerText();
  await step(page, "the endpoint is listed, enabled, with its event types",
    card.includes("Enabled") && card.includes("Order emails") && card.includes("connector.connected.v1") && !card.includes("All events"));

  // A test event: delivered, in the log's table.
  await submit(page, "Send test event", endpoint(input.hookUrl));
  await step(page, "the test event is queued", (await page.getByRole("status").innerText()).includes("Queued test event"));
  await step(page, "and delivered, as its log says", await reloadUntil(page, async (p) => (await p.locator("main").innerText()).includes("Delivered")));
  const log = page.getByRole("table", { name: /^Latest delivery attempts/ });
  await step(page, "the log's columns have headers",
    (await log.getByRole("columnheader").allInnerTexts()).join("|") === "Time|Event type|Event id|Attempt|Status code|Error|Delivery status");
  await step(page, "the attempt is the test event, answered 204", (await log.innerText()).includes("webhook.test.v1") && (await log.innerText()).includes("204"));
  await shotBoth(page, shot, "dashboard-webhook-log");

  // An endpoint whose receiver always fails: test events until it has
  // failed for longer than the server's `disable_after_secs` (1 s here).
  await page.getByRole("link", { name: "Back to the app's webhooks" }).click();
  await page.waitForLoadState("load");
  await page.getByLabel("URL", { exact: true }).fill(input.failUrl);
  await submit(page, "Add endpoint");
  await page.getByRole("link", { name: "Back to the app's webhooks" }).click();
  await page.waitForLoadState("load");
  await step(page, "no type checked: all events", (await endpoint(input.failUrl).innerText()).includes("All events"));
  await endpoint(input.failUrl).getByRole("link", { name: "Delivery log" }).click();
  await page.waitForLoadState("load");
  const deadline = Date.now() + timeoutMs;
  const attempts = () => page.locator("tbody tr").count();
  while (!(await page.locator("main").innerText()).includes("Deliveries stopped") && Date.now() < deadline) {
    const before = await attempts();
    await submit(page, "Send test event");
    // This event's attempt before the next event.
    await reloadUntil(page, async () => (await attempts()) > before);
  }
  const failedLog = await page.locator("main").innerText();
  await step(page, "the failures disabled it, and the log says what to do",
    failedLog.includes("Deliveries stopped") && failedLog.includes("Fix the receiver") && failedLog.includes("503"));
  await page.locator("summary", { hasText: "Response excerpt" }).first().click();
  await step(page, "the receiver's answer is shown as text, not markup",
    (await page.locator("pre").first().innerText()).includes("<b>down</b> for maintenance"));
  await shotBoth(page, shot, "dashboard-webhook-log-failing");
  await page.getByRole("link", { name: "Back to the app's webhooks" }).click();
  await page.waitForLoadState("load");
  await step(page, "the list warns that deliveries stopped",
    (await page.locator("main").innerText()).includes("Deliveries to an endpoint stopped"));
  await step(page, "with Enable on the endpoint",
    (await endpoint(input.failUrl).getByRole("button", { name: "Enable", exact: true }).count()) === 1);
  await shotBoth(page, shot, "dashboard-webhooks-stopped");

  // Rotate the first one's secret (after its confirmation): a new one, once.
  await endpoint(input.hookUrl).getByRole("link", { name: "Rotate secret…" }).click();
  await page.waitForLoadState("load");
  await shot("dashboard-webhook-rotate-confirm");
  await submit(page, "Rotate secret");
  const rotated = await page.getByLabel(/^Signing secret of /).inputValue();
  await step(page, "a new secret, the old one signing for a while", rotated.startsWith("whsec_") && rotated !== secret
    && (await page.locator("main").innerText()).includes("keeps signing too until"));
  await page.getByRole("link", { name: "Back to the app's webhooks" }).click();
  await page.waitForLoadState("load");

  // Disabled by hand: said so, with Enable.
  await submit(page, "Disable", endpoint(input.hookUrl));
  await step(page, "disabled, and said so", (await page.getByRole("status").innerText()).includes("Disabled webhook endpoint"));
  const disabled = await endpoint(input.hookUrl).innerText();
  await step(page, "the endpoint shows why no deliveries are sent",
    disabled.includes("Disabled") && disabled.includes("no deliveries are sent") && disabled.includes("Enable"));
  await shotBoth(page, shot, "dashboard-webhooks-disabled");
}

async function main() {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: timeoutMs });
  const page = await (await browser.newContext({ viewport: { width: 390, height: 760 } })).newPage();
  page.setDefaultTimeout(timeoutMs);
  const shot = async (name) => {
    if (input.screenshots) await page.screenshot({ path: `${input.screenshots}/${name}.png`, fullPage: true });
  };
  const base = new URL(input.base);
  const connections = new URL(`/apps/${input.appId}/editor/workspace/app-connections`, base).href;
  const card = () => page.getByRole("article", { name: new RegExp(input.connector) });

  await page.goto(input.invite);
  await page.getByLabel("Password", { exact: true }).fill(input.password);
  await page.getByLabel("Confirm password", { exact: true }).fill(input.password);
  await submit(page, "Set password");
  await page.getByRole("link", { name: /^Connectors of / }).first().click();
  await page.waitForLoadState("load");
  await step(page, "the home page links to the app's connectors", page.url() === connections);
  await step(page, "the connector is not connected yet", (await card().innerText()).includes("Not connected"));
  await shot("dashboard-connections-before");

  // Connect: our /connect page sends the browser to the provider.
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), card().getByRole("button", { name: "Connect", exact: true }).click()]);
  for (let hop = 0; hop < 8 && new URL(page.url()).origin !== base.origin; hop++) {
    const login = page.locator('input[name="login"]');
    if ((await login.count()) > 0) {
      await login.fill(input.login || "alice");
      await page.locator('input[name="password"]').fill("password");
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator('form:has(input[name="login"]) button[type=submit]').click()]);
      continue;
    }
    const consent = page.locator('form:has(input[name="prompt"][value="consent"])');
    if ((await consent.count()) > 0) {
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), consent.locator("button[type=submit]").click()]);
      continue;
    }
    await step(page, "a provider page this script knows", false);
  }
  const heading = await page.locator("h1").first().innerText();
  await step(page, "the consent completed", heading.trim() === "Authorization complete");
  await page.getByRole("link", { name: "Back to the app's connectors" }).click();
  await page.waitForLoadState("load");
  const after = await card().innerText();
  await step(page, "the connector is active, authorized by the builder", after.includes("Active") && after.includes(input.email));
  await shot("dashboard-connections-active");

  await page.getByRole("link", { name: "Overview" }).click();
  await page.waitForLoadState("load");
  await step(page, "the overview lists the app's service token", (await page.getByRole("region", { name: "Service tokens" }).innerText()).includes("b44s_"));
  await shot("dashboard-overview");

  await page.goto(connections);
  await card().getByRole("link", { name: "Remove…" }).click();
  await page.waitForLoadState("load");
  await shot("dashboard-remove-confirm");
  const removeButton = (await page.getByRole("button", { name: /^Remove / }).innerText()).trim();
  await submit(page, removeButton);
  await step(page, "removed, and said so", (await page.getByRole("status").innerText()).includes("Removed"));
  await step(page, "no connector left", (await page.locator("main").innerText()).includes("No connectors yet"));

  // App-user settings: a refused value comes back with the error and as
  // typed; a good one is saved and summarized on the connectors page.
  await page.getByRole("link", { name: "Edit app-user settings" }).click();
  await page.waitForLoadState("load");
  await page.getByLabel("Allowed origins", { exact: true }).fill("ftp://files.example\nhttps://app.example.com");
  await submit(page, "Save settings");
  await step(page, "a refused origin is named", (await page.getByRole("alert").innerText()).includes("ftp://files.example"));
  await step(page, "and the form keeps what was typed", (await page.getByLabel("Allowed origins", { exact: true }).inputValue()).includes("https://app.example.com"));
  await shot("dashboard-app-user-settings-refused");
  await page.getByLabel("Allowed origins", { exact: true }).fill("https://app.example.com");
  await page.getByLabel("Default return URL", { exact: true }).fill("https://app.example.com/connected");
  await submit(page, "Save settings");
  await step(page, "saved, and said so", (await page.getByRole("status").first().innerText()).includes("Saved the app-user settings"));
  await step(page, "the summary shows the return URL", (await page.getByRole("region", { name: "App users" }).innerText()).includes("https://app.example.com/connected"));
  await shot("dashboard-app-user-settings-saved");

  // The audit trail (#15.5): the app's tab shows the push, the removal and
  // the settings change by the builder; the workspace's (linked from the
  // home page) the sign-in. A table with a caption and column headers.
  await page.getByRole("link", { name: "Audit trail", exact: true }).click();
  await page.waitForLoadState("load");
  const appTrail = page.getByRole("table", { name: /^Changes to / });
  const appRows = await appTrail.innerText();
  await step(page, "the app's trail shows the push, the removal and the settings change",
    appRows.includes("Set a connector") && appRows.includes("Removed a connector")
      && appRows.includes("Changed the app-user settings") && appRows.includes(input.email));
  await step(page, "the trail's columns have headers",
    (await appTrail.getByRole("columnheader").allInnerTexts()).join("|") === "When|Who|What|From");
  await shot("dashboard-audit-app");
  await page.setViewportSize({ width: 1280, height: 800 });
  await shot("dashboard-audit-app-desktop");
  await page.setViewportSize({ width: 390, height: 760 });
  await page.goto(new URL("/", base).href);
  await page.getByRole("link", { name: /^Audit trail of / }).click();
  await page.waitForLoadState("load");
  const workspaceRows = await page.getByRole("table", { name: /^Changes in / }).innerText();
  await step(page, "the workspace's trail shows the sign-in and the app's changes",
    workspaceRows.includes("Signed in") && workspaceRows.includes("Set a connector"));
  await shot("dashboard-audit-workspace");
  await page.setViewportSize({ width: 1280, height: 800 });
  await shot("dashboard-audit-workspace-desktop");
  await page.setViewportSize({ width: 390, height: 760 });
  await webhooks(page, shot);
  result.ok = true;
}

try {
  await main();
} catch (e) {
  result.error = String(e?.message || e).split("\n")[0];
}
await browser?.close().catch(() => {});
emit(0);
