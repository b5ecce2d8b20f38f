// Terminal output of the tools (load, fuzz, compile): text and whole lines to stdout/stderr,
// and the load tool's progress line that redraws in place on a terminal. The lint config
// forbids `console`.

const encoder = new TextEncoder();

/** Writes text to stdout. */
export function writeOut(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

/** Writes text to stderr. */
export function writeErr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** Writes one line to stdout. */
export function outLine(line: string): void {
  writeOut(line + "\n");
}

/** Writes one line to stderr. */
export function errLine(line: string): void {
  writeErr(line + "\n");
}

/** A single status line on stderr, redrawn in place on a terminal and throttled otherwise. */
export class Progress {
  readonly #tty = Deno.stderr.isTerminal();
  #last = 0;
  #shown = false;

  /** Shows `text` as the current status. */
  update(text: string): void {
    const now = Date.now();
    if (this.#tty) {
      writeErr(`\r\x1b[2K${text.slice(0, 160)}`);
      this.#shown = true;
    } else if (now - this.#last >= 2000) {
      writeErr(`${text}\n`);
      this.#last = now;
    }
  }

  /** Ends the status line and prints `text` as a permanent line. */
  done(text: string): void {
    if (this.#tty && this.#shown) writeErr("\r\x1b[2K");
    this.#shown = false;
    this.#last = 0;
    writeErr(`${text}\n`);
  }
}
