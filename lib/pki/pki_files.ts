// The file layer of the PKI maker, behind `deno task certs` (issue #2) and the server's and
// client's development PKI: `initPki`, `issueUser`, `issueServer` and `revokeCertificate`
// run the in-memory Issuer (issuer.ts) against a directory laid out as DIR/ca.pem,
// DIR/ca.key, DIR/server.pem, DIR/<name>.pem|.key and DIR/ca.crl. Keys are PKCS#8 PEM
// written mode 0600; existing files are never replaced without `force`; the CRL is
// replaced atomically. Every failure is a `PkiInputError` with a one-line message.

import { keepPreviousKey } from "./key_history.ts";
import { parseCertificate } from "./certificate.ts";
import { PkiInputError } from "./errors.ts";
import { decodePemBlocks, decodePemCertificates, encodePem } from "./pem.ts";
import { verifySignature } from "./algorithms.ts";
import { Issuer } from "./issuer.ts";
import { entriesOf, type RevokedEntry, withRevoked } from "./crl_issue.ts";
import {
  CA_MIN_DAYS,
  type CaAlg,
  checkBits,
  checkCaAlg,
  checkDays,
  checkFileStem,
  checkHostName,
  checkUserId,
  DEFAULT_DAYS,
  DEFAULT_SERVER_HOSTS,
} from "./profiles.ts";
import {
  joinPath,
  loadIssuer,
  makeDir,
  present,
  readText,
  refuseExisting,
  replaceFile,
  writeOut,
} from "./pki_dir.ts";

export type { CaAlg } from "./profiles.ts";
export { loadIssuer } from "./pki_dir.ts";

/** Paths written by `initPki`. */
export interface InitPkiResult {
  /** The CA certificate, `DIR/ca.pem`. */
  readonly caCert: string;
  /** The CA private key, `DIR/ca.key` (mode 0600). */
  readonly caKey: string;
  /** The server certificate, `DIR/server.pem`. */
  readonly serverCert: string;
  /** The server private key, `DIR/server.key` (mode 0600). */
  readonly serverKey: string;
}

/** Options of `initPki` (`certs init`). */
export interface InitPkiOptions {
  /** Output directory (created when missing). */
  readonly dir: string;
  /** Extra server names besides localhost, 127.0.0.1 and ::1. */
  readonly hosts?: readonly string[];
  /** RSA size for the server key (and the CA key when `caAlg` is rsa); default 2048. */
  readonly bits?: number;
  /** CA key algorithm; default rsa. */
  readonly caAlg?: CaAlg;
  /** Server certificate validity in days (default 365); the CA gets at least 3650. */
  readonly days?: number;
  /** Replace existing files. */
  readonly force?: boolean;
}

/**
 * Creates a CA (`DIR/ca.pem`, `DIR/ca.key`) and a server certificate (`DIR/server.pem`,
 * `DIR/server.key`) with SANs localhost, 127.0.0.1, ::1 and every extra host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initPki } from "./pki_files.ts";
 * const dir = await Deno.makeTempDir();
 * const paths = await initPki({ dir, hosts: ["chat.example.org"] });
 * assert.equal(paths.caCert, `${dir}/ca.pem`);
 * assert.equal((await Deno.stat(paths.caKey)).mode! & 0o777, 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function initPki(options: InitPkiOptions): Promise<InitPkiResult> {
  const bits = checkBits(options.bits ?? 2048);
  const days = checkDays(options.days ?? DEFAULT_DAYS);
  const caAlg = checkCaAlg(options.caAlg ?? "rsa");
  const hosts = [
    ...new Set([...DEFAULT_SERVER_HOSTS, ...(options.hosts ?? []).map(checkHostName)]),
  ];
  const force = options.force ?? false;
  const out: InitPkiResult = {
    caCert: joinPath(options.dir, "ca.pem"),
    caKey: joinPath(options.dir, "ca.key"),
    serverCert: joinPath(options.dir, "server.pem"),
    serverKey: joinPath(options.dir, "server.key"),
  };
  await makeDir(options.dir);
  await refuseExisting(Object.values(out), force);
  const issuer = await Issuer.create({ caAlg, bits, days: Math.max(days, CA_MIN_DAYS) });
  const server = await issuer.server({ hosts, bits, days });
  await writeOut(out.caKey, await issuer.keyPem(), true, force);
  await writeOut(out.caCert, issuer.ca.pem, false, force);
  await writeOut(out.serverKey, await server.keyPem(), true, force);
  await writeOut(out.serverCert, server.chainPem, false, force);
  return out;
}

/** Options of `issueUser` (`certs user`). */
export interface IssueUserOptions {
  /** The PKI directory holding `ca.pem` and `ca.key`; the user's files are written there. */
  readonly dir: string;
  /** The USERID: 1 to 111 ASCII letters or digits; becomes the subject CN. */
  readonly userId: string;
  /** RSA key size: 2048 (default), 3072 or 4096. */
  readonly bits?: number;
  /** Validity in days; default 365. */
  readonly days?: number;
  /** Replace existing files. */
  readonly force?: boolean;
}

/** Paths written for one leaf certificate. */
export interface IssuedPaths {
  /** The certificate, PEM. */
  readonly cert: string;
  /** The private key, PKCS#8 PEM (mode 0600). */
  readonly key: string;
}

