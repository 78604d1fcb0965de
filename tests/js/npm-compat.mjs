// The real npm packages behind crates/npm-compat, for its differential tests
// (crates/npm-compat/tests/differential.rs).
//
//   node npm-compat.mjs <port> < corpus.json
//
// reads a JSON array of inputs and writes one JSON line per input, in order.
// <port> is one of json5, yaml, json, number, zod, ky; the packages are the
// versions the npm base44 CLI 0.1.18 bundles (see package.json).
import { readFileSync } from "node:fs";
import JSON5 from "json5";
import { stringify as yamlStringify } from "yaml";
import { z } from "zod";
import ky from "ky";

const port = process.argv[2];
const inputs = JSON.parse(readFileSync(0, "utf8"));
const out = [];

// A parsed value in a form JSON can carry: numbers as their String() (NaN,
// Infinity and -0 included), objects as [key, value] pairs in property order,
// strings made well-formed (Rust strings cannot hold lone surrogates).
function encode(v) {
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "number") return { num: Object.is(v, -0) ? "-0" : String(v) };
  if (typeof v === "string") return v.toWellFormed();
  if (Array.isArray(v)) return v.map(encode);
  return { obj: Object.entries(v).map(([k, x]) => [k.toWellFormed(), encode(x)]) };
}

// The npm CLI's formatYaml (src/cli/utils/yaml.ts), with lodash's isEmpty
// for the values JSON has.
function isEmpty(v) {
  if (v === null || v === undefined) return true;
  if (typeof v === "string" || Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v).length === 0;
  return true;
}
const stripEmptyReplacer = (_key, value) => {
  if (typeof value === "number" || typeof value === "boolean") return value;
  if (isEmpty(value)) return undefined;
  return value;
};
const formatYaml = (data) => yamlStringify(data, stripEmptyReplacer, { indent: 2 }).trimEnd();

// A zod schema from the description the Rust test sends.
function schema(d) {
  switch (d.kind) {
    case "string": {
      let s = d.format === "url" ? z.url(d.message) : d.format === "email" ? z.email(d.message) : z.string();
      if (d.min1) s = d.min1 === true ? s.min(1) : s.min(1, d.min1);
      if (d.pattern) s = s.regex(new RegExp(d.pattern, d.flags));
      return s;
    }
    case "boolean":
      return z.boolean();
    case "positive_int":
      return d.message === undefined ? z.number().int().positive() : z.number().int().positive(d.message);
    case "enum":
      return z.enum(d.values);
    case "literal":
      return z.literal(d.value);
    case "union":
      return z.union(d.options.map(schema));
    case "nullable":
      return schema(d.inner).nullable();
    case "optional":
      return schema(d.inner).optional();
    case "array":
      return z.array(schema(d.item));
    case "object":
      return z.object(Object.fromEntries(d.shape.map(([k, v]) => [k, schema(v)])));
    default:
      throw new Error(`unknown schema kind ${d.kind}`);
  }
}

// ky's retry decisions: each case fails `attempts` times in a row the same
// way (then succeeds), with Date.now fixed and setTimeout recording the delay
// and firing at once. The result is the list of delays ky waited.
async function kyCase(c) {
  const delays = [];
  Date.now = () => c.now;
  globalThis.setTimeout = (fn, ms) => {
    delays.push(ms);
    queueMicrotask(fn);
    return 0;
  };
  globalThis.clearTimeout = () => {};
  let calls = 0;
  const fetch = async (request) => {
    calls += 1;
    if (calls > c.attempts) return new Response("ok", { status: 200 });
    if (c.failure === "network") throw new TypeError("fetch failed");
    if (c.failure === "timeout") {
      const e = new Error("Request timed out");
      e.name = "TimeoutError";
      throw e;
    }
    const headers = c.header ? { [c.header]: c.value } : {};
    return new Response("fail", { status: c.failure, headers });
  };
  try {
    await ky("http://example.test/x", { method: c.method, fetch, timeout: false });
  } catch {
    // The final failure; the delays are what matters.
  }
  return { delays: delays.map((ms) => (ms >= 1 ? Math.floor(ms) : 0)) };
}

for (const input of inputs) {
  switch (port) {
    case "json5":
      try {
        out.push({ ok: encode(JSON5.parse(input)) });
      } catch (e) {
        out.push({ error: e.message });
      }
      break;
    case "yaml":
      out.push(formatYaml(JSON.parse(input)));
      break;
    case "json":
      out.push(JSON.stringify(JSON.parse(input), null, 2));
      break;
    case "number": {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, BigInt.asUintN(64, BigInt(input)));
      out.push(String(view.getFloat64(0)));
      break;
    }
    case "zod": {
      const r = schema(input.schema).safeParse(input.value);
      out.push(r.success ? "" : z.prettifyError(r.error));
      break;
    }
    case "ky":
      out.push(await kyCase(input));
      break;
    default:
      console.error(`unknown port ${port}`);
      process.exit(2);
  }
}
process.stdout.write(out.map((o) => JSON.stringify(o)).join("\n") + "\n");
