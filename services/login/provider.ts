/**
 * The OpenID Provider for government mail and business systems. Those systems speak OpenID Connect; the public
 * servant authenticates with the mobile ID: /authorize starts a same-device OpenID4VP presentation (the login
 * service's own listed verifier key, use "mail-login" or "business-system-login" per client), the wallet posts it
 * to this service's direct_post endpoint and sends the browser back with a response code, and the browser that
 * started the login (its cookie) exchanges it for an authorization code. The token endpoint (PKCE S256 always;
 * client_secret_basic/post for confidential clients) returns an ES256 ID token with only the claims the client is
 * registered for. Subjects are pairwise: sha256(client_id, agency code, employee reference). The userinfo endpoint
 * answers the same released claims to the bearer of the token endpoint's access token (RFC 6750), while it is valid.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { errorResponses, type ServiceApp } from "../common/app.js";
import { ServiceError } from "../common/errors.js";
import { signCompactJws, type JwsKey } from "../common/jose.js";
import { LOGIN_REQUESTER, type PresentationService } from "../verifier/presentations.js";
import { randomToken } from "../verifier/store.js";
import type { CivilServantClaims } from "../../sdk/credential/model.js";
import { POLICY_OF_USE } from "../../sdk/relying-party/presentation-request.js";
import type { LoginStore } from "./store.js";

/** OIDC claim names of the civil-servant ID's claims. */
export const OIDC_CLAIMS = {
  name: "name",
  agencyCode: "agency_code",
  organisation: "organisation",
  department: "department",
  position: "position",
  employeeRef: "employee_ref",
} as const satisfies Record<keyof CivilServantClaims, string>;
export type OidcClaim = (typeof OIDC_CLAIMS)[keyof typeof OIDC_CLAIMS];
const CLAIM_OF_OIDC = Object.fromEntries(Object.entries(OIDC_CLAIMS).map(([k, v]) => [v, k])) as Record<OidcClaim, keyof CivilServantClaims>;

export const clientSchema = z
  .object({
    clientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    /** SHA-256 hex of the client secret; absent for a public client (PKCE only). */
    secretHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    name: z.string().min(1).max(128),
    redirectUris: z.array(z.url({ protocol: /^https?$/ })).min(1),
    use: z.enum(["mail-login", "business-system-login"]),
    claims: z.array(z.enum(Object.values(OIDC_CLAIMS) as [OidcClaim, ...OidcClaim[]])).min(1),
    /** Business systems of one ministry: only these organisations log in. */
    allowedAgencyCodes: z.array(z.number().int()).optional(),
  })
  .strict();
export type RegisteredClient = z.output<typeof clientSchema>;

export function clientSecretHash(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export interface ProviderOptions {
  readonly issuer: () => string;
  readonly clients: readonly RegisteredClient[];
  readonly idTokenKey: JwsKey & { readonly kid: string };
  readonly presentations: PresentationService;
  readonly store: LoginStore;
  readonly loginTtlMs?: number;
  readonly now?: () => number;
}

const COOKIE = "mcid_login";
const CODE_TTL_MS = 60_000;
/** Lifetime of an access token (userinfo): as short as the ID token's. */
const ACCESS_TTL_S = 300;

const s256 = (verifier: string) => createHash("sha256").update(verifier, "ascii").digest("base64url");
const sha = (v: string) => createHash("sha256").update(v, "utf8").digest("hex");

function cookieOf(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, v] = part.trim().split("=");
    if (k === COOKIE && v !== undefined && /^[A-Za-z0-9_-]{43}$/.test(v)) return v;
  }
  return undefined;
}

/**
 * The client id and secret of an HTTP Basic header (RFC 6749 §2.3.1: each form-urlencoded, split at the first ":").
 * Undecodable input is a failed client authentication, never a server error.
 */
