// Chain validation, ASL spec section 4 including its "Precise rules": the leaf and the
// sent intermediates, in order, up to a trust anchor from the CA file, with faults
// reported in the spec's order (structure and order — size bounds on the raw DER before any
// parse, so a hostile chain costs little —, MD5/SHA-1, trust anchor, signatures,
// critical extensions, issuer constraints, validity dates, leaf key and usages, name or
// CN, revocation). Hot path: certificates are parsed once (cached), trust stores are
// indexed once per TrustStore object, imported keys and CRL verdicts are cached.

import "reflect-metadata";
import { Name } from "@peculiar/x509";
import { caKeyProblem, isAcceptableCaKey, keyName, verifySignature } from "./algorithms.ts";
import { EKU, KU, parseCertificate, type ParsedCertificate } from "./certificate.ts";
import { parseCrl, type ParsedCrl } from "./crl.ts";
import { PkiError } from "./errors.ts";
import { sha256Fingerprint } from "./fingerprint.ts";
import { MAX_CHAIN_LENGTH } from "../limits.ts";
import { hostMatches, isUserId } from "./names.ts";
import type { TrustStore, ValidatedPeer, ValidateOptions } from "./types.ts";

interface StoreIndex {
  readonly byDer: Map<string, ParsedCertificate>;
  readonly bySubject: Map<string, ParsedCertificate[]>;
  readonly crlsByIssuer: Map<string, ParsedCrl[]>;
  readonly crlCount: number;
  /** CRL signature verdicts, keyed by CRL and issuer key. */
  readonly crlVerdicts: Map<string, Promise<boolean>>;
}

const indexes = new WeakMap<TrustStore, StoreIndex>();

function indexStore(trust: TrustStore): StoreIndex {
  let index = indexes.get(trust);
  if (index) return index;
  const byDer = new Map<string, ParsedCertificate>();
  const bySubject = new Map<string, ParsedCertificate[]>();
  for (const der of trust.anchors) {
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(der);
    } catch {
      continue; // an unreadable anchor anchors nothing (parseTrustStore refuses them)
    }
    byDer.set(cert.der.toBase64(), cert);
    const list = bySubject.get(cert.subjectId) ?? [];
    list.push(cert);
    bySubject.set(cert.subjectId, list);
  }
  const crlsByIssuer = new Map<string, ParsedCrl[]>();
  let crlCount = 0;
  for (const der of trust.crls) {
    let crl: ParsedCrl;
    try {
      crl = parseCrl(der);
    } catch {
      continue; // an unreadable CRL cannot be used (parseTrustStore refuses them)
    }
    crlCount++;
    const list = crlsByIssuer.get(crl.issuerId) ?? [];
    list.push(crl);
    crlsByIssuer.set(crl.issuerId, list);
  }
  index = { byDer, bySubject, crlsByIssuer, crlCount, crlVerdicts: new Map() };
  indexes.set(trust, index);
  return index;
}

function fail(message: string): never {
  throw new PkiError("BAD_CERTIFICATE", message);
}

/** Human position of certificate `i` in the sent chain. */
function where(i: number, total: number): string {
  if (i === 0) return "the leaf certificate";
  if (i >= total) return "the trusted CA certificate";
  return `certificate ${i + 1} of the chain`;
}

function subjectOf(cert: ParsedCertificate): string {
  try {
    return new Name(cert.asn.tbsCertificate.subject).toString();
  } catch {
    return "";
  }
}

function crlVerdict(index: StoreIndex, crl: ParsedCrl, issuer: ParsedCertificate) {
  const key = `${crl.der.toBase64()}|${issuer.spki.toBase64()}`;
  let verdict = index.crlVerdicts.get(key);
  if (!verdict) {
    verdict = crl.sigAlg.status === "ok" && isAcceptableCaKey(issuer.key)
      ? verifySignature(issuer.spki, issuer.key, crl.sigAlg.alg, crl.tbs, crl.signature)
      : Promise.resolve(false);
    index.crlVerdicts.set(key, verdict);
  }
  return verdict;
}

