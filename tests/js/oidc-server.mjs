#!/usr/bin/env node
// A REAL OAuth 2.0 / OpenID Connect provider (oidc-provider 9.13.3) for the Rust end-to-end tests,
// plus a small control API to count requests, inject faults and revoke grants.
//
// Usage:
//   node tests/js/oidc-server.mjs '{"port":0,
//       "clients":[{"client_id":"c1","client_secret":"s1",
//                   "redirect_uris":["http://127.0.0.1:1234/oauth/callback"],
//                   "token_endpoint_auth_method":"client_secret_basic"}],
//       "scopes":["openid","offline_access","contacts.read"],
//       "accessTokenTtl":3600,"rotateRefreshToken":true,"pkceRequired":true,
//       "accounts":{"alice":{"email":"alice@example.com","email_verified":true}}}'
//
// "accounts" (optional) gives the claims of each login name beyond `sub` (the login itself); the
// `email` scope releases `email` and `email_verified` (at the userinfo endpoint: with the code flow
// oidc-provider keeps ID tokens to `sub`, `nonce` and the like). Any other login has only `sub`.
//
// Prints exactly one JSON line on stdout once listening on 127.0.0.1:
//   {"issuer","authorization_endpoint","token_endpoint","revocation_endpoint",
//    "introspection_endpoint","userinfo_endpoint","control"}
// Everything else (oidc-provider notices/warnings) goes to stderr. Exits 0 on SIGTERM/SIGINT.
//
// Control API (same port, JSON):
//   GET  /__control/stats         -> {"token_requests":{"authorization_code":n,"refresh_token":n,...},
//                                     "refresh_errors":{"invalid_grant":n,...},"revocations":n,"faulted":n}
//   POST /__control/reset         -> zero the counters
//   POST /__control/fault {"mode":"none"|"500"|"timeout"|"garbage","count":n?}
//                                 -> the next `count` token requests (all of them while no count) fail
//   POST /__control/revoke-grants -> destroy every grant and the tokens bound to it
// See tests/js/README.md for the details.

import * as http from "node:http";

// oidc-provider prints notices with console.info; keep stdout for our one JSON line.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

function crash(msg) {
  process.stderr.write(`oidc-server.mjs: ${msg}\n`);
  process.exit(1);
}

let cfg;
try {
  if (process.argv.length < 3) throw new Error("missing JSON argument");
  cfg = JSON.parse(process.argv[2]);
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) throw new Error("argument must be a JSON object");
  if (!Array.isArray(cfg.clients) || cfg.clients.length === 0) throw new Error('"clients" must be a non-empty array');
} catch (e) {
  crash(`${e.message}\nusage: node oidc-server.mjs '{"clients":[{"client_id":...,"client_secret":...,"redirect_uris":[...]}], ...}'`);
}

const { default: Provider } = await import("oidc-provider");

const PORT = Number.isInteger(cfg.port) ? cfg.port : 0;
const ACCESS_TOKEN_TTL = Number.isFinite(cfg.accessTokenTtl) ? cfg.accessTokenTtl : 3600;
const ROTATE = cfg.rotateRefreshToken !== undefined ? Boolean(cfg.rotateRefreshToken) : true;
const PKCE_REQUIRED = cfg.pkceRequired !== undefined ? Boolean(cfg.pkceRequired) : true;
const SCOPES = [...new Set(["openid", "offline_access", ...(Array.isArray(cfg.scopes) ? cfg.scopes : [])])];
const ACCOUNTS = cfg.accounts !== null && typeof cfg.accounts === "object" ? cfg.accounts : {};

