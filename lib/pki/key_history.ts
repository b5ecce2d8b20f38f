// Earlier private keys of a user (ASL spec section 7, "Receiving" step 6: "a client that
// replaced its own certificate keeps its earlier private keys and tries them too"). When a
// user key is replaced (`certs user ID --force`), the old one is kept beside it as
// `<key>.1`, `<key>.2`, … (the highest number is the most recent; mode 0600), and the
// client loads them to unwrap envelopes sealed to its earlier certificates.

import { decodePrivateKeyPem } from "./credentials.ts";
import { existsSync } from "../fs.ts";
import { PkiInputError } from "./errors.ts";

/** Most earlier keys looked for (`<key>.1` to `<key>.99`). */
export const MAX_KEY_HISTORY = 99;

/**
 * Before `keyPath` is overwritten: copies the key there (if any) to the next free
 * `<keyPath>.N` (N from 1), mode 0600, and returns that path (undefined when there was no
 * key). The key file itself is left for the caller to replace.
 *
 * @example
 * ```ts
 * import { keepPreviousKey } from "./key_history.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/bob.key`, "old key");
 * console.log(keepPreviousKey(`${dir}/bob.key`)?.endsWith("bob.key.1")); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function keepPreviousKey(keyPath: string): string | undefined {
  if (!existsSync(keyPath)) return undefined;
  for (let n = 1; n <= MAX_KEY_HISTORY; n++) {
    const kept = `${keyPath}.${n}`;
    if (existsSync(kept)) continue;
    try {
      Deno.writeFileSync(kept, Deno.readFileSync(keyPath), { mode: 0o600, createNew: true });
      if (Deno.build.os !== "windows") Deno.chmodSync(kept, 0o600);
    } catch (err) {
      throw new PkiInputError(
        `cannot keep the previous key as ${kept}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return kept;
  }
  throw new PkiInputError(`${keyPath} has ${MAX_KEY_HISTORY} earlier keys already; move some away`);
}

/** The paths of the earlier keys kept beside `keyPath`, most recent first. */
export function earlierKeyPaths(keyPath: string): string[] {
  const out: string[] = [];
  for (let n = 1; n <= MAX_KEY_HISTORY; n++) {
    const path = `${keyPath}.${n}`;
    if (!existsSync(path)) break;
    out.push(path);
  }
  return out.reverse();
}

/**
 * The earlier private keys kept beside `keyPath` (`<keyPath>.N`), most recent first,
 * imported for RSA-OAEP with SHA-256 (usage `decrypt`, non-extractable): what a client
 * tries after its current key when unwrapping a sealed payload. Throws `PkiInputError`
 * naming the file that is not a PKCS#8 RSA key.
 *
 * @example
 * ```ts
 * import { loadEarlierKeys } from "./key_history.ts";
 * const dir = await Deno.makeTempDir();
 * console.log((await loadEarlierKeys(`${dir}/bob.key`)).length); // 0
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadEarlierKeys(keyPath: string): Promise<CryptoKey[]> {
  const keys: CryptoKey[] = [];
  for (const path of earlierKeyPaths(keyPath)) {
    try {
      const der = decodePrivateKeyPem(await Deno.readTextFile(path));
      keys.push(
        await crypto.subtle.importKey(
          "pkcs8",
          new Uint8Array(der),
          { name: "RSA-OAEP", hash: "SHA-256" },
          false,
          ["decrypt"],
        ),
      );
    } catch (err) {
      throw new PkiInputError(`${path} is not a usable earlier key: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return keys;
}