/**
 * Issues a client certificate for `userId` from the CA in `dir`: `DIR/<USERID>.pem` and
 * `DIR/<USERID>.key`, CN=<USERID>, EKU clientAuth, RSA.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initPki, issueUser } from "./pki_files.ts";
 * const dir = await Deno.makeTempDir();
 * await initPki({ dir });
 * const { cert, key } = await issueUser({ dir, userId: "alice" });
 * assert.deepEqual([cert, key], [`${dir}/alice.pem`, `${dir}/alice.key`]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function issueUser(options: IssueUserOptions): Promise<IssuedPaths> {
  const userId = checkUserId(options.userId);
  const bits = checkBits(options.bits ?? 2048);
  const days = checkDays(options.days ?? DEFAULT_DAYS);
  const out = {
    cert: joinPath(options.dir, `${userId}.pem`),
    key: joinPath(options.dir, `${userId}.key`),
  };
  const force = options.force ?? false;
  await refuseExisting([out.cert, out.key], force);
  const issuer = await loadIssuer(options.dir);
  const leaf = await issuer.user(userId, { bits, days });
  // A replaced key is kept as `<key>.N`, so that what was sealed to it can still be read.
  if (force) keepPreviousKey(out.key);
  await writeOut(out.key, await leaf.keyPem(), true, force);
  await writeOut(out.cert, leaf.chainPem, false, force);
  return out;
}

/** Options of `issueServer` (`certs server`). */
export interface IssueServerOptions {
  /** The PKI directory holding `ca.pem` and `ca.key`; the files are written there. */
  readonly dir: string;
  /** File stem: writes `DIR/<name>.pem` and `DIR/<name>.key` (a trailing `.pem` is dropped). */
  readonly name: string;
  /** The names the certificate carries as SANs (at least one). */
  readonly hosts: readonly string[];
  /** RSA key size: 2048 (default), 3072 or 4096. */
  readonly bits?: number;
  /** Validity in days; default 365. */
  readonly days?: number;
  /** Replace existing files. */
  readonly force?: boolean;
}

/**
 * Issues an extra server certificate from the CA in `dir` with exactly the given SANs.
 *
 * @example
 * ```ts ignore
 * import { issueServer } from "./pki_files.ts";
 * await issueServer({ dir: "certs", name: "chat", hosts: ["chat.example.org"] });
 * ```
 */
export async function issueServer(options: IssueServerOptions): Promise<IssuedPaths> {
  const stem = checkFileStem(options.name);
  if (options.hosts.length === 0) throw new PkiInputError("at least one --host is required");
  const hosts = [...new Set(options.hosts.map(checkHostName))];
  const bits = checkBits(options.bits ?? 2048);
  const days = checkDays(options.days ?? DEFAULT_DAYS);
  const out = {
    cert: joinPath(options.dir, `${stem}.pem`),
    key: joinPath(options.dir, `${stem}.key`),
  };
  const force = options.force ?? false;
  await refuseExisting([out.cert, out.key], force);
  const issuer = await loadIssuer(options.dir);
  const leaf = await issuer.server({ hosts, bits, days });
  await writeOut(out.key, await leaf.keyPem(), true, force);
  await writeOut(out.cert, leaf.chainPem, false, force);
  return out;
}

/** What `revokeCertificate` did. */
export interface RevokeResult {
  /** The CRL written (`DIR/ca.crl`). */
  readonly crl: string;
  /** The revoked serial, hex. */
  readonly serialHex: string;
  /** True when the serial was already on the CRL (the CRL is re-signed anyway). */
  readonly alreadyRevoked: boolean;
  /** Number of entries on the CRL now. */
  readonly entries: number;
}

/**
 * Adds the certificate in `certPath` (issued by the CA in `dir`) to `DIR/ca.crl`, a PEM
 * X.509 v2 CRL signed by the CA, keeping earlier entries. The new CRL is written beside the
 * old one and renamed over it, so a server watching the file never reads half of it.
 *
 * @example
 * ```ts ignore
 * import { revokeCertificate } from "./pki_files.ts";
 * await revokeCertificate({ dir: "certs", certPath: "certs/alice.pem" });
 * ```
 */
export async function revokeCertificate(
  options: { readonly dir: string; readonly certPath: string },
): Promise<RevokeResult> {
  const issuer = await loadIssuer(options.dir);
  const ca = parseCertificate(issuer.ca.der);
  const pem = await readText(options.certPath);
  let target;
  try {
    const ders = decodePemCertificates(pem);
    if (ders.length === 0) throw new PkiInputError("no certificate in the file");
    target = parseCertificate(ders[0]!);
  } catch (e) {
    throw new PkiInputError(`${options.certPath}: ${(e as Error).message}`, { cause: e });
  }
  const signedByCa = target.sigAlg.status === "ok" &&
    await verifySignature(ca.spki, ca.key, target.sigAlg.alg, target.tbs, target.signature);
  if (target.issuerId !== ca.subjectId || !signedByCa) {
    throw new PkiInputError(
      `${options.certPath} was not issued by ${joinPath(options.dir, "ca.pem")}`,
    );
  }
  const crlPath = joinPath(options.dir, "ca.crl");
  let earlier: RevokedEntry[] = [];
  if (await present(crlPath)) {
    const text = await readText(crlPath);
    try {
      const crls = decodePemBlocks(text).filter((b) => b.label === "X509 CRL").map((b) => b.der);
      earlier = entriesOf(crls, ca.subjectId);
    } catch (e) {
      throw new PkiInputError(`${crlPath}: ${(e as Error).message}`, { cause: e });
    }
  }
  const { entries, alreadyRevoked } = withRevoked(earlier, target.serialHex);
  const der = await issuer.crl(entries);
  await replaceFile(crlPath, encodePem("X509 CRL", der));
  return { crl: crlPath, serialHex: target.serialHex, alreadyRevoked, entries: entries.length };
}
