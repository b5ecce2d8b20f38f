// `deno task certs <command>`: the development PKI tool of issue #2 (init, user, server,
// revoke, show, verify). `verify` validates a chain exactly as ASL spec section 4 does.
// Exit codes: 0 success, 1 `verify` rejected the chain (`<CODE>: <why>`), 2 any other
// error (one line on stderr).

import { parseArgs } from "node:util";
import { initPki, issueServer, issueUser, revokeCertificate } from "../../lib/pki/pki_files.ts";
import { PkiError, PkiInputError } from "../../lib/pki/errors.ts";
import { loadTrustStore } from "../../lib/pki/credentials.ts";
import { decodePemCertificates } from "../../lib/pki/pem.ts";
import { parseCertificate } from "../../lib/pki/certificate.ts";
import { describeCertificate } from "./show.ts";
import { sha256Fingerprint } from "../../lib/pki/fingerprint.ts";
import { validateChain } from "../../lib/pki/validate.ts";

/** Where the tool writes; tests pass their own. */
export interface CertsIo {
  stdout(line: string): void;
  stderr(line: string): void;
}

const encoder = new TextEncoder();
const defaultIo: CertsIo = {
  stdout: (line) => Deno.stdout.writeSync(encoder.encode(line + "\n")),
  stderr: (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
};

const USAGE = `Usage: deno task certs <command> [options]

Commands:
  init     create a CA and a server certificate (DIR/ca.pem, ca.key, server.pem, server.key)
  user     issue a client certificate for a USERID (DIR/<USERID>.pem, .key)
  server   issue an extra server certificate (DIR/<FILE>.pem, .key)
  revoke   add a certificate to DIR/ca.crl
  show     describe the certificates in a PEM file
  verify   validate a chain as the ASL protocol does

Run "deno task certs <command> --help" for a command's options.
Exit codes: 0 ok, 1 verify rejected the chain, 2 any other error.`;

const HELP: Record<string, string> = {
  init: `Usage: deno task certs init [--dir DIR] [--host NAME]... [--bits 2048|3072|4096]
                             [--ca-alg rsa|ecdsa] [--days N] [--force]

Creates DIR/ca.pem, DIR/ca.key, DIR/server.pem and DIR/server.key (DIR defaults to certs).
The server certificate names localhost, 127.0.0.1 and ::1 plus every --host (EKU
serverAuth, keyUsage digitalSignature+keyEncipherment). --bits sets the RSA key size
(default 2048), --ca-alg the CA key (rsa, or ecdsa = P-256), --days the server
certificate's validity (default 365; the CA gets at least 3650). Keys are PKCS#8 PEM,
mode 0600. Existing files are kept unless --force is given.`,
  user:
    `Usage: deno task certs user <USERID> [--dir DIR] [--bits 2048|3072|4096] [--days N] [--force]

Issues DIR/<USERID>.pem and DIR/<USERID>.key from DIR/ca.pem + DIR/ca.key: CN=<USERID>,
EKU clientAuth, RSA. A USERID is 1 to 111 ASCII letters or digits.`,
  server: `Usage: deno task certs server --name FILE --host NAME... [--dir DIR]
                               [--bits 2048|3072|4096] [--days N] [--force]

Issues DIR/FILE.pem and DIR/FILE.key, a server certificate naming exactly the given
hosts (DNS names, *.wildcards or IP addresses), from DIR/ca.pem + DIR/ca.key.`,
  revoke: `Usage: deno task certs revoke <CERT.pem> [--dir DIR]

Adds the certificate (issued by DIR/ca.pem) to DIR/ca.crl, an X.509 CRL signed by the CA.
Give the CRL to the server with its --crl option.`,
  show: `Usage: deno task certs show <FILE.pem>

Prints subject, issuer, serial, validity, SANs, key usage, EKU, key type and size and the
SHA-256 fingerprint of every certificate in the file.`,
  verify: `Usage: deno task certs verify <CHAIN.pem> --ca <CA.pem> [--purpose server|client]
                               [--host NAME] [--crl FILE] [--at ISO-8601-TIME]

Validates CHAIN.pem (leaf first, then intermediates) against the CA file exactly as the
ASL protocol does. Prints "OK <identity>" and exits 0, or "<CODE>: <reason>" and exits 1
(codes: BAD_CERTIFICATE, UNKNOWN_CA, CERT_EXPIRED, CERT_REVOKED, BAD_IDENTITY).
--purpose defaults to server; --host checks the server name; --at validates at another
time, e.g. 2030-01-01 or 2030-01-01T12:00:00Z.`,
};

class UsageError extends Error {}

type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(
  command: string,
  args: string[],
  options: Record<string, { type: "string" | "boolean"; multiple?: boolean }>,
): { values: Flags; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    return { values: values as Flags, positionals };
  } catch (e) {
    const first = (e as Error).message.split(". ")[0] ?? "invalid arguments";
    throw new UsageError(`certs ${command}: ${first.replace(/\.$/, "")}`);
  }
}

