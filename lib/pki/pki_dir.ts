// The file primitives of the PKI file layer (pki_files.ts): reading and writing a PKI
// directory's PEM files with one-line `PkiInputError`s, keys mode 0600, no overwriting
// without `force`, atomic replacement (the CRL), and loading DIR/ca.pem + DIR/ca.key into
// an Issuer.

import { parseCertificate } from "./certificate.ts";
import { PkiInputError } from "./errors.ts";
import { decodePemCertificates } from "./pem.ts";
import { importSigningKey } from "./keys.ts";
import { Issuer } from "./issuer.ts";
import { exists } from "../fs.ts";

/** `dir/name`, without doubling a trailing slash. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** Whether anything is at `path`; a failure to look is a `PkiInputError`. */
export async function present(path: string): Promise<boolean> {
  try {
    return await exists(path);
  } catch (e) {
    throw new PkiInputError(`cannot inspect ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Throws "… already exists (use --force to replace it)" for the first path present. */
export async function refuseExisting(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  for (const p of paths) {
    if (await present(p)) {
      throw new PkiInputError(`${p} already exists (use --force to replace it)`);
    }
  }
}

/** Writes `text` to `path`, mode 0600 when `secret` else 0644; only a new file unless `force`. */
export async function writeOut(
  path: string,
  text: string,
  secret: boolean,
  force: boolean,
): Promise<void> {
  const mode = secret ? 0o600 : 0o644;
  try {
    await Deno.writeTextFile(path, text, { mode, createNew: !force });
    if (Deno.build.os !== "windows") await Deno.chmod(path, mode);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new PkiInputError(`${path} already exists (use --force to replace it)`, { cause: e });
    }
    throw new PkiInputError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Replaces `path` with `text` (mode 0644) atomically: written beside it and renamed over
 * it, so that a reader (the server's CRL watcher) never sees half of it.
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.getRandomValues(new Uint8Array(4)).toHex()}.tmp`;
  await writeOut(tmp, text, false, false);
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new PkiInputError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Creates `dir` (and its parents) when missing. */
export async function makeDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new PkiInputError(`cannot create directory ${dir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Reads a text file; "cannot read PATH: why" otherwise. */
export async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new PkiInputError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Loads `DIR/ca.pem` (exactly one certificate) and `DIR/ca.key`, checks that the key
 * belongs to the certificate (one signature), and returns an Issuer over them.
 *
 * @example
 * ```ts ignore
 * import { loadIssuer } from "./pki_dir.ts";
 * const issuer = await loadIssuer("certs");
 * const alice = await issuer.user("alice");
 * ```
 */
export async function loadIssuer(dir: string): Promise<Issuer> {
  const certPath = joinPath(dir, "ca.pem");
  const keyPath = joinPath(dir, "ca.key");
  const certPem = await readText(certPath);
  const keyPem = await readText(keyPath);
  let der: Uint8Array;
  let ca;
  try {
    const ders = decodePemCertificates(certPem);
    if (ders.length !== 1) throw new PkiInputError("expected exactly one certificate");
    der = ders[0]!;
    ca = parseCertificate(der);
  } catch (e) {
    throw new PkiInputError(`${certPath}: ${(e as Error).message}`, { cause: e });
  }
  let signingKey: CryptoKey;
  try {
    signingKey = await importSigningKey(keyPem, ca.key);
  } catch (e) {
    throw new PkiInputError(`${keyPath}: ${(e as Error).message}`, { cause: e });
  }
  const issuer = Issuer.fromCa(der, signingKey);
  const alg = issuer.signingAlgorithm;
  const probe = new Uint8Array(32);
  const signature = await crypto.subtle.sign(alg, signingKey, probe);
  const publicKey = await crypto.subtle.importKey(
    "spki",
    ca.spki as Uint8Array<ArrayBuffer>,
    ca.key.type === "EC" ? { name: "ECDSA", namedCurve: ca.key.curve } : alg,
    false,
    ["verify"],
  );
  if (!(await crypto.subtle.verify(alg, publicKey, signature, probe))) {
    throw new PkiInputError(`${keyPath} does not belong to ${certPath}`);
  }
  return issuer;
}
