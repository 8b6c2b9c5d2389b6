/**
 * Cross-origin access for the holder web wallet (docs/WEB.md): the PWA runs on its own origin and calls the
 * issuer's OpenID4VCI endpoints and the verifier's OpenID4VP endpoints from the browser. Only the wallet-facing
 * paths answer cross-origin, and only to origins on the allow-list: the wallet service of the same `serve` (known
 * once it listens, hence read per request) plus the configured `walletOrigins` (top-level configuration key, or
 * `MCID_WALLET_ORIGINS='["https://wallet.example.go.kr"]'`). Staff and terminal endpoints never do. No cookies are
 * involved (`Access-Control-Allow-Credentials` is never sent): the wallet authenticates with bearer tokens and
 * proofs, so a page on another origin gains nothing it could not do from a server.
 */
import { z } from "zod";
import { CivilIdError } from "../../sdk/errors.js";
import type { ServiceApp } from "./app.js";
import type { ServiceLinks } from "./registry.js";

export interface CorsOptions {
  /** The allowed origins (`scheme://host[:port]`), read at each request. */
  readonly origins: () => readonly string[];
  /** The paths that answer cross-origin requests (matched against the path without its query string). */
  readonly paths: readonly RegExp[];
}

const PREFLIGHT_MAX_AGE_SECONDS = 600;
const ALLOWED_HEADERS = "authorization, content-type";

/** An origin as browsers send it: scheme, host and port only (refuses paths, queries, user info). */
export const originSchema = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
    } catch {
      return false;
    }
  }, "an origin: scheme://host[:port], no path or trailing slash");

/**
 * The wallet origins of a `serve`: the configured `walletOrigins` (validated) plus the origin of the `wallet`
 * service when it runs in the same process. Throws INVALID_INPUT naming a bad entry at start, not per request.
 */
export function walletOrigins(config: Readonly<Record<string, unknown>>, links: ServiceLinks): () => readonly string[] {
  const parsed = z.array(originSchema).default([]).safeParse(config.walletOrigins);
  if (!parsed.success) {
    throw new CivilIdError("INVALID_INPUT", `walletOrigins must be a list of origins (https://wallet.example.go.kr): ${parsed.error.issues[0]?.message ?? "invalid"}.`);
  }
  const configured = parsed.data;
  return () => {
    try {
      return [...configured, ...loopbackAliases(new URL(links.baseUrl("wallet")).origin)];
    } catch {
      return configured; // no wallet service in this serve (or not listening yet): the configured origins only
    }
  };
}

/**
 * An origin and, for a loopback address, its `localhost` spelling: browsers refuse WebAuthn on IP-address origins,
 * so a development wallet is opened as http://localhost:<port> while its service listens on 127.0.0.1.
 */
export function loopbackAliases(origin: string): string[] {
  const url = new URL(origin);
  if (url.hostname !== "127.0.0.1" && url.hostname !== "[::1]") return [origin];
  return [origin, `${url.protocol}//localhost${url.port === "" ? "" : `:${url.port}`}`];
}

/**
 * Adds CORS to `paths`: the actual responses (success and error bodies alike, so the wallet can show the refusal)
 * carry `Access-Control-Allow-Origin` for an allowed `Origin`, and `OPTIONS` preflights of those paths answer 204.
 */
export function registerCors(app: ServiceApp, options: CorsOptions): void {
  const applies = (url: string) => {
    const path = url.split("?")[0] ?? url;
    return options.paths.some((pattern) => pattern.test(path));
  };
  app.addHook("onRequest", async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !applies(request.url)) return;
    void reply.header("vary", "Origin");
    if (!options.origins().includes(origin)) return;
    void reply.header("access-control-allow-origin", origin);
    if (request.method === "OPTIONS") {
      void reply.headers({
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
      });
    }
  });
  app.options("/*", { schema: { hide: true } }, async (request, reply) => {
    if (!applies(request.url)) return reply.code(404).send({ error: "not_found", error_description: "No such resource." });
    // Allowed or not, the preflight itself has no body; the browser refuses unless the hook set the origin.
    return reply.code(204).send();
  });
}

/** The wallet-facing paths of the issuer (OpenID4VCI 1.0 and the identity re-check). */
export const ISSUER_WALLET_PATHS: readonly RegExp[] = [
  /^\/\.well-known\/(openid-credential-issuer|oauth-authorization-server)$/,
  /^\/credential-offer(\/identity(\/verify)?)?$/,
  /^\/(token|nonce|credential|deferred-credential|notification)$/,
];

/** The wallet-facing paths of a verifier (OpenID4VP 1.0: the request object and the direct_post response). */
export const VERIFIER_WALLET_PATHS: readonly RegExp[] = [/^\/presentations\/[A-Za-z0-9_-]{1,64}\/request$/, /^\/openid4vp\/response$/];