// ---------------------------------------------------------------------------------------------
// In-memory adapter: a plain Map (the bundled MemoryAdapter is an LRU capped at 1000 entries,
// too small for 1,000 concurrent refreshes), with a grant index so that /__control/revoke-grants
// can drop everything at once.
// ---------------------------------------------------------------------------------------------
const store = new Map(); // "Model:id" -> { payload, expiresAt (ms epoch) | Infinity }
const grantIndex = new Map(); // grantId -> Set of "Model:id"
const uidIndex = new Map(); // session uid -> session id
const userCodeIndex = new Map(); // user code -> id
const GRANTABLE = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode", "BackchannelAuthenticationRequest", "PreAuthorizedCode"]);

function storeGet(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.expiresAt <= Date.now()) {
    storeDelete(key);
    return undefined;
  }
  return e.payload;
}

function storeDelete(key) {
  const e = store.get(key);
  if (!e) return;
  store.delete(key);
  const p = e.payload;
  if (p.grantId && grantIndex.has(p.grantId)) {
    const set = grantIndex.get(p.grantId);
    set.delete(key);
    if (set.size === 0) grantIndex.delete(p.grantId);
  }
  if (p.uid && uidIndex.get(p.uid) === key) uidIndex.delete(p.uid);
  if (p.userCode && userCodeIndex.get(p.userCode) === key) userCodeIndex.delete(p.userCode);
}

class MapAdapter {
  constructor(model) {
    this.model = model;
  }
  key(id) {
    return `${this.model}:${id}`;
  }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    storeDelete(key);
    const expiresAt = typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(key, { payload, expiresAt });
    if (GRANTABLE.has(this.model) && payload.grantId) {
      let set = grantIndex.get(payload.grantId);
      if (!set) grantIndex.set(payload.grantId, (set = new Set()));
      set.add(key);
    }
    if (this.model === "Session" && payload.uid) uidIndex.set(payload.uid, key);
    if (payload.userCode) userCodeIndex.set(payload.userCode, key);
  }
  async find(id) {
    return storeGet(this.key(id));
  }
  async findByUid(uid) {
    const key = uidIndex.get(uid);
    return key ? storeGet(key) : undefined;
  }
  async findByUserCode(userCode) {
    const key = userCodeIndex.get(userCode);
    return key ? storeGet(key) : undefined;
  }
  async consume(id) {
    const p = storeGet(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    storeDelete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    const set = grantIndex.get(grantId);
    if (!set) return;
    for (const key of [...set]) storeDelete(key);
    grantIndex.delete(grantId);
  }
}

// Revoke every grant and every token bound to one (refresh tokens, access tokens, codes).
function revokeAllGrants() {
  let grants = 0;
  let tokens = 0;
  for (const key of [...store.keys()]) {
    const model = key.slice(0, key.indexOf(":"));
    if (model === "Grant") {
      storeDelete(key);
      grants += 1;
    } else if (GRANTABLE.has(model)) {
      storeDelete(key);
      tokens += 1;
    }
  }
  grantIndex.clear();
  return { grants, tokens };
}

setInterval(() => {
  const now = Date.now();
  for (const [key, e] of store) if (e.expiresAt <= now) storeDelete(key);
}, 10_000).unref();

// ---------------------------------------------------------------------------------------------
// Control state
// ---------------------------------------------------------------------------------------------
function freshStats() {
  return {
    token_requests: { authorization_code: 0, refresh_token: 0 },
    refresh_errors: {},
    revocations: 0,
    faulted: 0,
  };
}
let stats = freshStats();
let fault = { mode: "none", count: null }; // count null = until mode none
const hanging = new Set(); // responses held open by the "timeout" fault

function takeFault() {
  if (fault.mode === "none") return "none";
  const mode = fault.mode;
  if (fault.count !== null) {
    fault.count -= 1;
    if (fault.count <= 0) fault = { mode: "none", count: null };
  }
  return mode;
}

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

