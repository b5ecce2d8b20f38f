// Fuzz targets `cert` and `crl` (issue 13; ASL spec section 4): mutated DER certificates
// through validateChain against the vector CA trust store (as the leaf alone, the leaf with
// the CA appended, or the intermediate under the vector client leaf), and mutated DER CRLs
// through parseCrl and, when one parses, a validation that consults it. A tenth of the
// certificate mutants are structural and signed again by the CA (tools/fuzz/resign.ts), to
// reach the rules after the signature check. Only PkiError may escape. Oracles: every
// certificate of a chain that validates verifies under the CA key by node:crypto (no
// unsigned mutant is ever accepted), and only a CRL the CA really signed revokes anyone.

import { PkiError } from "../../../lib/pki/errors.ts";
import { parseCrl } from "../../../lib/pki/crl.ts";
import type { TrustStore } from "../../../lib/pki/types.ts";
import { validateChain } from "../../../lib/pki/validate.ts";
import { pkiSeeds, VALIDATE_AT } from "../pki_seeds.ts";
import { fnv1a } from "../prng.ts";
import { type CaKeys, caKeys, resignedMutant, signedBy } from "../resign.ts";
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
  clientDer: Uint8Array;
  carolDer: Uint8Array;
  revoking: Set<string>;
} | undefined;

export const crlTarget: FuzzTarget = {
  name: "crl",
  description: "parseCrl on mutated DER CRLs; a CRL that parses is used to validate a chain",
  maxBytes: 24_000,
  maxMs: 2000,
  async seeds() {
    const s = await pkiSeeds();
    crlState = {
      caDer: s.caDer,
      clientDer: s.clientDer,
      carolDer: s.certs.find((c) => c.name === "carol.crt")!.der,
      revoking: new Set(s.crls.filter((c) => c.revokesCarol).map((c) => c.der.toBase64())),
    };
    return s.crls.map((c) => c.der);
  },
  async run(der) {
    const st = crlState!;
    try {
      parseCrl(der);
    } catch (err) {
      return label(err, "parse");
    }
    const trust: TrustStore = { anchors: [st.caDer], crls: [der] };
    const who = fnv1a(der) & 1 ? st.carolDer : st.clientDer;
    try {
      await validateChain([who], trust, { purpose: "client", at: VALIDATE_AT });
    } catch (err) {
      if (
        err instanceof PkiError && err.code === "CERT_REVOKED" &&
        (who !== st.carolDer || !st.revoking.has(der.toBase64()))
      ) {
        throw new InvariantViolation(
          "a CRL the CA never signed (or that does not list it) revoked a certificate",
        );
      }
      return label(err, "use");
    }
    if (who === st.carolDer && st.revoking.has(der.toBase64())) {
      throw new InvariantViolation("carol validated although a CA-signed CRL revokes her");
    }
    return "ok";
  },
  expected: (err) => err instanceof PkiError,
};
