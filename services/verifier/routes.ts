/**
 * HTTP routes of the verifier service (OpenID4VP 1.0 verifier endpoints and the terminal API).
 *
 * Terminal API (bearer token of a configured terminal): POST /presentations starts a gate/library presentation
 * (cross-device) or a login (same-device); GET /presentations/{id} is its status (cross-device: with the
 * verification result); GET /presentations/{id}/qr.svg its QR code; POST /presentations/{id}/redeem exchanges a
 * same-device response code for the result. Wallet endpoints (public): GET /presentations/{id}/request (the signed
 * request object), POST /openid4vp/response (direct_post).
 */
import QRCode from "qrcode";
import { z } from "zod";
import { errorResponses, type ServiceApp } from "../common/app.js";
import type { TerminalAuthorizer } from "./kiosk.js";
import { ServiceError } from "../common/errors.js";
import { USE_BITS, type UseId } from "../../sdk/relying-party/uses.js";
import { RESPONSE_PATH, type PresentationService } from "./presentations.js";

/** `terminal`: a gate, library desk or login back end; `kiosk-admin`: facilities staff who pair gate kiosks. */
export const TERMINAL_ROLES = ["terminal", "kiosk-admin"] as const;
export type TerminalRole = (typeof TERMINAL_ROLES)[number];

const useSchema = z.enum(Object.keys(USE_BITS) as [UseId, ...UseId[]]);
const idSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, "a presentation id");
const reasonsSchema = z.array(z.string()).readonly();
const resultSchema = z
  .object({
    ok: z.boolean(),
    policy: z.string(),
    reasons: reasonsSchema,
    details: z.array(z.string()).readonly(),
    holder: z.string().optional(),
    credentialId: z.string().optional(),
    organisation: z.object({ agencyCode: z.number().optional(), name: z.string().optional() }).optional(),
    claims: z.record(z.string(), z.unknown()).optional(),
    statusReason: z.string().optional(),
    ledgerSource: z.enum(["primary", "fallback"]).optional(),
  })
  .meta({ id: "VerificationResult" });
const outcomeSchema = z
  .object({ id: z.string(), use: useSchema, status: z.enum(["pending", "accepted", "refused", "expired"]), result: resultSchema.optional() })
  .meta({ id: "PresentationOutcome" });

/** Both route sets: the terminal API and the wallet endpoints. */
export function registerVerifierRoutes(app: ServiceApp, service: PresentationService, terminals: TerminalAuthorizer): void {
  registerTerminalRoutes(app, service, terminals);
  registerWalletRoutes(app, service);
}

export function registerTerminalRoutes(app: ServiceApp, service: PresentationService, terminals: TerminalAuthorizer): void {
  const terminal = (request: Parameters<TerminalAuthorizer["authorize"]>[0]) => terminals.authorize(request, ["terminal"]);

  app.post("/presentations", {
    schema: {
      summary: "Start a presentation (terminal API)",
      tags: ["terminal"],
      security: [{ bearer: [] }],
      body: z.object({
        use: useSchema,
        flow: z.enum(["cross-device", "same-device"]).default("cross-device"),
        redirect_uri: z.url({ protocol: /^https?$/ }).max(2048).optional(),
      }).strict(),
      response: {
        201: z.object({
          id: z.string(), use: useSchema, flow: z.enum(["cross-device", "same-device"]),
          authorization_request: z.string(), request_uri: z.string(), qr_svg: z.string(), expires_at: z.string(),
        }),
        ...errorResponses(400, 401, 403, 429),
      },
    },
  }, async (request, reply) => {
    const requester = terminal(request).id;
    const created = await service.create({ use: request.body.use, flow: request.body.flow, redirectUri: request.body.redirect_uri, requester });
    return reply.code(201).header("cache-control", "no-store").send({
      id: created.id, use: created.use, flow: created.flow, authorization_request: created.authorizationRequest,
      request_uri: created.requestUri, qr_svg: `/presentations/${created.id}/qr.svg`, expires_at: created.expiresAt,
    });
  });

  app.get("/presentations/:id", {
    schema: {
      summary: "Status of a presentation (terminal API); cross-device answers carry the verification result",
      tags: ["terminal"],
      security: [{ bearer: [] }],
      params: z.object({ id: idSchema }),
      response: { 200: outcomeSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    return reply.header("cache-control", "no-store").send(await service.status(request.params.id, terminal(request).id));
  });

  app.post("/presentations/:id/redeem", {
    schema: {
      summary: "Exchange a same-device response code for the result, once (terminal API)",
      tags: ["terminal"],
      security: [{ bearer: [] }],
      params: z.object({ id: idSchema }),
      body: z.object({ response_code: z.string().regex(/^[A-Za-z0-9_-]{22}$/) }).strict(),
      response: { 200: outcomeSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    return reply.header("cache-control", "no-store").send(await service.redeem(request.params.id, request.body.response_code, terminal(request).id));
  });

  app.get("/presentations/:id/qr.svg", {
    schema: { summary: "QR code (SVG) of a pending request: client_id + request_uri", tags: ["terminal"], params: z.object({ id: idSchema }) },
  }, async (request, reply) => {
    const link = await service.authorizationRequestOf(request.params.id);
    const svg = await QRCode.toString(link, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
    return reply.type("image/svg+xml").header("cache-control", "no-store").send(svg);
  });

}

/** What wallets call: the request object (request_uri) and direct_post (response_uri). */
export function registerWalletRoutes(app: ServiceApp, service: PresentationService): void {
  app.get("/presentations/:id/request", {
    schema: {
      summary: "The signed request object (JAR) a wallet fetches from request_uri",
      tags: ["openid4vp"],
      params: z.object({ id: idSchema }),
      response: { 200: z.string(), ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    const jwt = await service.requestObject(request.params.id);
    return reply.type("application/oauth-authz-req+jwt").header("cache-control", "no-store").send(jwt);
  });

  app.post(RESPONSE_PATH, {
    schema: {
      summary: "direct_post: the wallet's authorization response (vp_token, state)",
      tags: ["openid4vp"],
      consumes: ["application/x-www-form-urlencoded"],
      body: z.object({ vp_token: z.string().min(2).max(48 * 1024), state: z.string().max(64) }).strict(),
      response: {
        200: z.object({ redirect_uri: z.string().optional() }),
        400: z.object({ error: z.string(), error_description: z.string(), reasons: reasonsSchema.optional() }),
        ...errorResponses(404, 413, 415, 429),
      },
    },
  }, async (request, reply) => {
    let vpToken: unknown;
    try {
      vpToken = JSON.parse(request.body.vp_token);
    } catch {
      throw new ServiceError(400, "invalid_request", "vp_token must be the JSON object of a DCQL response.");
    }
    const { outcome, redirectUri } = await service.respond({ vp_token: vpToken, state: request.body.state });
    reply.header("cache-control", "no-store");
    if (outcome.status !== "accepted") {
      const result = outcome.result;
      return reply.code(400).send({
        error: "access_denied",
        error_description: `The presentation was refused: ${(result?.details ?? []).join("; ").slice(0, 400)}`,
        reasons: [...(result?.reasons ?? [])],
      });
    }
    return reply.send(redirectUri === undefined ? {} : { redirect_uri: redirectUri });
  });
}
