#!/usr/bin/env node
// Drive the REAL @base44/sdk (0.8.50, from tests/js/node_modules) for the Rust tests.
//
// Usage:
//   node tests/js/sdk.mjs '{"serverUrl":"http://127.0.0.1:PORT","appId":"app1",
//                           "serviceToken":"svc"|null,"token":"user"|null,
//                           "call":"getConnection"|"getAccessToken","type":"slack"}'
//
// Does: createClient({serverUrl, appId, serviceToken, token})
//         .asServiceRole.connectors[call](type)
//
// Prints exactly one JSON line on stdout:
//   success: {"ok":true,"value":<result>}            (an undefined result is printed as null)
//   failure: {"ok":false,"status":<err.status|null>,"message":<err.message>,"code":<err.code|null>}
// Exit code 0 in both cases; 1 only if this script itself fails (bad argument, SDK missing).
// The SDK logs "[Base44 SDK Error] ..." lines to stderr on HTTP errors; stdout stays one line.
//
// Optional extras (not needed for the basic cases):
//   "args": [...]    arguments for the call instead of [type] (e.g. callApi(type, request))
//   "scope": "user"  use client.connectors (user client, e.g. connectAppUser) instead of
//                    client.asServiceRole.connectors

import { createClient } from "@base44/sdk";

function emit(obj, code = 0) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(code));
}

function crash(msg) {
  process.stderr.write(`sdk.mjs: ${msg}\n`);
  process.exit(1);
}

let input;
try {
  if (process.argv.length < 3) throw new Error("missing JSON argument");
  input = JSON.parse(process.argv[2]);
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new Error("argument must be a JSON object");
} catch (e) {
  crash(`${e.message}\nusage: node sdk.mjs '{"serverUrl":..., "appId":..., "serviceToken":..., "token":..., "call":"getConnection", "type":...}'`);
}

const { serverUrl, appId, serviceToken, token, call, type, args, scope } = input;
if (typeof call !== "string" || call === "") crash('"call" must be a method name such as "getConnection"');

const nullish = (v) => (v === undefined ? null : v);

try {
  const client = createClient({
    serverUrl,
    appId,
    serviceToken: serviceToken ?? undefined,
    token: token ?? undefined,
  });
  // Reading asServiceRole without a serviceToken throws inside the SDK: reported as ok:false.
  const connectors = scope === "user" ? client.connectors : client.asServiceRole.connectors;
  const fn = connectors[call];
  if (typeof fn !== "function") crash(`connectors has no method "${call}"`);
  const value = await fn.apply(connectors, Array.isArray(args) ? args : [type]);
  emit({ ok: true, value: nullish(value) });
} catch (err) {
  const e = err ?? {};
  let message = typeof e.message === "string" ? e.message : String(err);
  // Node's "connect ECONNREFUSED" for a dual-stack host can come through as an
  // AggregateError with an empty message; fall back to the low-level error code.
  if (message === "") message = e.originalError?.code ?? e.code ?? String(err);
  emit({ ok: false, status: nullish(e.status), message, code: nullish(e.code) });
}
