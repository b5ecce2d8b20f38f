// Test helper: throwaway PKIs on disk. `makeTestPki` is lib/pki's Issuer (the project's
// one PKI maker, same profiles as `deno task certs`) with keys from the test key pool,
// writing the file layout of `deno task certs init|user`. The odd-certificate builder
// (`makeCert`, `makeCrl`, …) lives in cert_builder.ts and is re-exported here.

import { type IssuedCert, Issuer } from "../../lib/pki/issuer.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";
import { type TestCert, type TestKeys, testKeys } from "./cert_builder.ts";

export {
  crlPem,
  makeCert,
  type MakeCertOptions,
  makeCrl,
  resignDer,
  type TestCert,
  type TestKeys,
  testKeys,
  type TestSigning,
} from "./cert_builder.ts";

/** A throwaway PKI on disk, in the layout of `deno task certs`. */
export interface TestPki {
  readonly dir: string;
  readonly ca: TestCert;
  /** The intermediate CA, when asked for. */
  readonly intermediate?: TestCert;
  readonly server: TestCert;
  readonly users: Readonly<Record<string, TestCert>>;
  /** Paths: `ca.pem`, `ca.key`, `server.pem`, `server.key`. */
  readonly caCertPath: string;
  readonly caKeyPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
  /** `DIR/<user>.pem` / `.key`. */
  certPath(user: string): string;
  keyPath(user: string): string;
  /** The trust store of `ca.pem` (no CRL). */
  readonly trust: TrustStore;
  /** DER chain as sent (leaf, then the intermediate if any). */
  chain(who: "server" | string): Uint8Array[];
  /** Credentials for `server` or a user (leaf + intermediate, imported key). */
  credentials(who: "server" | string): Promise<Credentials>;
}

/** Options of `makeTestPki`. */
export interface TestPkiOptions {
  /** USERIDs to issue client certificates for. */
  readonly users?: readonly string[];
  /** Server SANs; default localhost, 127.0.0.1, ::1. */
  readonly hosts?: readonly string[];
  /** CA key: RSA (default) or ECDSA. */
  readonly caAlg?: "rsa" | "ecdsa";
  /** Put an intermediate CA between the root and the leaves (sent in every chain file). */
  readonly intermediate?: boolean;
}

/**
 * Writes a throwaway PKI into `dir` (created when missing): `ca.pem`, `ca.key`,
 * `server.pem`, `server.key`, and `<user>.pem` / `<user>.key` per user, made by lib/pki's
 * Issuer with the project's profiles. Keys come from the pool: the CA uses slot 0 (RSA) or
 * an EC key, the intermediate slot 1, the server slot 2, users slots 3, 4, … — so every
 * party has its own key.
 *
 * @example
 * ```ts ignore
 * const pki = await makeTestPki(dir, { users: ["alice", "bob"] });
 * const creds = await pki.credentials("alice");
 * ```
 */
export async function makeTestPki(dir: string, options: TestPkiOptions = {}): Promise<TestPki> {
  await Deno.mkdir(dir, { recursive: true });
  const caKeys = options.caAlg === "ecdsa" ? await testKeys("P-256", 0) : await testKeys("RSA", 0);
  // A distinct CA name per PKI, so that two test PKIs never look like the same CA.
  const subject = `CN=Test CA ${crypto.getRandomValues(new Uint8Array(4)).toHex()}`;
  const root = await Issuer.create({ subject, keys: caKeys, days: 2 });
  const sub = options.intermediate
    ? await root.intermediate({
      subject: "CN=Test Intermediate CA",
      keys: await testKeys("RSA", 1),
      pathLen: 0,
      days: 2,
    })
    : undefined;
  const leafIssuer = sub ?? root;
  const withKeys = (c: IssuedCert, keys: TestKeys): TestCert => ({
    der: c.der,
    pem: c.pem,
    cert: c.cert,
    keys,
  });
  const serverKeys = await testKeys("RSA", 2);
  const serverLeaf = await leafIssuer.server({
    keys: serverKeys,
    days: 1,
    ...(options.hosts ? { hosts: options.hosts } : {}),
  });
  const leaves = new Map([["server", serverLeaf]]);
  const users: Record<string, TestCert> = {};
  let slot = 3;
  for (const user of options.users ?? []) {
    const keys = await testKeys("RSA", slot++);
    const leaf = await leafIssuer.user(user, { keys, days: 1 });
    leaves.set(user, leaf);
    users[user] = withKeys(leaf, keys);
  }
  const path = (name: string) => `${dir}/${name}`;
  const write = async (name: string, text: string, mode: number) => {
    await Deno.writeTextFile(path(name), text, { mode });
  };
  await write("ca.pem", root.ca.pem, 0o644);
  await write("ca.key", caKeys.pem, 0o600);
  await write("server.pem", serverLeaf.chainPem, 0o644);
  await write("server.key", serverKeys.pem, 0o600);
  for (const user of Object.keys(users)) {
    await write(`${user}.pem`, leaves.get(user)!.chainPem, 0o644);
    await write(`${user}.key`, users[user]!.keys.pem, 0o600);
  }
  const leafOf = (who: string) => {
    const leaf = leaves.get(who);
    if (!leaf) throw new Error(`no such test party ${who}`);
    return leaf;
  };
  return {
    dir,
    ca: withKeys(root.ca, caKeys),
    ...(sub ? { intermediate: withKeys(sub.ca, await testKeys("RSA", 1)) } : {}),
    server: withKeys(serverLeaf, serverKeys),
    users,
    caCertPath: path("ca.pem"),
    caKeyPath: path("ca.key"),
    serverCertPath: path("server.pem"),
    serverKeyPath: path("server.key"),
    certPath: (user) => path(`${user}.pem`),
    keyPath: (user) => path(`${user}.key`),
    trust: root.trust,
    chain: (who) => [...leafOf(who).chain],
    credentials: (who) => leafOf(who).credentials(),
  };
}
