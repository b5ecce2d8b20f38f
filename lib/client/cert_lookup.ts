// The client side of `CERT` (ASL spec section 5, revision 4) and of checking what it
// returns (section 7, "Sending", step 1, with section 4's rules): builds `CERT <USERID>`,
// parses the reply strictly (`OK <USERID> <CERTB64> …`, 1 to 5 certificates, leaf first,
// or `FAILED <USERID> <REASON>`), and validates the chain as a server validates a
// client's: purpose client, the client's own CA file and CRL, leaf CN = the id asked.
// Pure: lines in, values or ClientErrors out; the session lives in connection.ts, and
// `certAnswer` asks over it for the e2e layer.

import { decodeBase64Strict } from "../base64.ts";
import { deadline } from "../deadline.ts";
import type { CertAnswer } from "../e2e/open.ts";
import { PkiError } from "../pki/errors.ts";
import type { TrustStore } from "../pki/types.ts";
import { validateChain } from "../pki/validate.ts";
import { MAX_CHAIN_LENGTH } from "../limits.ts";
import { isUserId } from "./commands.ts";
import { asError, ClientError, timeoutError } from "./errors.ts";

/**
 * The `FAILED` reasons a server gives to `CERT` (section 5), in the order it checks them.
 * Another well-formed reason is passed on as it is.
 */
export const CERT_FAILED_REASONS = [
  "MALFORMED",
  "RATE_LIMITED",
  "NOT_REGISTERED",
  "UNKNOWN_USER",
  "NO_CERTIFICATE",
  "INTERNAL",
] as const;

/**
 * A user's certificate as looked up with `CERT` and validated by this client.
 *
 * @example
 * ```ts
 * import type { CertificateLookup } from "@netsec/msg";
 * const show = (r: CertificateLookup) => `${r.identity} SHA-256 ${r.fingerprint}`;
 * ```
 */
export interface CertificateLookup {
  /** The USERID asked for. */
  readonly user: string;
  /** The validated identity: the leaf's subject CN, equal to `user`. */
  readonly identity: string;
  /** The chain the server returned, DER, leaf first (1 to 5 certificates). */
  readonly chain: readonly Uint8Array[];
  /** SHA-256 of the leaf's DER, lowercase hex pairs joined by colons (`ab:cd:…`). */
  readonly fingerprint: string;
  /** The leaf's subject, e.g. `CN=bob`. */
  readonly subject: string;
  /** End of the leaf's validity. */
  readonly notAfter: Date;
}

/** A `CERT` reply, parsed. */
export type CertReply =
  | { readonly kind: "ok"; readonly user: string; readonly chain: readonly Uint8Array[] }
  | { readonly kind: "failed"; readonly user: string; readonly reason: string };

const REASON = /^[A-Z_]{1,64}$/;

/** `CERT <USERID>`; throws `BAD_RECIPIENT` for an id that is not a USERID. */
export function certLine(user: string): string {
  if (!isUserId(user)) {
    throw new ClientError(
      "BAD_RECIPIENT",
      `${JSON.stringify(user)} is not a user id (1 to 111 letters and digits)`,
    );
  }
  return `CERT ${user}`;
}

function protocol(what: string): never {
  throw new ClientError("PROTOCOL", `the server's reply to CERT ${what}`);
}

/**
 * Parses the server's reply to `CERT <asked>`. `OK` must echo `asked` and carry 1 to 5
 * strict padded base64 certificates; `FAILED` must echo `asked` (or `*` with `MALFORMED`)
 * and carry one REASON. Anything else throws `ClientError("PROTOCOL")`; never crashes.
 *
 * @example
 * ```ts
 * import { parseCertReply } from "./cert_lookup.ts";
 * console.log(parseCertReply("FAILED bob UNKNOWN_USER", "bob"));
 * // { kind: "failed", user: "bob", reason: "UNKNOWN_USER" }
 * ```
 */