function basicCredentials(encoded: string): { id: string; pw: string | undefined } {
  const text = Buffer.from(encoded, "base64").toString("utf8");
  const colon = text.indexOf(":");
  const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, " "));
  try {
    return colon < 0 ? { id: decode(text), pw: undefined } : { id: decode(text.slice(0, colon)), pw: decode(text.slice(colon + 1)) };
  } catch {
    throw new ServiceError(401, "invalid_client", "The Basic credentials are not form-urlencoded client_id:client_secret.", { headers: { "www-authenticate": 'Basic realm="token"' } });
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function registerProviderRoutes(app: ServiceApp, options: ProviderOptions): void {
  const now = options.now ?? Date.now;
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  const loginTtl = options.loginTtlMs ?? 300_000;

  app.get("/.well-known/openid-configuration", { schema: { summary: "OpenID Provider metadata", tags: ["oidc"] } }, (_request, reply) => {
    const iss = options.issuer();
    return reply.header("cache-control", "public, max-age=300").send({
      issuer: iss,
      authorization_endpoint: `${iss}/authorize`,
      token_endpoint: `${iss}/token`,
      userinfo_endpoint: `${iss}/userinfo`,
      jwks_uri: `${iss}/jwks.json`,
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: [options.idTokenKey.alg],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["openid"],
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", ...Object.values(OIDC_CLAIMS)],
      authorization_response_iss_parameter_supported: true,
    });
  });

  app.get("/jwks.json", { schema: { summary: "ID token signing keys", tags: ["oidc"] } }, (_request, reply) =>
    reply.header("cache-control", "public, max-age=300").send({ keys: [{ ...options.idTokenKey.publicJwk, kid: options.idTokenKey.kid, alg: options.idTokenKey.alg, use: "sig" }] }));

  app.get("/authorize", {
    schema: {
      summary: "Authorization endpoint: starts a mobile-ID login (same-device OpenID4VP)",
      tags: ["oidc"],
      querystring: z.object({
        response_type: z.string(), client_id: z.string().max(64), redirect_uri: z.string().max(2048), scope: z.string().max(512),
        state: z.string().max(512).optional(), nonce: z.string().max(512).optional(),
        code_challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional(), code_challenge_method: z.string().optional(),
      }),
    },
  }, async (request, reply) => {
    const q = request.query;
    const client = clients.get(q.client_id);
    // Without a known client and an exactly registered redirect URI, never redirect (RFC 6749 §4.1.2.1).
    if (client === undefined) throw new ServiceError(400, "invalid_client", "Unknown client_id.");
    if (!client.redirectUris.includes(q.redirect_uri)) throw new ServiceError(400, "invalid_request", "redirect_uri is not registered for this client.");
    const back = (error: string, description: string) => {
      const url = new URL(q.redirect_uri);
      url.searchParams.set("error", error);
      url.searchParams.set("error_description", description);
      if (q.state !== undefined) url.searchParams.set("state", q.state);
      url.searchParams.set("iss", options.issuer());
      return reply.redirect(url.toString(), 303);
    };
    if (q.response_type !== "code") return back("unsupported_response_type", "Only the authorization code flow is supported.");
    if (!q.scope.split(" ").includes("openid")) return back("invalid_scope", "The scope must include openid.");
    if (q.code_challenge === undefined || q.code_challenge_method !== "S256") return back("invalid_request", "PKCE with S256 is required.");
    const id = randomToken();
    const browser = randomBytes(32).toString("base64url");
    const created = await options.presentations.create({ use: client.use, flow: "same-device", redirectUri: `${options.issuer()}/callback?login=${id}`, requester: LOGIN_REQUESTER });
    const t = now();
    options.store.create({
      id, browser_hash: sha(browser), client_id: client.clientId, redirect_uri: q.redirect_uri, state: q.state ?? null, nonce: q.nonce ?? null,
      code_challenge: q.code_challenge, presentation_id: created.id, created_at: t, expires_at: t + loginTtl,
    });
    const secure = options.issuer().startsWith("https://") ? "; Secure" : "";
    return reply
      .header("set-cookie", `${COOKIE}=${browser}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.ceil(loginTtl / 1000)}${secure}`)
      .header("cache-control", "no-store")
      .type("text/html; charset=utf-8")
      .send(`<!doctype html><html lang="ko"><meta charset="utf-8"><title>모바일 공무원증 로그인</title>
<h1>${escapeHtml(client.name)}: 모바일 공무원증으로 로그인</h1>
<p><a id="wallet" href="${escapeHtml(created.authorizationRequest)}">모바일 공무원증 앱 열기 (Open the mobile ID app)</a></p></html>`);
  });

  app.get("/callback", {
    schema: {
      summary: "Where the wallet returns the browser (response_code); issues the authorization code",
      tags: ["oidc"],
      querystring: z.object({ login: z.string().regex(/^[A-Za-z0-9_-]{22}$/), response_code: z.string().regex(/^[A-Za-z0-9_-]{22}$/) }),
    },
  }, async (request, reply) => {
    const login = options.store.get(request.query.login);
    if (login === undefined || now() > login.expires_at) throw new ServiceError(400, "invalid_request", "This login expired or is unknown; start again from the application.");
    // Session fixation: only the browser that started this login may complete it.
    const browser = cookieOf(request.headers.cookie);
    if (browser === undefined || !timingSafeEqual(Buffer.from(sha(browser)), Buffer.from(login.browser_hash))) {
      throw new ServiceError(403, "access_denied", "This login was started in another browser; start again from the application.");
    }
    // A login persisted before a restart may name a client the new configuration no longer registers.
    const client = clients.get(login.client_id);
    if (client === undefined) throw new ServiceError(400, "invalid_client", "The application that started this login is no longer registered here; start again from the application.");
    const back = new URL(login.redirect_uri);
    if (login.state !== null) back.searchParams.set("state", login.state);
    back.searchParams.set("iss", options.issuer());
    const outcome = await options.presentations.redeem(login.presentation_id, request.query.response_code, LOGIN_REQUESTER);
    const result = outcome.result;
    const agency = result?.organisation?.agencyCode;
    if (outcome.status !== "accepted" || result?.claims === undefined || agency === undefined ||
      (client.allowedAgencyCodes !== undefined && !client.allowedAgencyCodes.includes(agency))) {
      back.searchParams.set("error", "access_denied");
      back.searchParams.set("error_description", outcome.status !== "accepted" ? `The mobile ID was refused (${(result?.reasons ?? []).join(", ")}).` : "This organisation may not log in here.");
      return reply.redirect(back.toString(), 303);
    }
    const disclosed = POLICY_OF_USE[client.use].disclose;
    const claims: Record<string, unknown> = {
      sub: createHash("sha256").update(`${client.clientId}|${agency}|${String(result.claims.employeeRef ?? result.holder)}`).digest("base64url"),
    };
    for (const name of client.claims) {
      const source = CLAIM_OF_OIDC[name];
      if (disclosed.includes(source) && result.claims[source] !== undefined) claims[name] = result.claims[source];
    }
    const code = randomBytes(32).toString("base64url");
    if (!options.store.authenticate(login.id, claims, code, now() + CODE_TTL_MS)) throw new ServiceError(400, "invalid_request", "This login was already completed.");
    back.searchParams.set("code", code);
    return reply.header("cache-control", "no-store").redirect(back.toString(), 303);
  });

  app.post("/token", {
    schema: {
      summary: "Token endpoint (authorization_code + PKCE)",
      tags: ["oidc"],
      consumes: ["application/x-www-form-urlencoded"],
      body: z.object({
        grant_type: z.string(), code: z.string().max(128), redirect_uri: z.string().max(2048), code_verifier: z.string().min(43).max(128),
        client_id: z.string().max(64).optional(), client_secret: z.string().max(256).optional(),
      }),
      response: {
        200: z.object({ access_token: z.string(), token_type: z.literal("Bearer"), expires_in: z.number(), id_token: z.string(), scope: z.string() }),
        ...errorResponses(400, 401),
      },
    },
  }, async (request, reply) => {
    const body = request.body;
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(request.headers.authorization ?? "");
    let clientId = body.client_id;
    let secret = body.client_secret;
    if (basic !== null) {
      const { id, pw } = basicCredentials(basic[1]!);
      if (clientId !== undefined && clientId !== id) throw new ServiceError(400, "invalid_request", "Two different client ids.");
      clientId = id;
      secret = pw;
    }
    const client = clientId === undefined ? undefined : clients.get(clientId);
    if (client === undefined) throw new ServiceError(401, "invalid_client", "Unknown client.", { headers: { "www-authenticate": 'Basic realm="token"' } });
    if (client.secretHash !== undefined) {
      if (secret === undefined || !timingSafeEqual(Buffer.from(clientSecretHash(secret)), Buffer.from(client.secretHash))) {
        throw new ServiceError(401, "invalid_client", "Client authentication failed.", { headers: { "www-authenticate": 'Basic realm="token"' } });
      }
    }
    if (body.grant_type !== "authorization_code") throw new ServiceError(400, "unsupported_grant_type", "Only authorization_code is supported.");
    const t = now();
    const login = options.store.redeemCode(body.code, t);
    if (login === undefined) {
      // RFC 6749 §4.1.2: a code used twice was intercepted somewhere; the access token it bought dies with it.
      options.store.revokeAccessOfReusedCode(body.code);
      throw new ServiceError(400, "invalid_grant", "The code is unknown, expired or already used.");
    }
    if (login.client_id !== client.clientId || login.redirect_uri !== body.redirect_uri) throw new ServiceError(400, "invalid_grant", "The code was issued to another client or redirect_uri.");
    if (s256(body.code_verifier) !== login.code_challenge) throw new ServiceError(400, "invalid_grant", "PKCE verification failed.");
    const claims = JSON.parse(login.claims ?? "{}") as Record<string, unknown>;
    const iat = Math.floor(t / 1000);
    const idToken = signCompactJws(options.idTokenKey, { typ: "JWT", kid: options.idTokenKey.kid }, {
      iss: options.issuer(), aud: client.clientId, iat, exp: iat + 300, auth_time: Math.floor(login.created_at / 1000),
      amr: ["mobile_civil_id"], ...(login.nonce === null ? {} : { nonce: login.nonce }), ...claims,
    });
    const accessToken = randomBytes(32).toString("base64url");
    if (!options.store.grantAccess(login.id, accessToken, t + ACCESS_TTL_S * 1000)) throw new ServiceError(400, "invalid_grant", "The code was already used.");
    return reply.header("cache-control", "no-store").header("pragma", "no-cache").send({
      access_token: accessToken, token_type: "Bearer" as const, expires_in: ACCESS_TTL_S, id_token: idToken, scope: "openid",
    });
  });

  /** OIDC Core §5.3: the released claims (never more than the client is registered for), to the access token's bearer. */
  const userinfo = (authorization: string | undefined) => {
    const challenge = (error: string, description: string) =>
      new ServiceError(401, error === "invalid_request" ? "invalid_request" : "invalid_token", description, {
        headers: { "www-authenticate": `Bearer realm="userinfo", error="${error}", error_description="${description}"` },
      });
    const bearer = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(authorization ?? "");
    if (authorization === undefined) throw new ServiceError(401, "invalid_request", "A bearer access token from the token endpoint is required.", { headers: { "www-authenticate": 'Bearer realm="userinfo"' } });
    if (bearer === null) throw challenge("invalid_request", "The Authorization header must be: Bearer <access token>.");
    const login = options.store.loginOfAccessToken(bearer[1]!, now());
    if (login === undefined || login.claims === null) throw challenge("invalid_token", "The access token is unknown or expired; log in again.");
    const client = clients.get(login.client_id);
    if (client === undefined) throw challenge("invalid_token", "The access token's client is no longer registered.");
    const released = JSON.parse(login.claims) as Record<string, unknown>;
    // Re-filter by the client's current registration: a client whose claims were narrowed gets no more than it may now.
    const allowed = new Set<string>(["sub", ...client.claims]);
    return Object.fromEntries(Object.entries(released).filter(([k]) => allowed.has(k)));
  };
  const userinfoSchema = {
    summary: "UserInfo endpoint (OIDC Core §5.3): the claims released to the client, for its bearer access token",
    tags: ["oidc"],
    headers: z.object({ authorization: z.string().max(256).optional() }),
    response: { 200: z.record(z.string(), z.unknown()), ...errorResponses(401) },
  };
  for (const method of ["GET", "POST"] as const) {
    app.route({
      method, url: "/userinfo", schema: userinfoSchema,
      handler: (request, reply) => {
        reply.header("cache-control", "no-store");
        return userinfo(request.headers.authorization);
      },
    });
  }
}
