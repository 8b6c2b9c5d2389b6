/**
 * The credential format moved to the shared floor (sdk/credential/): issuer, wallet and verifier read and build it
 * through one module. Re-exported here so the issuer's workflow keeps its import path; new code imports
 * `../credential/index.js`.
 */
export * from "../credential/index.js";
