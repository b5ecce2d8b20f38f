// Tests cli/client/explain.ts: every failure becomes `CODE: one-line explanation`.

import assert from "node:assert/strict";
import { AslError } from "../lib/asl/errors.ts";
import { ClientError } from "../lib/client/errors.ts";
import { explainConnectError, explainReason } from "../cli/client/explain.ts";

const ctx = { caPath: "certs/ca.pem", server: "chat.example.org:4287" };

Deno.test("handshake codes found locally name the CA file and the host", () => {
  assert.equal(
    explainConnectError(new AslError("UNKNOWN_CA", "x"), ctx),
    "UNKNOWN_CA: the server's certificate is not signed by certs/ca.pem",
  );
  assert.equal(
    explainConnectError(new AslError("BAD_IDENTITY", "x"), ctx),
    "BAD_IDENTITY: the server's certificate does not name chat.example.org",
  );
  assert.equal(
    explainConnectError(new AslError("NO_SHARED_SUITE", "x"), ctx),
    "NO_SHARED_SUITE: the server shares none of the offered cipher suites",
  );
  assert.equal(
    explainConnectError(new AslError("CLOSED", "x"), ctx),
    "CLOSED: the connection closed",
  );
});

Deno.test("codes the server sent are explained from the client's side", () => {
  assert.equal(
    explainConnectError(new AslError("UNKNOWN_CA", "x", { remote: true }), ctx),
    "UNKNOWN_CA: the server does not trust the CA that issued your certificate",
  );
  assert.equal(
    explainConnectError(new AslError("SOMETHING_NEW", "peer said SOMETHING_NEW", { remote: true })),
    "SOMETHING_NEW: peer said SOMETHING_NEW",
  );
});

Deno.test("network failures, also wrapped as a cause", () => {
  const refused = new Deno.errors.ConnectionRefused("refused");
  assert.equal(
    explainConnectError(new AslError("CLOSED", "cannot connect", { cause: refused }), ctx),
    "CONNECTION_REFUSED: nothing is listening on chat.example.org:4287 (is the server running?)",
  );
  assert.equal(
    explainConnectError(refused, ctx),
    "CONNECTION_REFUSED: nothing is listening on chat.example.org:4287 (is the server running?)",
  );
});

Deno.test("FAILED reasons and client codes", () => {
  assert.equal(
    explainReason("UNKNOWN_USER"),
    "UNKNOWN_USER: a recipient is not known to the server",
  );
  assert.equal(explainReason("NOT_A_CODE"), "NOT_A_CODE");
  assert.equal(
    explainConnectError(new ClientError("NOT_YOUR_ID", "x", { remote: true })),
    "NOT_YOUR_ID: the certificate is not for this user id",
  );
  assert.equal(explainConnectError(new Error("plain")), "plain");
});