/**
 * Validates a peer's chain (leaf first, 1 to 5 DER certificates) against `trust`, exactly
 * as ASL section 4 says, and returns the peer's identity: for `purpose: "client"` the
 * leaf's subject CN (a USERID); for `"server"` the `host` it matched, or the leaf's CN
 * when no host is given. Throws `PkiError` with the spec's code; where a chain has
 * several faults the first in the spec's order is reported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateChain } from "./validate.ts";
 * import { loadCredentials, loadTrustStore } from "./credentials.ts";
 * import { initPki } from "./pki_files.ts";
 * const dir = await Deno.makeTempDir();
 * await initPki({ dir });
 * const trust = await loadTrustStore(`${dir}/ca.pem`);
 * const { chain } = await loadCredentials(`${dir}/server.pem`, `${dir}/server.key`);
 * const peer = await validateChain(chain, trust, { purpose: "server", host: "localhost" });
 * assert.equal(peer.identity, "localhost");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function validateChain(
  chain: readonly Uint8Array[],
  trust: TrustStore,
  opts: ValidateOptions,
): Promise<ValidatedPeer> {
  const now = (opts.at ?? new Date()).getTime();
  if (Number.isNaN(now)) throw new RangeError("validateChain: `at` is not a valid date");
  const index = indexStore(trust);

  // 1. Structure and order.
  if (chain.length === 0) fail("the chain is empty");
  if (chain.length > MAX_CHAIN_LENGTH) {
    fail(`the chain has ${chain.length} certificates (at most ${MAX_CHAIN_LENGTH})`);
  }
  const sent = chain.map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (e) {
      const why = e instanceof PkiError ? e.message : "not a certificate";
      throw new PkiError("BAD_CERTIFICATE", `${where(i, chain.length)}: ${why}`, { cause: e });
    }
  });
  for (let i = 0; i + 1 < sent.length; i++) {
    if (sent[i]!.issuerId !== sent[i + 1]!.subjectId) {
      fail(`${where(i, sent.length)} is not issued by the next certificate in the chain`);
    }
  }
  let path = sent;
  let anchors: ParsedCertificate[] | undefined;
  const sentRoot = index.byDer.get(sent[sent.length - 1]!.der.toBase64());
  if (sentRoot) {
    if (sent.length === 1) fail("the leaf certificate is itself a trusted CA certificate");
    path = sent.slice(0, -1);
    anchors = [sentRoot];
  }
  const total = path.length;
  const leaf = path[0]!;
  const top = path[total - 1]!;
  if (index.byDer.has(leaf.der.toBase64())) {
    fail("the leaf certificate is itself a trusted CA certificate");
  }

  // 2. MD5 / SHA-1.
  path.forEach((cert, i) => {
    if (cert.sigAlg.status === "weak") {
      fail(`${where(i, total)} is signed with ${cert.sigAlg.name} (MD5/SHA-1 are refused)`);
    }
  });

  // 3. Trust anchor.
  if (!anchors) {
    const candidates = index.bySubject.get(top.issuerId);
    if (!candidates || candidates.length === 0) {
      throw new PkiError("UNKNOWN_CA", "the chain does not lead to a trusted CA certificate");
    }
    if (top.issuerId === top.subjectId) {
      throw new PkiError(
        "UNKNOWN_CA",
        "the chain ends in a self-issued certificate that is not a trusted CA certificate",
      );
    }
    anchors = candidates;
  }

  // 4. Signatures (and the algorithms and CA keys they need).
  path.forEach((cert, i) => {
    if (cert.sigAlg.status === "unsupported") {
      fail(`${where(i, total)} uses an unsupported signature algorithm (${cert.sigAlg.name})`);
    }
  });
  for (let i = 1; i < total; i++) {
    const problem = caKeyProblem(path[i]!.key);
    if (problem) fail(`${where(i, total)} has a CA key that is not accepted: ${problem}`);
  }
  const usable = anchors.filter((a) => isAcceptableCaKey(a.key));
  if (usable.length === 0) {
    fail(
      `the trusted CA certificate has a key that is not accepted: ${caKeyProblem(anchors[0]!.key)}`,
    );
  }
  const verifyBy = (cert: ParsedCertificate, issuer: ParsedCertificate) =>
    cert.sigAlg.status === "ok"
      ? verifySignature(issuer.spki, issuer.key, cert.sigAlg.alg, cert.tbs, cert.signature)
      : Promise.resolve(false);
  const [inner, anchorHits] = await Promise.all([
    Promise.all(path.slice(0, -1).map((cert, i) => verifyBy(cert, path[i + 1]!))),
    Promise.all(usable.map((a) => verifyBy(top, a))),
  ]);
  inner.forEach((ok, i) => {
    if (!ok) fail(`the signature of ${where(i, total)} does not verify`);
  });
  const anchorAt = anchorHits.indexOf(true);
  if (anchorAt < 0) fail(`the signature of ${where(total - 1, total)} does not verify`);
  const anchor = usable[anchorAt]!;
  const full = [...path, anchor];

  // 5. Critical extensions (the trust anchor included).
  full.forEach((cert, i) => {
    const oid = cert.unknownCritical[0];
    if (oid !== undefined) fail(`${where(i, total)} has an unknown critical extension ${oid}`);
  });

  // 6. Issuer constraints: cA, keyCertSign, pathLenConstraint.
  for (let i = 1; i < full.length; i++) {
    const cert = full[i]!;
    const bc = cert.basicConstraints;
    if (!bc || !bc.ca) fail(`${where(i, total)} is not a CA (basicConstraints cA is not TRUE)`);
    if (cert.keyUsage !== undefined && (cert.keyUsage & KU.keyCertSign) === 0) {
      fail(`${where(i, total)} has keyUsage without keyCertSign`);
    }
    // Intermediates between this issuer and the leaf: full[1 .. i-1].
    if (bc.pathLen !== undefined && i - 1 > bc.pathLen) {
      fail(`the pathLenConstraint (${bc.pathLen}) of ${where(i, total)} is exceeded`);
    }
  }

  // 7. Validity dates.
  full.forEach((cert, i) => {
    if (now < cert.notBefore) {
      throw new PkiError("CERT_EXPIRED", `${where(i, total)} is not valid yet`);
    }
    if (now > cert.notAfter) throw new PkiError("CERT_EXPIRED", `${where(i, total)} has expired`);
  });

  // 8. Leaf key and usages.
  const k = leaf.key;
  if (k.type !== "RSA") fail(`the leaf key must be RSA, not ${keyName(k)}`);
  if (k.bits < 2048 || k.bits > 4096) fail(`the leaf RSA key has ${k.bits} bits (2048 to 4096)`);
  if (k.exponentHex !== "010001") fail("the leaf RSA key's public exponent is not 65537");
  if (leaf.basicConstraints?.ca) fail("the leaf certificate is a CA (basicConstraints cA=TRUE)");
  const wantKu = KU.digitalSignature | KU.keyEncipherment;
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & wantKu) !== wantKu) {
    fail("the leaf keyUsage lacks digitalSignature or keyEncipherment");
  }
  const wantEku = opts.purpose === "server" ? EKU.serverAuth : EKU.clientAuth;
  if (leaf.extKeyUsage !== undefined && !leaf.extKeyUsage.includes(wantEku)) {
    fail(
      `the leaf extendedKeyUsage lacks ${opts.purpose === "server" ? "serverAuth" : "clientAuth"}`,
    );
  }

  // 9. Name or CN.
  let identity: string;
  if (opts.purpose === "client") {
    if (leaf.subjectCommonNames.length !== 1) {
      fail(
        `the client certificate has ${leaf.subjectCommonNames.length} subject CNs (exactly one)`,
      );
    }
    identity = leaf.subjectCommonNames[0]!;
    if (!isUserId(identity)) fail("the client certificate's CN is not a valid USERID");
  } else if (opts.host !== undefined) {
    if (!hostMatches(opts.host, leaf.sanDns, leaf.sanIp)) {
      throw new PkiError(
        "BAD_IDENTITY",
        `the server certificate does not name ${JSON.stringify(opts.host)}`,
      );
    }
    identity = opts.host;
  } else {
    identity = leaf.subjectCommonNames[0] ?? "";
  }

  // 10. Revocation (leaf and intermediates), with CRLs whose issuer and signature fit.
  if (index.crlCount > 0) {
    for (let i = 0; i < total; i++) {
      const cert = path[i]!;
      const issuer = full[i + 1]!;
      for (const crl of index.crlsByIssuer.get(cert.issuerId) ?? []) {
        if (crl.revoked.has(cert.serialHex) && await crlVerdict(index, crl, issuer)) {
          throw new PkiError("CERT_REVOKED", `${where(i, total)} is revoked`);
        }
      }
    }
  }

  // Copies: the parsed certificates are shared through the parse cache.
  const leafDer = leaf.der.slice();
  return {
    identity,
    leafDer,
    chain: Object.freeze([leafDer, ...sent.slice(1).map((cert) => cert.der.slice())]),
    leafSpki: leaf.spki.slice(),
    subject: subjectOf(leaf),
    fingerprint: await sha256Fingerprint(leaf.der),
    notAfter: new Date(leaf.notAfter),
  };
}