function str(values: Flags, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

function strs(values: Flags, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function int(command: string, values: Flags, name: string): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,6}$/.test(v)) throw new UsageError(`certs ${command}: --${name} must be a number`);
  return Number(v);
}

/** `--bits`: an RSA key size the spec allows (2048, 3072 or 4096), else a usage error. */
function rsaBits(command: string, values: Flags): number | undefined {
  const v = str(values, "bits");
  if (v === undefined) return undefined;
  if (v !== "2048" && v !== "3072" && v !== "4096") {
    throw new UsageError(
      `certs ${command}: --bits must be 2048, 3072 or 4096, not ${JSON.stringify(v)}`,
    );
  }
  return Number(v);
}

function positional(command: string, positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`certs ${command}: missing ${what}`);
  if (positionals.length > 1) {
    throw new UsageError(`certs ${command}: unexpected argument ${JSON.stringify(positionals[1])}`);
  }
  return positionals[0]!;
}

function none(command: string, positionals: string[]): void {
  if (positionals.length > 0) {
    throw new UsageError(`certs ${command}: unexpected argument ${JSON.stringify(positionals[0])}`);
  }
}

const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function parseAt(text: string): Date {
  const ms = ISO_TIME.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `certs verify: --at ${
        JSON.stringify(text)
      } is not an ISO-8601 time (e.g. 2030-01-01T12:00:00Z)`,
    );
  }
  return new Date(ms);
}

async function readFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new PkiInputError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

const KEY_FLAGS = {
  dir: { type: "string" },
  bits: { type: "string" },
  days: { type: "string" },
  force: { type: "boolean" },
} as const;

/** The options `init`, `user` and `server` share: --dir, --force, --bits, --days. */
function keyOptions(command: string, values: Flags) {
  const bits = rsaBits(command, values);
  const days = int(command, values, "days");
  return {
    dir: str(values, "dir") ?? "certs",
    force: values.force === true,
    ...(bits === undefined ? {} : { bits }),
    ...(days === undefined ? {} : { days }),
  };
}

