// The terminal chat's logic as a pure state machine, apart from any terminal I/O: an input
// line becomes actions (send, print, quit); incoming messages, send results and lifecycle
// events become lines to print. Payload limits are those of ASL spec section 5.

import type { ClientEvent, ClientInfo, WhoisResult } from "../../lib/client/types.ts";
import { encodePayload, isUserId, parseRecipients } from "../../lib/client/commands.ts";
import { ClientError } from "../../lib/client/errors.ts";
import { explainConnectError, explainLookupError, explainReason } from "./explain.ts";

/** What the terminal driver must do. */
export type ChatAction =
  | { readonly type: "print"; readonly text: string }
  | {
    readonly type: "send";
    /** Local number of this message, quoted back in {@link Chat.sent}. */
    readonly ref: number;
    readonly to: readonly string[];
    readonly text: string;
  }
  /** Look up and check a user's certificate (`CERT`), then report to {@link Chat.whois}. */
  | { readonly type: "whois"; readonly user: string }
  /**
   * `/trust USERID` (`confirmed` false: look up and show both fingerprints, report to
   * {@link Chat.trustPreview}) and `/trust USERID yes` (accept; report to {@link Chat.trusted}).
   */
  | { readonly type: "trust"; readonly user: string; readonly confirmed: boolean }
  /** `/reject USERID`: reject the user's current certificate; report to {@link Chat.trusted}. */
  | { readonly type: "reject"; readonly user: string }
  /** `/fingerprint`: own certificate's fingerprints; report to {@link Chat.fingerprint}. */
  | { readonly type: "fingerprint" }
  | { readonly type: "quit" };

/** How a send ended, as reported to {@link Chat.sent}. */
export type SendOutcome =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly code: string };

/** How a `/whois` lookup ended, as reported to {@link Chat.whois}. */
export type WhoisOutcome =
  | {
    readonly ok: true;
    readonly identity: string;
    readonly fingerprint: string;
    /** The section 7 fingerprint and pin status, when known. */
    readonly e2e?: WhoisResult;
  }
  | { readonly ok: false; readonly code: string };

/** How `/trust` or `/reject` ended. */
export type TrustOutcome =
  | { readonly ok: true; readonly result: WhoisResult }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** What `🔒` and `[NOT SEALED]` say, for the help text. */
export const SEALED_MARK = "🔒";
/** The mark of a plain (unsealed) message. */
export const PLAIN_MARK = "[NOT SEALED]";

/** Options of {@link Chat}. */
export interface ChatOptions {
  /** Own USERID (for the prompt). */
  readonly user: string;
  /** Clock for outgoing lines; default `() => new Date()`. */
  readonly now?: () => Date;
}

/** The help text of the chat. */
export const CHAT_HELP = [
  "@bob hello        send 'hello' to bob",
  "@bob,carol hi     send 'hi' to the group bob and carol",
  "@bob              talk to bob from now on",
  "hello             send to the last recipient",
  "/who am i         your identity, the server, the suite and the fingerprints",
  "/whois bob        bob's certificate, checked against your CA: fingerprints, pin status",
  "/trust bob        show bob's old and new fingerprints; /trust bob yes accepts the new one",
  "/reject bob       refuse bob's current certificate (their messages are refused)",
  "/fingerprint      your own certificate's fingerprints, to compare out of band",
  "messages marked 🔒 are sealed end to end and verified; [NOT SEALED] ones are plain:",
  "                  the server could have written or changed them",
  "/help             this text",
  "/quit             leave (Ctrl-D and Ctrl-C too)",
].join("\n");

/** `[HH:MM]` in local time. */
export function clock(date: Date): string {
  const hh = String(date.getHours()).padStart(2, "0");
  const mm = String(date.getMinutes()).padStart(2, "0");
  return `[${hh}:${mm}]`;
}

/**
 * Makes text safe to print on a terminal: control characters (escape sequences, CR,
 * backspace…) become U+FFFD, so a message cannot rewrite the screen. Splits on LF.
 */
export function printableLines(text: string): string[] {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, "\uFFFD")
    .split("\n");
}

/** The chat state: last recipient, outgoing message numbers, session info. */
export class Chat {
  readonly #user: string;
  readonly #now: () => Date;
  #last: readonly string[] | undefined;
  #nextRef = 1;
  #pending = new Map<number, readonly string[]>();
  #info: ClientInfo | undefined;

  constructor(options: ChatOptions) {
    this.#user = options.user;
    this.#now = options.now ?? (() => new Date());
  }

  /** The prompt: `alice> `, or `alice → bob> ` once there is a recipient. */
  prompt(): string {
    return this.#last === undefined
      ? `${this.#user}> `
      : `${this.#user} → ${this.#last.join(",")}> `;
  }

  /** The recipients plain lines go to, if any. */
  get lastRecipients(): readonly string[] | undefined {
    return this.#last;
  }

