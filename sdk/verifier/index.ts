export * from "./challenges.js";
export * from "./policies.js";
export * from "./verifier.js";
export * from "./challenge-store.js";
export { IssuerKeyCache } from "./issuer-keys.js";
