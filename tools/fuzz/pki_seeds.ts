// Certificate and CRL seeds for the fuzz harness (issue 13; ASL spec section 4), built once
// per process with @peculiar/x509 and signed by the vector CA's key (public test material),
// so they reach every validation step: inputs at and one past each size bound of section 4
// (8 192 DER bytes, 24 extensions, 16 attributes in a name, 16 subjectAltNames), a
// certificate with 1 500 extensions (security review finding 1), a duplicated extension,
// an understood extension that is not strict DER (finding 4), and CRLs.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { loadCaSigningKey, loadCertDer } from "./vectors.ts";

/** The date every validation in the harness runs at (all vector leaves but one valid). */
export const VALIDATE_AT = new Date("2026-12-05T00:00:00Z");

const SIGNING = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const NOT_BEFORE = new Date("2026-11-01T00:00:00Z");
const NOT_AFTER = new Date("2030-01-01T00:00:00Z");
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const NULL_DER = Uint8Array.of(0x05, 0x00);

/** Everything the PKI targets start from. */
export interface PkiSeeds {
  readonly caDer: Uint8Array;
  readonly clientDer: Uint8Array;
  /** The vector certificates and the built ones (all signed by the vector CA). */
  readonly certs: readonly { readonly name: string; readonly der: Uint8Array }[];
  /** Built CRLs; `revokesCarol` marks those that list carol's serial. */
  readonly crls: readonly {
    readonly name: string;
    readonly der: Uint8Array;
    readonly revokesCarol: boolean;
  }[];
  readonly carolSerialHex: string;
}

let cached: Promise<PkiSeeds> | undefined;

/** Builds (once per process) the certificate and CRL seeds. */
export function pkiSeeds(): Promise<PkiSeeds> {
  return cached ??= build();
}

function unknownExtensions(n: number, from = 0): x509.Extension[] {
  return Array.from(
    { length: n },
    (_, i) => new x509.Extension(`1.3.6.1.4.1.55555.1.${from + i}`, false, NULL_DER),
  );
}

async function build(): Promise<PkiSeeds> {
  const names = ["ca.crt", "server.crt", "client.crt", "alice_short.crt", "bob.crt", "carol.crt"];
  const vector = await Promise.all(
    names.map(async (name) => ({ name, der: await loadCertDer(name) })),
  );
  const caDer = vector[0]!.der;
  const clientDer = vector[2]!.der;
  const ca = new x509.X509Certificate(caDer as Uint8Array<ArrayBuffer>);
  const client = new x509.X509Certificate(clientDer as Uint8Array<ArrayBuffer>);
  const carol = new x509.X509Certificate(vector[5]!.der as Uint8Array<ArrayBuffer>);
  const signingKey = await loadCaSigningKey();
  const publicKey = await crypto.subtle.importKey(
    "spki",
    new Uint8Array(client.publicKey.rawData),
    SIGNING,
    true,
    ["verify"],
  );
  let serial = 0x1000;
  const leaf = async (
    subject: string,
    extensions: x509.Extension[],
    purpose: "client" | "server" = "client",
    replaceBase?: x509.Extension[],
  ): Promise<Uint8Array> => {
    const base: x509.Extension[] = replaceBase ?? [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([purpose === "client" ? CLIENT_AUTH : SERVER_AUTH]),
    ];
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (serial++).toString(16).padStart(8, "0"),
      subject,
      issuer: ca.subjectName,
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      publicKey,
      signingKey,
      signingAlgorithm: SIGNING,
      extensions: [...base, ...extensions],
    });
    return new Uint8Array(cert.rawData);
  };
  const ous = (n: number) => Array.from({ length: n }, (_, i) => `OU=unit${i}`).join(", ");
  const sans = (n: number) =>
    new x509.SubjectAlternativeNameExtension([
      { type: "dns", value: "localhost" },
      ...Array.from(
        { length: n - 1 },
        (_, i) => ({ type: "dns" as const, value: `h${i}.localhost` }),
      ),
    ]);
  /** A certificate of exactly `size` DER bytes (padded by one unknown extension). */
  const sized = async (size: number): Promise<Uint8Array> => {
    let pad = size - 900;
    for (let attempt = 0; attempt < 6; attempt++) {
      const der = await leaf("CN=alice", [
        new x509.Extension("1.3.6.1.4.1.55555.2", false, encodeOctets(pad)),
      ]);
      if (der.length === size) return der;
      pad += size - der.length;
    }
    throw new Error(`could not build a ${size}-byte certificate`);
  };
  const built: { name: string; der: Uint8Array }[] = [
    // base has 3 extensions: 21 more make 24, 22 more make 25.
    { name: "24 extensions", der: await leaf("CN=alice", unknownExtensions(21)) },
    { name: "25 extensions", der: await leaf("CN=alice", unknownExtensions(22)) },
    { name: "16 subject attributes", der: await leaf(`CN=alice, ${ous(15)}`, []) },
    { name: "17 subject attributes", der: await leaf(`CN=alice, ${ous(16)}`, []) },
    { name: "16 SANs", der: await leaf("CN=localhost", [sans(16)], "server") },
    { name: "17 SANs", der: await leaf("CN=localhost", [sans(17)], "server") },
    { name: "8192 bytes", der: await sized(8192) },
    { name: "8193 bytes", der: await sized(8193) },
    { name: "1500 extensions", der: await leaf("CN=alice", unknownExtensions(1497)) },
    {
      name: "duplicated extension",
      der: await leaf("CN=alice", [new x509.ExtendedKeyUsageExtension([CLIENT_AUTH])]),
    },
    {
      // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE … } with the default written.
      name: "basicConstraints with an explicit default cA FALSE (not DER)",
      der: await leaf("CN=alice", [], "client", [
        new x509.Extension("2.5.29.19", true, Uint8Array.of(0x30, 0x03, 0x01, 0x01, 0x00)),
      ]),
    },
  ];

  const crl = async (entries: x509.X509CrlEntryParams[]) => {
    const made = await x509.X509CrlGenerator.create({
      issuer: ca.subjectName,
      thisUpdate: NOT_BEFORE,
      nextUpdate: NOT_AFTER,
      entries,
      signingAlgorithm: SIGNING,
      signingKey,
    });
    return new Uint8Array(made.rawData);
  };
  // A reason code keeps @peculiar/x509 from writing an empty entry-extensions SEQUENCE.
  const entry = (serialNumber: string): x509.X509CrlEntryParams => ({
    serialNumber,
    revocationDate: NOT_BEFORE,
    reason: x509.X509CrlReason.keyCompromise,
  });
  // Small CRLs: parsing costs about 0.25 ms per entry, and the mutants multiply it.
  const many = Array.from({ length: 40 }, (_, i) => entry((0x7000 + i).toString(16)));
  const crls = [
    { name: "CRL revoking carol", der: await crl([entry(carol.serialNumber)]), revokesCarol: true },
    { name: "empty CRL", der: await crl([]), revokesCarol: false },
    { name: "CRL revoking 40 others", der: await crl(many), revokesCarol: false },
    {
      name: "CRL revoking 40 others and carol",
      der: await crl([...many, entry(carol.serialNumber)]),
      revokesCarol: true,
    },
  ];
  return {
    caDer,
    clientDer,
    certs: [...vector, ...built],
    crls,
    carolSerialHex: carol.serialNumber,
  };
}

/** An OCTET STRING of `n` zero bytes, DER. */
function encodeOctets(n: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(AsnConvert.serialize(new OctetString(n)));
}
