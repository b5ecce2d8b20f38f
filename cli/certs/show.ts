// Human description of a certificate for `certs show` (issue #2): subject, issuer, serial,
// validity, SANs, key usage, EKU, basic constraints, key type/size, signature algorithm
// and SHA-256 fingerprint, one `label: value` line each.

import "reflect-metadata";
import { Name } from "@peculiar/x509";
import { keyName } from "../../lib/pki/algorithms.ts";
import { EKU, KU, type ParsedCertificate } from "../../lib/pki/certificate.ts";

const SIG_NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
  "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
  "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
  "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
  "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
};

const EKU_NAMES: Record<string, string> = {
  [EKU.serverAuth]: "serverAuth",
  [EKU.clientAuth]: "clientAuth",
  [EKU.anyExtendedKeyUsage]: "anyExtendedKeyUsage",
  "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  "1.3.6.1.5.5.7.3.9": "OCSPSigning",
};

/** Text form of a 4- or 16-byte address (IPv6 compressed as RFC 5952 says). */
export function ipText(ip: Uint8Array): string {
  if (ip.length === 4) return [...ip].join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip[i]! << 8) | ip[i + 1]!);
  // RFC 5952: compress the longest run (two or more) of zero words, the first on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/**
 * Describes `cert` as `label: value` lines; `fingerprint` is its SHA-256 (`ab:cd:…`).
 *
 * @example
 * ```ts ignore
 * import { describeCertificate } from "./show.ts";
 * console.log(describeCertificate(parseCertificate(der), fp).join("\n"));
 * ```
 */
export function describeCertificate(cert: ParsedCertificate, fingerprint: string): string[] {
  const tbs = cert.asn.tbsCertificate;
  const crit = (oid: string) =>
    tbs.extensions?.some((e) => e.extnID === oid && e.critical) ? " (critical)" : "";
  const lines = [
    `subject:           ${new Name(tbs.subject).toString()}`,
    `issuer:            ${new Name(tbs.issuer).toString()}`,
    `serial:            ${cert.serialHex}`,
    `not before:        ${iso(cert.notBefore)}`,
    `not after:         ${iso(cert.notAfter)}`,
  ];
  const sans = [
    ...cert.sanDns.map((d) => `DNS:${d}`),
    ...cert.sanIp.map((ip) => `IP:${ipText(ip)}`),
  ];
  lines.push(`subjectAltName:    ${sans.length ? sans.join(", ") : "(none)"}`);
  if (cert.basicConstraints) {
    const bc = cert.basicConstraints;
    lines.push(
      `basicConstraints:  CA:${bc.ca ? "TRUE" : "FALSE"}${
        bc.pathLen === undefined ? "" : `, pathlen:${bc.pathLen}`
      }${crit("2.5.29.19")}`,
    );
  } else {
    lines.push("basicConstraints:  (none)");
  }
  if (cert.keyUsage !== undefined) {
    const names = Object.entries(KU).filter(([, bit]) => (cert.keyUsage! & bit) !== 0).map(([n]) =>
      n
    );
    lines.push(`keyUsage:          ${names.join(", ") || "(empty)"}${crit("2.5.29.15")}`);
  } else {
    lines.push("keyUsage:          (none)");
  }
  lines.push(
    `extendedKeyUsage:  ${
      cert.extKeyUsage ? cert.extKeyUsage.map((o) => EKU_NAMES[o] ?? o).join(", ") : "(none)"
    }`,
  );
  const k = cert.key;
  lines.push(
    `key:               ${keyName(k)}${
      k.type === "RSA" ? ` bits, exponent ${parseInt(k.exponentHex, 16)}` : ""
    }`,
  );
  const sigOid = cert.asn.signatureAlgorithm.algorithm;
  lines.push(`signature:         ${SIG_NAMES[sigOid] ?? sigOid}`);
  if (cert.unknownCritical.length) {
    lines.push(`unknown critical:  ${cert.unknownCritical.join(", ")}`);
  }
  lines.push(`SHA-256:           ${fingerprint}`);
  return lines;
}
