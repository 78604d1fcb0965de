// The reference Standard Webhooks library (npm `standardwebhooks`, pinned in
// tests/js/package.json), for standard_webhooks.rs. Run from tests/js with
// `node --input-type=module -e <this file>`, so the import resolves there.
//
// stdin: {"verify": [{secret, id, timestamp, now, body, signature}],
//         "sign": [{secret, id, timestamp, body}]}
// (bodies in base64, times in Unix seconds, timestamp a header string in
// "verify"); stdout: one JSON object {"verify": ["ok" | error message],
// "sign": ["v1,…"]}, in input order.
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const input = JSON.parse(readFileSync(0, "utf8"));
const realNow = Date.now;
const verify = input.verify.map((c) => {
  // The library reads the clock itself: each case brings its own "now".
  Date.now = () => c.now * 1000;
  try {
    new Webhook(c.secret).verify(
      Buffer.from(c.body, "base64"),
      { "webhook-id": c.id, "webhook-timestamp": c.timestamp, "webhook-signature": c.signature },
      { jsonParse: false },
    );
    return "ok";
  } catch (e) {
    return String(e.message);
  } finally {
    Date.now = realNow;
  }
});
const sign = input.sign.map((c) =>
  new Webhook(c.secret).sign(c.id, new Date(c.timestamp * 1000), Buffer.from(c.body, "base64")),
);
process.stdout.write(JSON.stringify({ verify, sign }));
