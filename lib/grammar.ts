// The session grammar of ASL spec section 5, shared by the server's parser, the client's
// codec and the certificate layer (a client's CN must be a USERID): identifier shapes,
// payload and group limits, and the REASON codes.

/** Shortest PAYLOAD in base64 characters. */
export const MIN_PAYLOAD_CHARS = 4;
/** Longest PAYLOAD in base64 characters. */
export const MAX_PAYLOAD_CHARS = 11_111;
/** Most members of a GROUP. */
export const MAX_RECIPIENTS = 100;

const USERID = /^[A-Za-z0-9]{1,111}$/;
const MESSAGEID = /^[A-Za-z0-9_-]{1,64}$/;

/** True when `text` is a USERID: 1 to 111 ASCII letters and digits. */
export function isUserId(text: string): boolean {
  return USERID.test(text);
}

/** True when `text` is a MESSAGEID: 1 to 64 characters of `A-Za-z0-9-_`. */
export function isMessageId(text: string): boolean {
  return MESSAGEID.test(text);
}

/** Every REASON code of section 5, as carried by `FAILED <id> <REASON>`. */
export type Reason =
  | "MALFORMED"
  | "NOT_REGISTERED"
  | "NOT_YOUR_ID"
  | "ALREADY_REGISTERED"
  | "UNKNOWN_USER"
  | "TOO_LARGE"
  | "TOO_MANY_RECIPIENTS"
  | "DUPLICATE_ID"
  | "QUEUE_FULL"
  | "RATE_LIMITED"
  | "NO_CERTIFICATE"
  | "INTERNAL";
