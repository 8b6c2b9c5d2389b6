/** The shared HTTP floor of the services (issuer, verifier, login). */
export * from "./app.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./logging.js";
export * from "./registry.js";
export * from "./auth.js";
export * from "./jose.js";
