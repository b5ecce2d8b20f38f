// Where the client keeps its state (docs/CLIENT.md, "State directory"): the user's state
// directory, `$XDG_STATE_HOME/netsec-msg`, else `~/.local/state/netsec-msg`, unless
// `--state-dir` (or the library's `stateDir`) says otherwise. Pure: the environment is
// passed in, so the rule is tested without touching the real home.

/** The directory name under the XDG state home. */
export const STATE_APP_DIR = "netsec-msg";

/** Reads one environment variable; `Deno.env.get` fits. */
export type EnvLookup = (name: string) => string | undefined;

/**
 * The client's state directory: `explicit` when given (`--state-dir`), else
 * `$XDG_STATE_HOME/netsec-msg` when XDG_STATE_HOME is an absolute path (the XDG Base
 * Directory rule: a relative one is ignored), else `$HOME/.local/state/netsec-msg`.
 * Returns `undefined` when none applies (no HOME either).
 *
 * @example
 * ```ts
 * import { resolveStateDir } from "./state.ts";
 * const env = (name: string) => ({ HOME: "/home/alice" } as Record<string, string>)[name];
 * console.log(resolveStateDir(undefined, env)); // "/home/alice/.local/state/netsec-msg"
 * ```
 */
export function resolveStateDir(explicit: string | undefined, env: EnvLookup): string | undefined {
  if (explicit !== undefined && explicit !== "") return explicit;
  const xdg = env("XDG_STATE_HOME");
  if (xdg !== undefined && xdg.startsWith("/")) return `${trimSlash(xdg)}/${STATE_APP_DIR}`;
  const home = env("HOME");
  if (home !== undefined && home.startsWith("/")) {
    return `${trimSlash(home)}/.local/state/${STATE_APP_DIR}`;
  }
  return undefined;
}

/** The process environment as an {@link EnvLookup}; a denied variable reads as unset. */
export function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, "");
}