async function handleControl(req, res, path) {
  const body = req.method === "POST" ? (await readBody(req)).toString("utf8") : "";
  let json = {};
  if (body.trim()) {
    try {
      json = JSON.parse(body);
    } catch {
      return sendJson(res, 400, { error: "invalid JSON body" });
    }
  }
  if (req.method === "GET" && path === "/__control/stats") return sendJson(res, 200, stats);
  if (req.method === "POST" && path === "/__control/reset") {
    stats = freshStats();
    return sendJson(res, 200, stats);
  }
  if (req.method === "POST" && path === "/__control/fault") {
    const mode = String(json.mode ?? "none");
    if (!["none", "500", "timeout", "garbage"].includes(mode)) return sendJson(res, 400, { error: `unknown mode ${mode}` });
    const count = json.count === undefined || json.count === null ? null : Number(json.count);
    if (count !== null && !(Number.isInteger(count) && count >= 0)) return sendJson(res, 400, { error: "count must be a non-negative integer" });
    fault = mode === "none" || count === 0 ? { mode: "none", count: null } : { mode, count };
    return sendJson(res, 200, { fault });
  }
  if (req.method === "POST" && path === "/__control/revoke-grants") {
    return sendJson(res, 200, revokeAllGrants());
  }
  if (req.method === "GET" && path === "/__control/fault") return sendJson(res, 200, { fault });
  return sendJson(res, 404, { error: "unknown control endpoint" });
}

// ---------------------------------------------------------------------------------------------
// HTTP server: listen first (port 0 -> we learn the port), then build the provider with that issuer.
// ---------------------------------------------------------------------------------------------
let providerCallback = null;
let tokenPath = "/token";
let revocationPath = "/token/revocation";
let introspectionPath = "/token/introspection";

// oidc-provider accepts client_secret_basic and client_secret_post interchangeably for a client
// registered with either. Real providers often don't: unless "strictClientAuth": false, reject a
// request that authenticates with the other method than the client's token_endpoint_auth_method.
const STRICT_CLIENT_AUTH = cfg.strictClientAuth !== false;
const registeredAuthMethod = new Map(cfg.clients.map((c) => [c.client_id, c.token_endpoint_auth_method || "client_secret_basic"]));
function checkClientAuthMethod(req, raw) {
  if (!STRICT_CLIENT_AUTH) return null;
  const params = new URLSearchParams(raw.toString("utf8"));
  const header = req.headers.authorization || "";
  let clientId = params.get("client_id");
  let used = null;
  if (/^basic /i.test(header)) {
    used = "client_secret_basic";
    try {
      const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
      clientId = decodeURIComponent(decoded.slice(0, decoded.indexOf(":")).replace(/\+/g, "%20"));
    } catch {}
  } else if (params.has("client_secret")) {
    used = "client_secret_post";
  }
  const registered = registeredAuthMethod.get(clientId);
  if (!used || !registered || used === registered) return null; // let oidc-provider judge
  return { error: "invalid_client", error_description: `client authentication failed: ${clientId} is registered with ${registered}, request used ${used}` };
}