async function run(command: string, args: string[], io: CertsIo): Promise<number> {
  switch (command) {
    case "init": {
      const { values, positionals } = parse(command, args, {
        host: { type: "string", multiple: true },
        "ca-alg": { type: "string" },
        ...KEY_FLAGS,
      });
      if (values.help) return help(command, io);
      none(command, positionals);
      const caAlg = str(values, "ca-alg") ?? "rsa";
      if (caAlg !== "rsa" && caAlg !== "ecdsa") {
        throw new UsageError(
          `certs init: --ca-alg must be rsa or ecdsa, not ${JSON.stringify(caAlg)}`,
        );
      }
      const out = await initPki({
        ...keyOptions(command, values),
        hosts: strs(values, "host"),
        caAlg,
      });
      for (const path of Object.values(out)) io.stdout(`wrote ${path}`);
      return 0;
    }
    case "user": {
      const { values, positionals } = parse(command, args, KEY_FLAGS);
      if (values.help) return help(command, io);
      const userId = positional(command, positionals, "USERID");
      const out = await issueUser({ ...keyOptions(command, values), userId });
      io.stdout(`wrote ${out.cert}`);
      io.stdout(`wrote ${out.key}`);
      return 0;
    }
    case "server": {
      const { values, positionals } = parse(command, args, {
        name: { type: "string" },
        host: { type: "string", multiple: true },
        ...KEY_FLAGS,
      });
      if (values.help) return help(command, io);
      none(command, positionals);
      const name = str(values, "name");
      if (name === undefined) throw new UsageError("certs server: --name FILE is required");
      const hosts = strs(values, "host");
      if (hosts.length === 0) throw new UsageError("certs server: at least one --host is required");
      const out = await issueServer({ ...keyOptions(command, values), name, hosts });
      io.stdout(`wrote ${out.cert}`);
      io.stdout(`wrote ${out.key}`);
      return 0;
    }
    case "revoke": {
      const { values, positionals } = parse(command, args, { dir: { type: "string" } });
      if (values.help) return help(command, io);
      const certPath = positional(command, positionals, "CERT.pem");
      const out = await revokeCertificate({ dir: str(values, "dir") ?? "certs", certPath });
      io.stdout(
        `${out.alreadyRevoked ? "already revoked" : "revoked"} serial ${out.serialHex}; ` +
          `wrote ${out.crl} (${out.entries} ${out.entries === 1 ? "entry" : "entries"})`,
      );
      return 0;
    }
    case "show": {
      const { values, positionals } = parse(command, args, {});
      if (values.help) return help(command, io);
      const file = positional(command, positionals, "FILE.pem");
      const text = await readFile(file);
      const ders = decodeOrInput(file, text);
      for (const [i, der] of ders.entries()) {
        let cert;
        try {
          cert = parseCertificate(der);
        } catch (e) {
          throw new PkiInputError(`${file}: certificate ${i + 1}: ${(e as Error).message}`);
        }
        if (ders.length > 1) {
          if (i > 0) io.stdout("");
          io.stdout(`certificate ${i + 1} of ${ders.length}`);
        }
        for (const line of describeCertificate(cert, await sha256Fingerprint(der))) io.stdout(line);
      }
      return 0;
    }
    case "verify": {
      const { values, positionals } = parse(command, args, {
        ca: { type: "string" },
        purpose: { type: "string" },
        host: { type: "string", multiple: true },
        crl: { type: "string" },
        at: { type: "string" },
      });
      if (values.help) return help(command, io);
      const chainPath = positional(command, positionals, "CHAIN.pem");
      const caPath = str(values, "ca");
      if (caPath === undefined) throw new UsageError("certs verify: --ca CA.pem is required");
      const purpose = str(values, "purpose") ?? "server";
      if (purpose !== "server" && purpose !== "client") {
        throw new UsageError(
          `certs verify: --purpose must be server or client, not ${JSON.stringify(purpose)}`,
        );
      }
      const hosts = strs(values, "host");
      if (hosts.length > 1) throw new UsageError("certs verify: give --host at most once");
      if (hosts.length === 1 && purpose === "client") {
        throw new UsageError("certs verify: --host applies to --purpose server only");
      }
      const atText = str(values, "at");
      const at = atText === undefined ? undefined : parseAt(atText);
      const crlPath = str(values, "crl");
      const trust = await loadTrustStore(caPath, crlPath);
      const text = await readFile(chainPath);
      let chain: Uint8Array[];
      try {
        chain = decodePemCertificates(text);
      } catch (e) {
        io.stdout(`BAD_CERTIFICATE: ${(e as Error).message}`);
        return 1;
      }
      if (chain.length === 0) throw new PkiInputError(`${chainPath} holds no certificate`);
      try {
        const peer = await validateChain(chain, trust, {
          purpose,
          ...(hosts[0] === undefined ? {} : { host: hosts[0] }),
          ...(at === undefined ? {} : { at }),
        });
        io.stdout(`OK ${peer.identity}`);
        return 0;
      } catch (e) {
        if (e instanceof PkiError) {
          io.stdout(`${e.code}: ${e.message}`);
          return 1;
        }
        throw e;
      }
    }
    default:
      throw new UsageError(`certs: unknown command ${JSON.stringify(command)} (see --help)`);
  }
}

function decodeOrInput(file: string, text: string): Uint8Array[] {
  let ders: Uint8Array[];
  try {
    ders = decodePemCertificates(text);
  } catch (e) {
    throw new PkiInputError(`${file}: ${(e as Error).message}`);
  }
  if (ders.length === 0) throw new PkiInputError(`${file} holds no certificate`);
  return ders;
}

function help(command: string, io: CertsIo): number {
  io.stdout(HELP[command] ?? USAGE);
  return 0;
}

/**
 * Runs the tool with `args` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * const code = await main(["verify", "alice.pem", "--ca", "certs/ca.pem", "--purpose", "client"]);
 * ```
 */
export async function main(args: readonly string[], io: CertsIo = defaultIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined) {
    io.stderr(USAGE);
    return 2;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    io.stdout(USAGE);
    return 0;
  }
  try {
    return await run(command, rest, io);
  } catch (e) {
    const message = e instanceof UsageError
      ? e.message
      : e instanceof PkiInputError || e instanceof PkiError
      ? `certs ${command}: ${e.message}`
      : `certs ${command}: unexpected error: ${(e as Error)?.message ?? String(e)}`;
    io.stderr(message.replace(/\s*\n\s*/g, " "));
    return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
