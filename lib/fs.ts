// The one file-existence check of the project (PKI file layer, server startup, client CLI).

/**
 * Whether anything (a file, a directory, a symbolic link, even a dangling one) is at
 * `path`. False only when nothing is; any other failure (no permission to look) is thrown
 * as Deno raised it, for the caller to report in its own terms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exists } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await exists(dir), true);
 * assert.equal(await exists(`${dir}/missing`), false);
 * await Deno.remove(dir);
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * `exists` for synchronous callers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync } from "./fs.ts";
 * assert.equal(existsSync("/no/such/path/here"), false);
 * ```
 */
export function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