  /** Numbers of messages sent and not yet answered. */
  get pendingRefs(): number[] {
    return [...this.#pending.keys()];
  }

  /** Records what `/who am i` shows. */
  setInfo(info: ClientInfo): void {
    this.#info = info;
  }

  /** Interprets one typed line. */
  input(raw: string): ChatAction[] {
    const line = raw.trim();
    if (line === "") return [];
    if (line.startsWith("/")) return this.#command(line);
    let to = this.#last;
    let text = raw.trimEnd().replace(/^\s+/, "");
    if (line.startsWith("@")) {
      const match = /^@(\S+)(?:\s+([\s\S]*))?$/.exec(line);
      const spec = match?.[1] ?? "";
      try {
        to = parseRecipients(spec);
      } catch (err) {
        return [this.#print(`! ${(err as Error).message}`)];
      }
      this.#last = to;
      text = match?.[2] ?? "";
      if (text === "") return [this.#print(`* talking to ${to.join(", ")} now`)];
    }
    if (to === undefined) {
      return [this.#print("! no recipient yet: start with @user (for example: @bob hello)")];
    }
    try {
      encodePayload(text);
    } catch (err) {
      const code = err instanceof ClientError ? err.code : "ERROR";
      return [this.#print(`! not sent: ${code}: ${(err as Error).message}`)];
    }
    const ref = this.#nextRef++;
    this.#pending.set(ref, to);
    const [first = "", ...rest] = printableLines(text);
    const actions: ChatAction[] = [
      this.#print(`${clock(this.#now())} ${this.#user} → ${to.join(",")}: ${first}  (#${ref})`),
    ];
    for (const more of rest) actions.push(this.#print(`        ${more}`));
    actions.push({ type: "send", ref, to, text });
    return actions;
  }

  /** An incoming message to show, as `[HH:MM] 🔒 bob: hello` (or `[NOT SEALED] bob: …`). */
  incoming(
    message: { from: string; text: string; receivedAt: Date; sealed?: boolean },
  ): ChatAction[] {
    const [first = "", ...rest] = printableLines(message.text);
    const mark = message.sealed ? SEALED_MARK : PLAIN_MARK;
    return [
      this.#print(`${clock(message.receivedAt)} ${mark} ${message.from}: ${first}`),
      ...rest.map((more) => this.#print(`        ${more}`)),
    ];
  }

  /** The fate of message `ref`: delivered to the server, or why not. */
  sent(ref: number, outcome: SendOutcome): ChatAction[] {
    const to = this.#pending.get(ref);
    this.#pending.delete(ref);
    const who = to === undefined ? "" : ` to ${to.join(",")}`;
    if (outcome.ok) return [this.#print(`  #${ref}${who} delivered to the server`)];
    return [this.#print(`  #${ref}${who} FAILED: ${explainReason(outcome.code)}`)];
  }

  /** The result of `/whois user`: the checked identity and fingerprint, or why not. */
  whois(user: string, outcome: WhoisOutcome): ChatAction[] {
    if (outcome.ok) {
      const lines = [`* ${outcome.identity}: certificate valid, SHA-256 ${outcome.fingerprint}`];
      if (outcome.e2e) {
        lines.push(
          `  fingerprint  ${outcome.e2e.fingerprint}`,
          `  pin          ${pinText(outcome.e2e)}`,
        );
      }
      return [this.#print(lines.join("\n"))];
    }
    return [this.#print(`! whois ${user}: ${explainLookupError({ code: outcome.code }, user)}`)];
  }

  /** `/trust USERID` without `yes`: both fingerprints, and how to accept. */
  trustPreview(user: string, outcome: TrustOutcome): ChatAction[] {
    if (!outcome.ok) return [this.#print(`! trust ${user}: ${outcome.code}: ${outcome.message}`)];
    const w = outcome.result;
    if (w.pin === "accepted") {
      return [this.#print(`* ${user}'s certificate ${w.fingerprint} is already accepted`)];
    }
    return [
      this.#print(
        [
          `* ${user}'s certificate is ${pinText(w)}`,
          `  accepted before  ${w.accepted.length ? w.accepted.join(", ") : "(none)"}`,
          `  now              ${w.fingerprint}`,
          `  compare it with ${user} (their /fingerprint), then type: /trust ${user} yes`,
        ].join("\n"),
      ),
    ];
  }

  /** The result of `/trust USERID yes` or `/reject USERID`. */
  trusted(user: string, outcome: TrustOutcome): ChatAction[] {
    if (!outcome.ok) return [this.#print(`! ${user}: ${outcome.code}: ${outcome.message}`)];
    const w = outcome.result;
    if (w.pin === "rejected") {
      return [this.#print(`* rejected ${user}'s certificate ${w.fingerprint}`)];
    }
    const before = w.previous.filter((fp) => fp !== w.fingerprint);
    return [
      this.#print(
        `* accepted ${user}'s certificate ${w.fingerprint}` +
          (before.length ? ` (accepted before: ${before.join(", ")})` : ""),
      ),
    ];
  }

  /** The result of `/fingerprint`. */
  fingerprint(own: { base64: string; hex: string }): ChatAction[] {
    return [
      this.#print(
        `* your certificate: ${own.base64}\n  SHA-256 ${own.hex}\n` +
          "  others see this in /whois; compare it out of band",
      ),
    ];
  }

  /** A lifecycle event of the client, as a status line (or nothing). */
  event(event: ClientEvent): ChatAction[] {
    switch (event.type) {
      case "connecting":
        return event.attempt === 0
          ? [this.#print(`* connecting to ${event.hostname}:${event.port}…`)]
          : [];
      case "handshake":
        return [this.#print(`* secure channel up (${event.suite}, server ${event.server})`)];
      case "ready":
        return [
          this.#print(
            `* registered as ${event.user}` +
              (event.resent > 0 ? `; resending ${event.resent} unanswered message(s)` : "") +
              " — /help for help",
          ),
        ];
      case "reconnecting":
        return [
          this.#print(
            `* connection lost${
              event.error ? ` (${explainConnectError(event.error)})` : ""
            }; reconnecting in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt})`,
          ),
        ];
      case "closed":
        return event.reason === "error"
          ? [this.#print(`* disconnected: ${explainConnectError(event.error)}`)]
          : [];
      case "bad_seal":
        return [
          this.#print(
            `! WARNING: a sealed message from ${event.from} was refused and not shown ` +
              `(BAD_SEAL, ${event.reason}: ${event.message}); it was changed, forged or ` +
              `misdirected on the way`,
          ),
        ];
      case "pin_pending":
        return [
          this.#print(
            `! ${event.userId}'s certificate CHANGED: accepted ${
              event.accepted.join(", ") || "(none)"
            }, now ${event.fingerprint}. Their messages are held and nothing is sealed to ` +
              `them until you compare it with ${event.userId} out of band: /trust ${event.userId}`,
          ),
        ];
      case "held":
        return [
          this.#print(
            `* a sealed message from ${event.from} waits: its certificate cannot be fetched now`,
          ),
        ];
      case "not_sealed":
        return [
          this.#print(`! refused a message from ${event.from} that was not sealed (--sealed-only)`),
        ];
    }
  }

  #command(line: string): ChatAction[] {
    const whois = /^\/whois(?:\s+(.*))?$/i.exec(line);
    if (whois) {
      const args = (whois[1] ?? "").trim().split(/\s+/).filter((w) => w !== "");
      const user = args[0];
      if (user === undefined || args.length > 1) return [this.#print("! usage: /whois USERID")];
      if (!isUserId(user)) {
        return [
          this.#print(`! ${JSON.stringify(user)} is not a user id (1 to 111 letters and digits)`),
        ];
      }
      return [{ type: "whois", user }];
    }
    const trust = /^\/(trust|reject)(?:\s+(.*))?$/i.exec(line);
    if (trust) {
      const verb = trust[1]!.toLowerCase();
      const args = (trust[2] ?? "").trim().split(/\s+/).filter((w) => w !== "");
      const [user, yes] = args;
      const usage = verb === "trust" ? "/trust USERID [yes]" : "/reject USERID";
      if (
        user === undefined || args.length > 2 ||
        (yes !== undefined && (verb === "reject" || yes.toLowerCase() !== "yes"))
      ) return [this.#print(`! usage: ${usage}`)];
      if (!isUserId(user)) {
        return [
          this.#print(`! ${JSON.stringify(user)} is not a user id (1 to 111 letters and digits)`),
        ];
      }
      return verb === "trust"
        ? [{ type: "trust", user, confirmed: yes !== undefined }]
        : [{ type: "reject", user }];
    }
    const words = line.slice(1).trim().toLowerCase().split(/\s+/).join(" ");
    switch (words) {
      case "help":
      case "?":
        return [this.#print(CHAT_HELP)];
      case "quit":
      case "exit":
      case "q":
        return [{ type: "quit" }];
      case "fingerprint":
        return [{ type: "fingerprint" }];
      case "who am i":
      case "whoami": {
        const info = this.#info;
        if (info === undefined) return [this.#print(`you are ${this.#user} (not connected)`)];
        return [
          this.#print(
            [
              `you are ${info.user}`,
              `server       ${info.server} (${info.serverIdentity ?? "?"})`,
              `suite        ${info.suite ?? "?"}`,
              `your cert    SHA-256 ${info.fingerprint}`,
              `server cert  SHA-256 ${info.serverFingerprint ?? "?"}`,
            ].join("\n"),
          ),
        ];
      }
      default:
        return [this.#print(`! unknown command ${line.split(/\s/)[0]}: /help lists them`)];
    }
  }

  #print(text: string): ChatAction {
    return { type: "print", text };
  }
}

function pinText(w: WhoisResult): string {
  switch (w.pin) {
    case "accepted":
      return "accepted (pinned)";
    case "new":
      return "new (not pinned yet: accepted on first use)";
    case "pending":
      return `CHANGED: accepted ${w.accepted.join(", ")}; /trust ${w.userId} after comparing`;
    case "rejected":
      return "rejected";
  }
}
