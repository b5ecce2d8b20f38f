// Fuzz targets `cert` and `crl` (issue 13; ASL spec section 4): mutated DER certificates
// through validateChain against the vector CA trust store (as the leaf alone, the leaf with
// the CA appended, or the intermediate under the vector client leaf), and mutated DER CRLs
// through parseCrl and, when one parses, a validation that consults it. A tenth of the
// certificate mutants are structural and signed again by the CA (tools/fuzz/resign.ts), to
// reach the rules after the signature check. Only PkiError may escape. Oracles: every
// certificate of a chain that validates verifies under the CA key by node:crypto (no
// unsigned mutant is ever accepted); a certificate is revoked exactly when a CRL that the CA
// signed, issued under the CA's exact name, lists its serial (an independent reading by
// asn1-x509 and node:crypto; a third of the CRL mutants are structural and signed again).

import { PkiError } from "../../../lib/pki/errors.ts";
import { parseCrl } from "../../../lib/pki/crl.ts";
import type { TrustStore } from "../../../lib/pki/types.ts";
import { validateChain } from "../../../lib/pki/validate.ts";
import { pkiSeeds, VALIDATE_AT } from "../pki_seeds.ts";
import { fnv1a } from "../prng.ts";
import {
  type CaKeys,
  caKeys,
  readCrl,
  resignedCrlMutant,
  resignedMutant,
  signedBy,
} from "../resign.ts";
import "reflect-metadata";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, type Name } from "@peculiar/asn1-x509";
import { readVectorText } from "../vectors.ts";
import { type FuzzTarget, InvariantViolation } from "../types.ts";

let certState:
  | { trust: TrustStore; ca: CaKeys; caDer: Uint8Array; clientDer: Uint8Array }
  | undefined;

function label(err: unknown, extra: string): string {
  if (err instanceof PkiError) {
    return `${extra}:${err.code}:${err.message.replace(/\d+/g, "#").slice(0, 60)}`;
  }
  throw err;
}

export const certTarget: FuzzTarget = {
  name: "cert",
  description: "validateChain on mutated DER certificates, vector CA trust store",
  maxBytes: 24_000,
  maxMs: 2000,
  async seeds() {
    const s = await pkiSeeds();
    const carolCrl = s.crls.find((c) => c.revokesCarol)!.der;
    certState = {
      trust: { anchors: [s.caDer], crls: [carolCrl] },
      ca: caKeys(await readVectorText("ca.key")),
      caDer: s.caDer,
      clientDer: s.clientDer,
    };
    return s.certs.map((c) => c.der);
  },
  mutate(input, rng, generic) {
    if (rng.chance(0.1)) {
      const resigned = resignedMutant(input, rng, certState!.ca, generic);
      if (resigned) return resigned;
    }
    return generic(input);
  },
  async run(der) {
    const st = certState!;
    const mode = fnv1a(der) % 4;
    const chain = mode === 2 ? [der, st.caDer] : mode === 3 ? [st.clientDer, der] : [der];
    const opts = mode === 1
      ? { purpose: "server" as const, host: "localhost", at: VALIDATE_AT }
      : { purpose: "client" as const, at: VALIDATE_AT };
    try {
      await validateChain(chain, st.trust, opts);
    } catch (err) {
      return label(err, `m${mode}`);
    }
    for (const c of chain) {
      if (!bytesEqual(c, st.caDer) && !signedBy(c, st.ca)) {
        throw new InvariantViolation("validateChain accepted a certificate the CA never signed");
      }
    }
    return `m${mode}:ok`;
  },
  expected: (err) => err instanceof PkiError,
};

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

let crlState: {
  caDer: Uint8Array;
  ca: CaKeys;
  /** The CA's subject DER, hex (a CRL applies only when its issuer is exactly this). */
  caSubject: string;
  leaves: { der: Uint8Array; serial: string }[];
  serials: Uint8Array[];
  names: Name[];
} | undefined;

export const crlTarget: FuzzTarget = {
  name: "crl",
  description: "parseCrl on mutated DER CRLs; a CRL that parses is used to validate a chain",
  maxBytes: 24_000,
  maxMs: 2000,
  async seeds() {
    const s = await pkiSeeds();
    const asnOf = (der: Uint8Array) => AsnConvert.parse(der, Certificate).tbsCertificate;
    const leaves = ["client.crt", "carol.crt"].map((name) => {
      const der = s.certs.find((c) => c.name === name)!.der;
      const serial = new Uint8Array(asnOf(der).serialNumber);
      return { der, serial: serial.toHex().replace(/^(00)+(?=.)/, ""), raw: serial };
    });
    crlState = {
      caDer: s.caDer,
      ca: caKeys(await readVectorText("ca.key")),
      caSubject: new Uint8Array(AsnConvert.serialize(asnOf(s.caDer).subject)).toHex(),
      leaves,
      serials: leaves.map((l) => l.raw),
      names: [asnOf(s.clientDer).subject, asnOf(s.caDer).subject],
    };
    return s.crls.map((c) => c.der);
  },
  mutate(input, rng, generic) {
    const st = crlState!;
    if (rng.chance(0.3)) {
      const m = resignedCrlMutant(input, rng, st.ca, generic, st.serials, st.names);
      if (m) return m;
    }
    return generic(input);
  },
  async run(der) {
    const st = crlState!;
    try {
      parseCrl(der);
    } catch (err) {
      return label(err, "parse");
    }
    const trust: TrustStore = { anchors: [st.caDer], crls: [der] };
    const who = st.leaves[fnv1a(der) & 1]!;
    const facts = readCrl(der, st.ca);
    const applies = facts !== undefined && facts.signed && facts.issuer === st.caSubject &&
      facts.serials.has(who.serial);
    let revoked = false;
    let outcome: string;
    try {
      await validateChain([who.der], trust, { purpose: "client", at: VALIDATE_AT });
      outcome = "ok";
    } catch (err) {
      revoked = err instanceof PkiError && err.code === "CERT_REVOKED";
      outcome = label(err, "use");
    }
    if (revoked && !applies) {
      throw new InvariantViolation(
        "a certificate was revoked by a CRL that the CA did not sign, or does not list it",
      );
    }
    if (!revoked && applies) {
      throw new InvariantViolation(
        `a CA-signed CRL lists the certificate, but validation says ${outcome} (fails open)`,
      );
    }
    return `${outcome}${applies ? ":listed" : ""}`;
  },
  expected: (err) => err instanceof PkiError,
};
