// The sealed relay phase of the load tool (issue 16, `--sealed`): the relay workload with
// every payload sealed end to end (ASL spec section 7) by its sender and opened by its
// recipient with lib/e2e's `seal` and `openPayload`, so the figure shows what sealing costs
// beside the plain relay. The throwaway users share one RSA key (context.ts), so each seal is
// one RSA-PSS signature and one RSA-OAEP encryption, each open one RSA-OAEP decryption and
// one RSA-PSS verification, as for real users. Certificates come from the user factory (as
// `CERT` would return them), validated once through a ValidationCache and then pinned.

import { seal } from "../../lib/e2e/seal.ts";
import { openPayload } from "../../lib/e2e/open.ts";
import { MemoryPinStore } from "../../lib/e2e/pins.ts";
import { MemoryReplayMemory } from "../../lib/e2e/replay.ts";
import { parseCertificate } from "../../lib/pki/certificate.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";
import { importLeafKeys, ValidationCache } from "../../lib/pki/validation_cache.ts";
import type { TestUsers } from "./context.ts";
import type { RelaySealer } from "./relay.ts";

/** A sealer for pairs `senders[i]` → `recipients[i]`, with certificates from `users`. */
export function makeSealer(
  users: TestUsers,
  trust: TrustStore,
  senders: readonly string[],
  recipients: readonly string[],
): RelaySealer {
  const cache = new ValidationCache({ limit: 4 * senders.length + 16 });
  const pins = new MemoryPinStore();
  const replay = new MemoryReplayMemory();
  const keyOf = new Map<string, Promise<CryptoKey>>();
  // One credentials promise per user: concurrent first calls to the factory would each
  // issue a certificate of their own.
  const credsOf = new Map<string, Promise<Credentials>>();
  const credentials = (userId: string) => {
    let creds = credsOf.get(userId);
    if (creds === undefined) {
      creds = users.credentials(userId);
      credsOf.set(userId, creds);
    }
    return creds;
  };
  const encryptKey = (userId: string) => {
    let key = keyOf.get(userId);
    if (key === undefined) {
      key = credentials(userId).then(async (c) =>
        (await importLeafKeys(parseCertificate(c.chain[0]!).spki)).encrypt
      );
      keyOf.set(userId, key);
    }
    return key;
  };
  return {
    async wrap(pair, plaintext) {
      const from = senders[pair]!;
      const to = recipients[pair]!;
      const creds = await credentials(from);
      const sealed = await seal({
        sender: { userId: from, leafDer: creds.chain[0]!, signKey: creds.signKey },
        recipients: [{ userId: to, key: await encryptKey(to) }],
        plaintext,
      });
      return sealed.payload;
    },
    async unwrap(pair, payload) {
      const to = recipients[pair]!;
      const creds = await credentials(to);
      const outcome = await openPayload(Uint8Array.fromBase64(payload), senders[pair]!, {
        userId: to,
        decryptKeys: [creds.decryptKey],
        now: Date.now,
        trust,
        validate: async (chain, t, opts) => (await cache.validate(chain, t, opts)).peer,
        certLookup: async (userId) => ({ chain: (await credentials(userId)).chain }),
        pins,
        replay,
      });
      return outcome.kind === "open" ? outcome.plaintext : undefined;
    },
  };
}
