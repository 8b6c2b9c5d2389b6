/** What the parties exchange: activation and collection proofs, presentations, document signatures. */
export * from "./activation.js";
export * from "./collection.js";
export * from "./presentation.js";
export * from "./document-signature.js";
export * from "./signers.js";
