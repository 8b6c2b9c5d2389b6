/** Moved to the protocol layer (sdk/protocol/activation.ts); re-exported so the workflow keeps its import path. */
export * from "../protocol/activation.js";