export function parseCertReply(line: string, asked: string): CertReply {
  const parts = line.split(" ");
  const [verb, id] = parts;
  if (verb === "FAILED") {
    if (parts.length !== 3) protocol("is not FAILED <USERID> <REASON>");
    const reason = parts[2]!;
    if (!REASON.test(reason)) protocol("has no valid REASON");
    if (id === "*" && reason === "MALFORMED") return { kind: "failed", user: "*", reason };
    if (id !== asked) protocol(`names ${JSON.stringify(id)}, not ${asked}`);
    return { kind: "failed", user: asked, reason };
  }
  if (verb !== "OK") protocol("is neither OK nor FAILED");
  if (id !== asked) protocol(`names ${JSON.stringify(id)}, not ${asked}`);
  const fields = parts.slice(2);
  if (fields.length === 0) protocol("carries no certificate");
  if (fields.length > MAX_CHAIN_LENGTH) {
    protocol(`carries ${fields.length} certificates; at most ${MAX_CHAIN_LENGTH} are allowed`);
  }
  const chain = fields.map((field, i) => {
    const der = field === "" ? undefined : decodeBase64Strict(field);
    if (der === undefined || der.length === 0) {
      protocol(`has certificate ${i + 1} that is not padded base64`);
    }
    return der;
  });
  return { kind: "ok", user: asked, chain };
}

/**
 * Validates `chain` (DER, leaf first) for `user` as section 7 says: section 4's rules with
 * purpose client against `trust` (the client's own CA file, and its CRL if it has one),
 * then the leaf's CN must equal `user`. Throws `ClientError` whose code is the PKI code
 * (`UNKNOWN_CA`, `BAD_CERTIFICATE`, `CERT_EXPIRED`, `CERT_REVOKED`), or `BAD_IDENTITY`
 * when a valid certificate names someone else.
 *
 * @example
 * ```ts ignore
 * import { verifyUserChain } from "./cert_lookup.ts";
 * const found = await verifyUserChain("bob", chain, trust);
 * console.log(found.fingerprint);
 * ```
 */
export async function verifyUserChain(
  user: string,
  chain: readonly Uint8Array[],
  trust: TrustStore,
  options: { readonly at?: Date } = {},
): Promise<CertificateLookup> {
  let peer;
  try {
    peer = await validateChain(chain, trust, {
      purpose: "client",
      ...(options.at ? { at: options.at } : {}),
    });
  } catch (err) {
    if (err instanceof PkiError) {
      throw new ClientError(err.code, `the certificate of ${user}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  if (peer.identity !== user) {
    throw new ClientError(
      "BAD_IDENTITY",
      `the certificate returned for ${user} names ${JSON.stringify(peer.identity)}`,
    );
  }
  return {
    user,
    identity: peer.identity,
    chain: [...chain],
    fingerprint: peer.fingerprint,
    subject: peer.subject,
    notAfter: peer.notAfter,
  };
}

/**
 * What a CERT reply line amounts to: the validated certificate of `user` (parseCertReply,
 * then verifyUserChain against `trust`), or a ClientError: the server's `FAILED` reason
 * (`remote` true), `PROTOCOL`, or a certificate code.
 */
export async function checkCertReply(
  user: string,
  line: string,
  trust: TrustStore,
): Promise<CertificateLookup> {
  const parsed = parseCertReply(line, user);
  if (parsed.kind === "failed") {
    throw new ClientError(parsed.reason, `CERT ${user} failed: ${parsed.reason}`, {
      remote: true,
    });
  }
  return await verifyUserChain(user, parsed.chain, trust);
}

/** What `certAnswer` asks: a session's `cert` (link.ts). */
export interface CertAsker {
  cert(user: string, line: string): Promise<string>;
}

/**
 * `CERT <user>` as the e2e layer wants it (a CertAnswer): asked over the session `link`
 * gives (it may throw or reject: unreachable), the reply awaited up to `timeoutMs`.
 */
export async function certAnswer(
  link: () => CertAsker | Promise<CertAsker>,
  user: string,
  timeoutMs: number,
): Promise<CertAnswer> {
  let line: string;
  try {
    const reply = (await link()).cert(user, certLine(user));
    line = await deadline(reply, timeoutMs, timeoutError(`CERT ${user}`, timeoutMs));
  } catch (err) {
    return { unreachable: asError(err).message };
  }
  try {
    const reply = parseCertReply(line, user);
    return reply.kind === "ok" ? { chain: reply.chain } : { failed: reply.reason };
  } catch {
    return { failed: "PROTOCOL" };
  }
}
