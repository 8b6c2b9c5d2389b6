/** Verifier authentication: the on-chain relying-party listing, DCQL per use, and the wallet's request check. */
export * from "./uses.js";
export * from "./registry.js";
export * from "./dcql.js";
export * from "./verifier-key.js";
export * from "./presentation-request.js";
