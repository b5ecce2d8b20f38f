// Terminal I/O for the chat: a pure line editor (bytes in, edits and submitted lines out)
// and two front ends: a raw-mode TTY that prints incoming lines above the line being
// typed (clear line, print, redraw prompt and buffer), and a plain one for pipes.

/** What a chunk of keyboard input did. */
export type EditorEvent =
  | { readonly type: "line"; readonly text: string }
  | { readonly type: "interrupt" }
  | { readonly type: "eof" };

const ESC = "\x1b";

/** Line editing over raw key bytes: printable text, Backspace, Ctrl-U, Enter, Ctrl-C, Ctrl-D. */
export class LineEditor {
  #buffer = "";
  #decoder = new TextDecoder();
  #escape: "none" | "esc" | "csi" = "none";
  /** Longest line kept; further characters are dropped. */
  readonly maxLength: number;

  constructor(maxLength = 16_384) {
    this.maxLength = maxLength;
  }

  /** The text typed so far. */
  get buffer(): string {
    return this.#buffer;
  }

  /** Applies raw input bytes; returns the lines submitted and any interrupt or end. */
  feed(bytes: Uint8Array): EditorEvent[] {
    const events: EditorEvent[] = [];
    for (const ch of this.#decoder.decode(bytes, { stream: true })) {
      if (this.#escape === "esc") {
        this.#escape = ch === "[" || ch === "O" ? "csi" : "none";
        continue;
      }
      if (this.#escape === "csi") {
        if (ch >= "@" && ch <= "~") this.#escape = "none";
        continue;
      }
      switch (ch) {
        case ESC:
          this.#escape = "esc";
          break;
        case "\r":
        case "\n":
          events.push({ type: "line", text: this.#buffer });
          this.#buffer = "";
          break;
        case "\x7f":
        case "\b": {
          const chars = [...this.#buffer];
          chars.pop();
          this.#buffer = chars.join("");
          break;
        }
        case "\x15": // Ctrl-U
          this.#buffer = "";
          break;
        case "\x03": // Ctrl-C
          events.push({ type: "interrupt" });
          break;
        case "\x04": // Ctrl-D
          if (this.#buffer === "") events.push({ type: "eof" });
          break;
        default:
          if (ch >= " " && ch !== "\x7f" && !(ch >= "\x80" && ch <= "\x9f")) {
            if (this.#buffer.length + ch.length <= this.maxLength) this.#buffer += ch;
          }
      }
    }
    return events;
  }
}

/** The bytes that redraw the input line: carriage return, clear line, prompt, buffer. */
export function renderInputLine(prompt: string, buffer: string): string {
  return `\r${ESC}[2K${prompt}${buffer}`;
}

/** The bytes that print `text` above the input line and redraw it after. */
export function renderAbove(text: string, prompt: string, buffer: string): string {
  return `\r${ESC}[2K${text.split("\n").join("\r\n")}\r\n${prompt}${buffer}`;
}

/** The chat's view of a terminal. */
export interface ChatUI {
  /** Typed lines, until the user ends input (Ctrl-D, Ctrl-C, end of stdin). */
  lines(): AsyncIterable<string>;
  /** Prints a (possibly multi-line) text without breaking the line being typed. */
  print(text: string): void;
  /** Sets and shows the prompt. */
  setPrompt(prompt: string): void;
  /** Restores the terminal. */
  close(): void;
}

const encoder = new TextEncoder();

/** A raw-mode terminal front end (stdin must be a TTY). */
export class TerminalUI implements ChatUI {
  readonly #stdin: typeof Deno.stdin;
  readonly #stdout: { writeSync(p: Uint8Array): number };
  readonly #editor = new LineEditor();
  #prompt = "> ";
  #raw = false;

  constructor(
    stdin: typeof Deno.stdin = Deno.stdin,
    stdout: { writeSync(p: Uint8Array): number } = Deno.stdout,
  ) {
    this.#stdin = stdin;
    this.#stdout = stdout;
  }

  async *lines(): AsyncIterable<string> {
    this.#stdin.setRaw(true);
    this.#raw = true;
    this.#write(renderInputLine(this.#prompt, this.#editor.buffer));
    const buf = new Uint8Array(4096);
    try {
      while (true) {
        const n = await this.#stdin.read(buf);
        if (n === null) return;
        for (const event of this.#editor.feed(buf.subarray(0, n))) {
          if (event.type !== "line") return;
          this.#write(`\r${ESC}[2K`);
          yield event.text;
          this.#write(renderInputLine(this.#prompt, this.#editor.buffer));
        }
        this.#write(renderInputLine(this.#prompt, this.#editor.buffer));
      }
    } finally {
      this.close();
    }
  }

  print(text: string): void {
    this.#write(renderAbove(text, this.#prompt, this.#editor.buffer));
  }

  setPrompt(prompt: string): void {
    this.#prompt = prompt;
    this.#write(renderInputLine(this.#prompt, this.#editor.buffer));
  }

  close(): void {
    if (!this.#raw) return;
    this.#raw = false;
    this.#write(`\r${ESC}[2K`);
    try {
      this.#stdin.setRaw(false);
    } catch {
      // the terminal is gone
    }
  }

  #write(text: string): void {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) off += this.#stdout.writeSync(bytes.subarray(off));
  }
}

/** A line-based front end for pipes and scripts: no prompt, no redrawing. */
export class PlainUI implements ChatUI {
  readonly #input: ReadableStream<Uint8Array>;
  readonly #write: (text: string) => void;

  constructor(
    input: ReadableStream<Uint8Array> = Deno.stdin.readable,
    write: (text: string) => void = (text) => {
      const bytes = encoder.encode(text);
      let off = 0;
      while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
    },
  ) {
    this.#input = input;
    this.#write = write;
  }

  async *lines(): AsyncIterable<string> {
    let pending = "";
    for await (const chunk of this.#input.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        yield pending.slice(0, nl).replace(/\r$/, "");
        pending = pending.slice(nl + 1);
      }
      if (pending.length > 65_536) pending = pending.slice(0, 65_536);
    }
    if (pending !== "") yield pending;
  }

  print(text: string): void {
    this.#write(text + "\n");
  }

  setPrompt(): void {}

  close(): void {}
}
