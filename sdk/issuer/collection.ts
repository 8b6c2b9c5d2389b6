/** Moved to the protocol layer (sdk/protocol/collection.ts); re-exported so the workflow keeps its import path. */
export * from "../protocol/collection.js";
