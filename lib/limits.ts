// Constants shared by more than one layer (lib/asl, lib/pki, lib/server, lib/client), kept
// here so that each layer can import them without importing another layer: the default
// port (README, `server.ts --help`) and the chain length bound of ASL spec section 2.

/** The default server port of client and server. */
export const DEFAULT_PORT = 4287;

/** Most certificates a chain may hold, own or peer's (ASL spec section 2: 1 to 5 are sent). */
export const MAX_CHAIN_LENGTH = 5;
