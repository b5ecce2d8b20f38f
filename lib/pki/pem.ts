// PEM (RFC 7468) for the certificate layer: strict decoding of CERTIFICATE (and other)
// blocks and the 64-column encoding ASL senders write (ASL spec sections 2 and 4).

import { decodeBase64Strict, encodeBase64 } from "../base64.ts";
import { PkiError } from "./errors.ts";

/** Most PEM blocks one text may hold; a CA file or chain with more is refused. */
export const MAX_PEM_BLOCKS = 1000;

/** One decoded PEM block. */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`. */
  readonly label: string;
  /** The decoded body. */
  readonly der: Uint8Array;
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const END = /^-----END ([A-Z0-9 ]+)-----$/;
const BODY_LINE = /^[A-Za-z0-9+/=]{1,64}$/;

/**
 * Decodes every PEM block in `text`, in order. Text outside blocks is ignored (RFC 7468
 * explanatory text); inside a block every line must be 1 to 64 base64 characters and the
 * body strict base64. CRLF line ends are accepted. Throws `PkiError("BAD_CERTIFICATE")`
 * on a malformed block.
 *
 * @example
 * ```ts
 * import { decodePemBlocks } from "./pem.ts";
 * const blocks = decodePemBlocks("-----BEGIN X-----\nAAEC\n-----END X-----\n");
 * console.log(blocks[0]?.label, blocks[0]?.der); // "X" Uint8Array [0, 1, 2]
 * ```
 */
export function decodePemBlocks(text: string): PemBlock[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop(); // the final line end
  const blocks: PemBlock[] = [];
  let label: string | undefined;
  let body = "";
  let bodyLines = 0;
  for (const raw of lines) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (label === undefined) {
      const begin = BEGIN.exec(line);
      if (begin) {
        label = begin[1] ?? "";
        body = "";
        bodyLines = 0;
      } else if (line.startsWith("-----")) {
        throw new PkiError(
          "BAD_CERTIFICATE",
          `unexpected PEM line ${JSON.stringify(line.slice(0, 40))}`,
        );
      }
      continue;
    }
    const end = END.exec(line);
    if (end) {
      if (end[1] !== label) {
        throw new PkiError("BAD_CERTIFICATE", `PEM block "${label}" ends with "${end[1]}"`);
      }
      const der = bodyLines === 0 ? undefined : decodeBase64Strict(body);
      if (der === undefined || der.length === 0) {
        throw new PkiError("BAD_CERTIFICATE", `PEM block "${label}" has an invalid base64 body`);
      }
      if (blocks.length >= MAX_PEM_BLOCKS) {
        throw new PkiError("BAD_CERTIFICATE", `more than ${MAX_PEM_BLOCKS} PEM blocks`);
      }
      blocks.push({ label, der });
      label = undefined;
      continue;
    }
    if (!BODY_LINE.test(line)) {
      throw new PkiError("BAD_CERTIFICATE", `PEM block "${label}" has an invalid body line`);
    }
    body += line;
    bodyLines++;
  }
  if (label !== undefined) {
    throw new PkiError("BAD_CERTIFICATE", `PEM block "${label}" has no END line`);
  }
  return blocks;
}

/**
 * Decodes the CERTIFICATE blocks of `text` (leaf first, as written) to DER. Blocks with
 * other labels are skipped. Throws `PkiError("BAD_CERTIFICATE")` on a malformed block;
 * returns an empty array when there is none.
 *
 * @example
 * ```ts
 * import { decodePemCertificates, encodePemCertificate } from "./pem.ts";
 * const pem = encodePemCertificate(new Uint8Array([0x30, 0x00]));
 * console.log(decodePemCertificates(pem)); // [Uint8Array [0x30, 0x00]]
 * ```
 */
export function decodePemCertificates(text: string): Uint8Array[] {
  return decodePemBlocks(text).filter((b) => b.label === "CERTIFICATE").map((b) => b.der);
}

/**
 * Encodes `der` as one PEM block with `label`, 64 base64 characters a line, ending in LF.
 *
 * @example
 * ```ts
 * import { encodePem } from "./pem.ts";
 * console.log(encodePem("X509 CRL", new Uint8Array([1, 2, 3])));
 * // -----BEGIN X509 CRL-----\nAQID\n-----END X509 CRL-----\n
 * ```
 */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = encodeBase64(der);
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + "\n";
  return out + `-----END ${label}-----\n`;
}

/**
 * Encodes one certificate (DER) as a PEM CERTIFICATE block, 64 columns, ending in LF.
 *
 * @example
 * ```ts
 * import { encodePemCertificate } from "./pem.ts";
 * console.log(encodePemCertificate(new Uint8Array([0x30, 0x00])));
 * // -----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n
 * ```
 */
export function encodePemCertificate(der: Uint8Array): string {
  return encodePem("CERTIFICATE", der);
}
