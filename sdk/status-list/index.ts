export * from "./errors.js";
export * from "./bits.js";
export * from "./ledger-state.js";
export * from "./token.js";
export * from "./bundle.js";
export * from "./snapshot.js";
export * from "./offline-view.js";
export { coSign, validCoSigners, type DetachedSignature } from "./jws.js";