const server = http.createServer(async (req, res) => {
  try {
    const path = (req.url || "/").split("?")[0];
    if (path.startsWith("/__control/")) return await handleControl(req, res, path);
    if (!providerCallback) return sendJson(res, 503, { error: "starting" });

    if (req.method === "POST" && path === tokenPath) {
      // Count at the HTTP level, before oidc-provider sees the request. The body is read here and
      // handed to oidc-provider as req.body (it supports an upstream-parsed body).
      const raw = await readBody(req);
      const grantType = new URLSearchParams(raw.toString("utf8")).get("grant_type") || "(none)";
      stats.token_requests[grantType] = (stats.token_requests[grantType] || 0) + 1;

      const mode = takeFault();
      if (mode !== "none") {
        stats.faulted += 1;
        if (mode === "500") return sendJson(res, 500, { error: "server_error" });
        if (mode === "garbage") {
          res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": 20 });
          return res.end("<html>garbage</html>");
        }
        // timeout: hold the request open until the client gives up (or we shut down).
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }

      req.body = raw;
      const authError = checkClientAuthMethod(req, raw);
      if (authError) {
        if (grantType === "refresh_token") stats.refresh_errors.invalid_client = (stats.refresh_errors.invalid_client || 0) + 1;
        return sendJson(res, 401, authError);
      }
      if (grantType === "refresh_token") {
        // Read the outcome from the response oidc-provider writes.
        const chunks = [];
        const origWrite = res.write.bind(res);
        const origEnd = res.end.bind(res);
        res.write = (chunk, ...rest) => {
          if (chunk && typeof chunk !== "function") chunks.push(Buffer.from(chunk));
          return origWrite(chunk, ...rest);
        };
        res.end = (chunk, ...rest) => {
          if (chunk && typeof chunk !== "function") chunks.push(Buffer.from(chunk));
          if (res.statusCode >= 400) {
            let code = `http_${res.statusCode}`;
            try {
              code = JSON.parse(Buffer.concat(chunks).toString("utf8")).error || code;
            } catch {}
            stats.refresh_errors[code] = (stats.refresh_errors[code] || 0) + 1;
          }
          return origEnd(chunk, ...rest);
        };
      }
    } else if (req.method === "POST" && (path === revocationPath || path === introspectionPath)) {
      if (path === revocationPath) stats.revocations += 1;
      const raw = await readBody(req);
      req.body = raw;
      const authError = checkClientAuthMethod(req, raw);
      if (authError) return sendJson(res, 401, authError);
    }
    return providerCallback(req, res);
  } catch (e) {
    process.stderr.write(`oidc-server.mjs: request error: ${e?.stack || e}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: "server_error", error_description: "test server failure" });
    else res.destroy();
  }
});
server.keepAliveTimeout = 30_000;
server.headersTimeout = 35_000;
server.requestTimeout = 0; // the "timeout" fault holds requests open deliberately

await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen({ port: PORT, host: "127.0.0.1", backlog: 4096 }, resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const clients = cfg.clients.map((c) => {
  const { client_id, client_secret, redirect_uris, token_endpoint_auth_method, ...rest } = c;
  return {
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    ...rest,
    client_id,
    client_secret,
    redirect_uris,
    token_endpoint_auth_method: token_endpoint_auth_method || "client_secret_basic",
  };
});

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients,
  scopes: SCOPES,
  // Cookies are per host, not per port: prefix the provider's cookie names so they can't be
  // mistaken for (or collide with) our server's cookies on the same 127.0.0.1.
  cookies: {
    keys: ["oidc-server-test-cookie-key"],
    names: { session: "_op_session", interaction: "_op_interaction", resume: "_op_interaction_resume" },
  },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => PKCE_REQUIRED },
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ ...(ACCOUNTS[id] || {}), sub: id }),
  }),
  // Issue a refresh token whenever the client may use the refresh grant (default: only with
  // offline_access + prompt=consent), and don't tie it to the browser session.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
  expiresWithSession: async () => false,
  rotateRefreshToken: ROTATE,
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    RefreshToken: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
    Session: 24 * 3600,
    Interaction: 3600,
    IdToken: 3600,
  },
});

providerCallback = provider.callback();

const endpoints = {
  issuer,
  authorization_endpoint: `${issuer}/auth`,
  token_endpoint: `${issuer}${tokenPath}`,
  revocation_endpoint: `${issuer}${revocationPath}`,
  introspection_endpoint: `${issuer}${introspectionPath}`,
  userinfo_endpoint: `${issuer}/me`,
  control: `${issuer}/__control`,
};

// Cross-check against the provider's own discovery document (routes are defaults, but be sure).
{
  const d = await fetch(`${issuer}/.well-known/openid-configuration`).then((r) => r.json());
  for (const k of ["authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "userinfo_endpoint"]) {
    if (d[k] !== endpoints[k]) crash(`discovery ${k} is ${d[k]}, expected ${endpoints[k]}`);
  }
}

process.stdout.write(JSON.stringify(endpoints) + "\n");

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  for (const res of hanging) res.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
