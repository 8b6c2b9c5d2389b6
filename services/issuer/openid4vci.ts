import { Oauth2AuthorizationServer, Oauth2ErrorCodes, preAuthorizedCodeGrantIdentifier, type AuthorizationServerMetadata, type Jwk, type RequestLike } from "@openid4vc/oauth2";
import { Openid4vciIssuer, Openid4vciVersion, type CredentialIssuerMetadata, type IssuerMetadataResult } from "@openid4vc/openid4vci";
import { setGlobalConfig } from "@openid4vc/utils";
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { checkDeviceKeyJwk, holderDidForDeviceKey, type DeviceKeyJwk } from "../../sdk/credential/device-key.js";
import { CivilIdError, isCivilIdError } from "../../sdk/errors.js";
import type { IssuanceRecord } from "../../sdk/issuer/workflow.js";
import { errorResponses, ServiceError, type ServiceApp } from "../common/index.js";
import { isJwsAlgorithm, openid4vcCallbacks, type JwsAlgorithm } from "../common/jose.js";
import type { Agencies, AgencyRuntime } from "./agencies.js";
import { newSecret, type IssuerServiceStore, type OfferRow } from "./store.js";

/** The one credential configuration we issue. */
export const CREDENTIAL_CONFIGURATION_ID = "CivilServantIdCredential";
export const TX_CODE_LENGTH = 8;

export interface Openid4vciSettings {
  /** Lifetime of a pre-authorized code minted when the wallet fetches the offer (single use). */
  preAuthorizedCodeTtlSeconds: number;
  accessTokenTtlSeconds: number;
  nonceTtlSeconds: number;
  /** How long the credential endpoint waits for the registration block before answering with a deferred transaction. */
  credentialWaitMs: number;
  /** `interval` the wallet is told to wait between deferred polls. */
  deferredIntervalSeconds: number;
  /** Release the offer only after the holder re-checked their identity (name, employee reference, SMS code). */
  identityRecheck: boolean;
}

/**
 * How a proof's key becomes the credential's holder binding, per JWS algorithm (the floor's device-key model,
 * sdk/credential/device-key.ts): an ES256K (secp256k1) key is bound under its did:ethr on this chain, an ES256
 * (P-256, the hardware-backed keys of phones, WebCrypto and WebAuthn) key under its did:jwk. The key must be the
 * algorithm's curve; anything else is refused.
 */
const DEVICE_BINDINGS: Record<JwsAlgorithm, (jwk: Jwk, chainId: number) => { did: string; deviceKey: DeviceKeyJwk } | undefined> = {
  ES256K: (jwk, chainId) => deviceBinding(jwk, chainId, "secp256k1"),
  ES256: (jwk, chainId) => deviceBinding(jwk, chainId, "P-256"),
};

function deviceBinding(jwk: Jwk, chainId: number, crv: DeviceKeyJwk["crv"]): { did: string; deviceKey: DeviceKeyJwk } | undefined {
  if (jwk.kty !== "EC" || jwk.crv !== crv) return undefined;
  let deviceKey: DeviceKeyJwk;
  try {
    deviceKey = checkDeviceKeyJwk({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
  } catch {
    return undefined; // not a point on the curve: the caller refuses the proof
  }
  return { did: holderDidForDeviceKey(chainId, deviceKey), deviceKey };
}
export const PROOF_ALGORITHMS = Object.keys(DEVICE_BINDINGS) as JwsAlgorithm[];

const SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface Openid4vciContext {
  readonly baseUrl: () => string;
  readonly chainId: number;
  readonly agencies: Agencies;
  readonly store: IssuerServiceStore;
  readonly settings: Openid4vciSettings;
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
}

function oauthError(status: number, error: string, description: string, extra?: { interval?: number }): ServiceError {
  return new ServiceError(status, error, description, extra === undefined ? undefined : { extra });
}

function decodeJwtPart(jwt: string, index: number): Record<string, unknown> | undefined {
  const part = jwt.split(".")[index];
  if (part === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // not JSON: the caller refuses the proof
  }
}

function requestLike(request: FastifyRequest, baseUrl: string): RequestLike {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) headers.set(name, value.join(", "));
  }
  return { headers, method: request.method as RequestLike["method"], url: `${baseUrl}${request.url}` };
}

/**
 * OpenID4VCI 1.0, pre-authorized code flow with `tx_code`, with the organisation's IssuanceWorkflow as the
 * authority: message parsing and building by @openid4vc/openid4vci + @openid4vc/oauth2; every rule (link
 * expiry and single use, tx_code attempts, device binding, one device per holder, registration on chain) is the
 * workflow's or this service's database's.
 */
export class Openid4vciEndpoints {
  private readonly issuer = new Openid4vciIssuer({ callbacks: openid4vcCallbacks() });
  private readonly authorizationServer = new Oauth2AuthorizationServer({ callbacks: openid4vcCallbacks() });
  private readonly inflight = new Map<string, Promise<IssuanceRecord>>();

  constructor(private readonly ctx: Openid4vciContext) {}

  /** The SMS link of an invitation (the workflow appends `?token=`): the credential offer by reference. */
  static offerPath = "/credential-offer";

  /**
   * The public base URL. The libraries insist on https; plain http is allowed for loopback development only
   * (`npm run serve` on 127.0.0.1), and refused anywhere else.
   */
  private base(): string {
    const base = this.ctx.baseUrl();
    const url = new URL(base);
    if (url.protocol === "http:") {
      if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
        throw new CivilIdError("INVALID_INPUT", `The issuer's public URL ${base} must use https (set issuer.publicUrl behind the TLS-terminating proxy).`);
      }
      setGlobalConfig({ allowInsecureUrls: true });
    }
    return base;
  }

  credentialIssuerMetadata(): CredentialIssuerMetadata {
    const base = this.base();
    return this.issuer.createCredentialIssuerMetadata({
      credential_issuer: base,
      credential_endpoint: `${base}/credential`,
      nonce_endpoint: `${base}/nonce`,
      deferred_credential_endpoint: `${base}/deferred-credential`,
      notification_endpoint: `${base}/notification`,
      display: [
        { name: "모바일 공무원증 발급기관", locale: "ko-KR" },
        { name: "Mobile civil-servant ID issuer", locale: "en" },
      ],
      credential_configurations_supported: {
        [CREDENTIAL_CONFIGURATION_ID]: {
          format: "jwt_vc_json",
          scope: CREDENTIAL_CONFIGURATION_ID,
          cryptographic_binding_methods_supported: ["jwk", "did:ethr", "did:jwk"],
          credential_signing_alg_values_supported: ["ES256K"],
          proof_types_supported: { jwt: { proof_signing_alg_values_supported: PROOF_ALGORITHMS } },
          credential_definition: { type: ["VerifiableCredential", CREDENTIAL_CONFIGURATION_ID] },
          credential_metadata: {
            display: [
              { name: "모바일 공무원증", locale: "ko-KR", background_color: "#0b3d91", text_color: "#ffffff" },
              { name: "Mobile civil-servant ID", locale: "en", background_color: "#0b3d91", text_color: "#ffffff" },
            ],
          },
        },
      },
    });
  }

  authorizationServerMetadata(): AuthorizationServerMetadata {
    const base = this.base();
    return this.authorizationServer.createAuthorizationServerMetadata({
      issuer: base,
      token_endpoint: `${base}/token`,
      grant_types_supported: [preAuthorizedCodeGrantIdentifier],
      token_endpoint_auth_methods_supported: ["none"],
      "pre-authorized_grant_anonymous_access_supported": true,
    });
  }

  private issuerMetadata(): IssuerMetadataResult {
    return {
      originalDraftVersion: Openid4vciVersion.V1,
      credentialIssuer: this.credentialIssuerMetadata(),
      authorizationServers: [this.authorizationServerMetadata()],
      knownCredentialConfigurations: {},
    };
  }

  // ------------------------------------------------------------------ credential offer (the SMS link)

  /** Finds the invitation of a link token among the organisations; INVITATION_INVALID when none has it usable. */
  private async invitationOfLink(token: string): Promise<{ agency: AgencyRuntime; requestId: string; invitationId: number; expiresAt: string }> {
    for (const agency of this.ctx.agencies.all()) {
      try {
        return { agency, ...(await agency.workflow.invitationOfLink(token)) };
      } catch (error) {
        if (isCivilIdError(error, "INVITATION_INVALID") && error.details?.reason === "UNKNOWN") continue;
        throw error;
      }
    }
    throw new CivilIdError("INVITATION_INVALID", "The link is not valid; use the link from the latest SMS.", { details: { reason: "UNKNOWN" } });
  }

  /** The usable invitation of a link, not yet redeemed; the protocol refusal otherwise. */
  private async openLink(token: string): Promise<{ agency: AgencyRuntime; requestId: string; invitationId: number; expiresAt: string }> {
    let found;
    try {
      found = await this.invitationOfLink(token);
    } catch (error) {
      if (isCivilIdError(error, "INVITATION_INVALID") || isCivilIdError(error, "INVALID_WORKFLOW_STATE")) {
        const reason = isCivilIdError(error, "INVITATION_INVALID") ? (typeof error.details?.reason === "string" ? error.details.reason : "UNKNOWN") : "USED";
        throw oauthError(reason === "UNKNOWN" ? 404 : 410, "invalid_request", error.message);
      }
      throw error;
    }
    if (await this.ctx.store.invitationRedeemed(found.agency.code, found.invitationId)) {
      throw oauthError(410, "invalid_request", "This link was already used; it works once. Ask your HR office to invite you again.");
    }
    return found;
  }

  /** Identity re-check, step 1: texts a one-time code to the HR-registered phone of the link's request. */
  async identityCheckStart(token: string): Promise<{ expires_at: string }> {
    const found = await this.openLink(token);
    try {
      const session = await found.agency.workflow.startIdentityRecheck({ requestId: found.requestId, invitationId: found.invitationId });
      return { expires_at: session.expiresAt };
    } catch (error) {
      if (isCivilIdError(error, "IDENTITY_NOT_VERIFIED")) throw oauthError(403, "access_denied", error.message);
      throw error;
    }
  }

  /** Identity re-check, step 2: name, employee reference and the code; success releases the offer. */
  async identityCheckVerify(token: string, evidence: { name: string; employeeRef: string; code: string }): Promise<{ credential_offer_uri: string; credential_offer: string }> {
    const found = await this.openLink(token);
    try {
      await found.agency.workflow.verifyIdentityRecheck({ requestId: found.requestId, invitationId: found.invitationId, evidence });
    } catch (error) {
      if (isCivilIdError(error, "IDENTITY_NOT_VERIFIED")) throw oauthError(403, "access_denied", error.message);
      throw error;
    }
    const uri = `${this.base()}${Openid4vciEndpoints.offerPath}?token=${token}`;
    return { credential_offer_uri: uri, credential_offer: `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(uri)}` };
  }

  /** Mints a short-lived single-use pre-authorized code for the link's invitation and returns the offer. */
  async credentialOffer(token: string): Promise<Record<string, unknown>> {
    const found = await this.openLink(token);
    if (this.ctx.settings.identityRecheck && !await found.agency.workflow.identityRechecked(found.requestId, found.invitationId)) {
      throw oauthError(403, "access_denied", "Verify your identity in the app first (POST /credential-offer/identity, then /credential-offer/identity/verify); the offer is released after that.");
    }
    const at = this.ctx.now();
    const code = newSecret();
    await this.ctx.store.insertOffer({
      id: newSecret(), agency: found.agency.code, requestId: found.requestId, invitationId: found.invitationId, code,
      codeExpiresAt: Math.min(at + this.ctx.settings.preAuthorizedCodeTtlSeconds * 1000, Date.parse(found.expiresAt)), at,
    });
    const { credentialOfferObject } = await this.issuer.createCredentialOffer({
      issuerMetadata: this.issuerMetadata(),
      credentialConfigurationIds: [CREDENTIAL_CONFIGURATION_ID],
      grants: {
        [preAuthorizedCodeGrantIdentifier]: {
          "pre-authorized_code": code,
          tx_code: { input_mode: "numeric", length: TX_CODE_LENGTH, description: "SMS로 받은 활성화 코드 8자리 (the 8-digit activation code from the SMS)" },
        },
      },
    });
    return credentialOfferObject;
  }

  // ------------------------------------------------------------------ token endpoint

  async token(request: FastifyRequest, body: Record<string, string>): Promise<{ access_token: string; token_type: "Bearer"; expires_in: number }> {
    const parsed = this.authorizationServer.parseAccessTokenRequest({ request: requestLike(request, this.ctx.baseUrl()), accessTokenRequest: body });
    if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) {
      throw oauthError(400, Oauth2ErrorCodes.UnsupportedGrantType, "Only the pre-authorized code grant is supported.");
    }
    const { preAuthorizedCode, txCode } = parsed.grant;
    const at = this.ctx.now();
    const offer = SECRET.test(preAuthorizedCode) ? await this.ctx.store.offerByCode(preAuthorizedCode) : undefined;
    if (offer === undefined) throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, "The pre-authorized code is not valid.");
    if (offer.code_used_at !== null || await this.ctx.store.invitationRedeemed(offer.agency, offer.invitation_id)) {
      throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, "The pre-authorized code was already used; it works once.");
    }
    if (at >= offer.code_expires_at) throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, "The pre-authorized code expired; open the link from the SMS again.");
    if (txCode === undefined) throw oauthError(400, Oauth2ErrorCodes.InvalidRequest, "tx_code is required: the 8-digit activation code from the SMS.");
    const workflow = this.ctx.agencies.get(offer.agency).workflow;
    try {
      await workflow.checkActivationCode({ requestId: offer.request_id, invitationId: offer.invitation_id, code: txCode });
    } catch (error) {
      if (isCivilIdError(error, "ACTIVATION_FAILED") || isCivilIdError(error, "INVITATION_INVALID") || isCivilIdError(error, "INVALID_WORKFLOW_STATE")) {
        throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, error.message);
      }
      throw error;
    }
    const accessToken = newSecret();
    const expiresIn = this.ctx.settings.accessTokenTtlSeconds;
    if (!await this.ctx.store.redeem(offer, accessToken, at + expiresIn * 1000, at)) {
      throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, "The pre-authorized code was already used; it works once.");
    }
    return { access_token: accessToken, token_type: "Bearer" as const, expires_in: expiresIn };
  }

  // ------------------------------------------------------------------ nonce

  async nonce(): Promise<{ c_nonce: string; c_nonce_expires_in: number }> {
    const nonce = newSecret();
    const ttl = this.ctx.settings.nonceTtlSeconds;
    await this.ctx.store.insertNonce(nonce, this.ctx.now() + ttl * 1000);
    return this.issuer.createNonceResponse({ cNonce: nonce, cNonceExpiresIn: ttl }) as { c_nonce: string; c_nonce_expires_in: number };
  }

  // ------------------------------------------------------------------ credential endpoint

  /** The offer behind an access token; 401 `invalid_token` otherwise. */
  private async authorizedOffer(request: FastifyRequest): Promise<OfferRow> {
    const header = request.headers.authorization;
    const match = typeof header === "string" ? /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header) : null;
    const challenge = { "www-authenticate": 'Bearer error="invalid_token"' };
    if (match === null) throw new ServiceError(401, Oauth2ErrorCodes.InvalidToken, "Send the access token from the token endpoint: Authorization: Bearer <token>.", { headers: challenge });
    const token = await this.ctx.store.accessToken(match[1]!);
    if (token === undefined || this.ctx.now() >= token.expires_at) {
      throw new ServiceError(401, Oauth2ErrorCodes.InvalidToken, "The access token is not valid or expired.", { headers: challenge });
    }
    const offer = await this.ctx.store.offer(token.offer_id);
    if (offer === undefined) throw new ServiceError(401, Oauth2ErrorCodes.InvalidToken, "The access token is not valid or expired.", { headers: challenge });
    return offer;
  }

  async credential(request: FastifyRequest, body: Record<string, unknown>, reply: FastifyReply): Promise<Record<string, unknown>> {
    const offer = await this.authorizedOffer(request);
    const metadata = this.issuerMetadata();
    const parsed = this.issuer.parseCredentialRequest({ issuerMetadata: metadata, credentialRequest: body });
    if (parsed.credentialConfigurationId !== CREDENTIAL_CONFIGURATION_ID) {
      throw oauthError(400, Oauth2ErrorCodes.UnknownCredentialConfiguration, `Ask for credential_configuration_id "${CREDENTIAL_CONFIGURATION_ID}".`);
    }
    const proofs = parsed.proofs?.jwt;
    if (proofs === undefined || proofs.length !== 1) throw oauthError(400, Oauth2ErrorCodes.InvalidProof, "Send exactly one proof of type jwt, signed with the device key.");
    const jwt = proofs[0]!;
    const nonce = decodeJwtPart(jwt, 1)?.nonce;
    const nonceExpiry = typeof nonce === "string" && SECRET.test(nonce) ? await this.ctx.store.nonceExpiry(nonce) : undefined;
    if (nonceExpiry === undefined || typeof nonce !== "string") throw oauthError(400, Oauth2ErrorCodes.InvalidNonce, "The proof's nonce was not issued by this issuer; get one from the nonce endpoint.");
    const verified = await this.issuer.verifyCredentialRequestJwtProof({ issuerMetadata: metadata, jwt, expectedNonce: nonce, nonceExpiresAt: new Date(nonceExpiry), now: new Date(this.ctx.now()) });
    const consumed = await this.ctx.store.consumeNonce(nonce, this.ctx.now());
    if (consumed !== "ok") throw oauthError(400, Oauth2ErrorCodes.InvalidNonce, `The proof's nonce is ${consumed}; get a new one from the nonce endpoint.`);
    const alg = verified.header.alg;
    const binding = isJwsAlgorithm(alg) ? DEVICE_BINDINGS[alg](verified.signer.publicJwk, this.ctx.chainId) : undefined;
    if (binding === undefined) throw oauthError(400, Oauth2ErrorCodes.InvalidProof, `The proof must be signed with a device key of an algorithm in ${PROOF_ALGORITHMS.join(", ")}, given as jwk.`);

    const agency = this.ctx.agencies.get(offer.agency);
    const existing = await this.ctx.store.issuanceOfOffer(offer.id);
    if (existing !== undefined) {
      if (existing.subject_did !== binding.did) throw oauthError(400, Oauth2ErrorCodes.CredentialRequestDenied, "The credential of this offer was already requested with another device key.");
    } else {
      const record = await agency.workflow.get(offer.request_id);
      if (record.state === "invited") {
        try {
          await agency.workflow.activateProvenDevice({ requestId: offer.request_id, invitationId: offer.invitation_id, did: binding.did, deviceKey: binding.deviceKey, proof: `openid4vci-jwt-proof ${alg}` });
        } catch (error) {
          if (isCivilIdError(error, "ACTIVATION_FAILED") || isCivilIdError(error, "INVITATION_INVALID")) throw oauthError(400, Oauth2ErrorCodes.CredentialRequestDenied, error.message);
          throw error;
        }
      } else if (record.subjectDid !== binding.did) {
        throw oauthError(400, Oauth2ErrorCodes.CredentialRequestDenied, "The credential of this offer was already requested with another device key.");
      }
      await this.ctx.store.insertIssuance({ offerId: offer.id, agency: agency.code, requestId: offer.request_id, subjectDid: binding.did, transactionId: newSecret(), notificationId: newSecret(), at: this.ctx.now() });
    }
    const issuance = await this.ctx.store.issuanceOfOffer(offer.id);
    if (issuance === undefined) throw new Error("the issuance of this offer was just recorded");
    const issued = await this.awaitIssued(agency, offer.request_id, this.ctx.settings.credentialWaitMs);
    if (issued !== undefined) {
      await this.ctx.store.markDelivered(offer.id, this.ctx.now());
      return this.issuer.createCredentialResponse({ credentialRequest: parsed, credentials: [{ credential: issued.credentialJwt! }], notificationId: issuance.notification_id });
    }
    const transactionId = newSecret();
    await this.ctx.store.setTransactionId(offer.id, transactionId);
    void reply.code(202);
    return this.issuer.createCredentialResponse({ credentialRequest: parsed, transactionId, interval: this.ctx.settings.deferredIntervalSeconds });
  }

  async deferredCredential(request: FastifyRequest, body: Record<string, unknown>, reply: FastifyReply): Promise<Record<string, unknown>> {
    const offer = await this.authorizedOffer(request);
    const { deferredCredentialRequest } = this.issuer.parseDeferredCredentialRequest({ deferredCredentialRequest: body });
    const transactionId = deferredCredentialRequest.transaction_id;
    const issuance = typeof transactionId === "string" && SECRET.test(transactionId) ? await this.ctx.store.issuanceByTransaction(transactionId) : undefined;
    if (issuance === undefined || issuance.offer_id !== offer.id) throw oauthError(400, Oauth2ErrorCodes.InvalidTransactionId, "Unknown transaction_id for this access token.");
    const issued = await this.awaitIssued(this.ctx.agencies.get(issuance.agency), issuance.request_id, Math.min(this.ctx.settings.credentialWaitMs, 1000));
    if (issued !== undefined) {
      await this.ctx.store.markDelivered(offer.id, this.ctx.now());
      // 0.4.6's deferred-response check refuses notification_id next to `credentials` (it tests the draft field
      // `credential`), although 1.0 §9.2 allows it: the library builds the response, the id is added after.
      return { ...this.issuer.createDeferredCredentialResponse({ credentials: [{ credential: issued.credentialJwt! }] }), notification_id: issuance.notification_id };
    }
    void reply.code(202);
    return this.issuer.createDeferredCredentialResponse({ transactionId: transactionId, interval: this.ctx.settings.deferredIntervalSeconds });
  }

  async notification(request: FastifyRequest, body: { notification_id: string; event: string; event_description?: string | undefined }): Promise<void> {
    const offer = await this.authorizedOffer(request);
    const issuance = await this.ctx.store.issuanceByNotification(body.notification_id);
    if (issuance === undefined || issuance.offer_id !== offer.id) throw oauthError(400, "invalid_notification_id", "Unknown notification_id for this access token.");
    const at = this.ctx.now();
    await this.ctx.store.transaction(async () => {
      await this.ctx.store.setNotified(offer.id, body.event, at);
      await this.ctx.store.appendEvent({
        agency: issuance.agency, requestId: issuance.request_id, at, actor: "wallet", action: `wallet-${body.event.replace(/_/g, "-")}`,
        details: body.event_description === undefined ? {} : { description: body.event_description },
      });
    });
  }

  // ------------------------------------------------------------------ issuance on chain

  /**
   * Issues the request (registration on chain, then signing) and waits up to `waitMs` for it: the record once
   * issued, undefined while the registration waits for its block (the wallet then polls the deferred endpoint).
   * A definitive refusal (organisation not participating, issuer key not trusted, contract refusal) becomes
   * `credential_request_denied`.
   */
  private async awaitIssued(agency: AgencyRuntime, requestId: string, waitMs: number): Promise<IssuanceRecord | undefined> {
    const current = await agency.workflow.get(requestId);
    if (current.state === "issued") return current;
    if (!["activated", "registering", "registered"].includes(current.state)) {
      throw oauthError(400, Oauth2ErrorCodes.CredentialRequestDenied, `The request is ${current.state}: ${current.nextStep}.`);
    }
    const issuing = this.startIssue(agency, requestId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      return await Promise.race([issuing, timeout]);
    } catch (error) {
      if (isCivilIdError(error, "ORGANISATION_NOT_PARTICIPATING") || isCivilIdError(error, "NOT_AUTHORISED") || isCivilIdError(error, "CONTRACT_REVERTED")) {
        throw oauthError(400, Oauth2ErrorCodes.CredentialRequestDenied, error.message);
      }
      // In flight, or the chain is unreachable for now: the wallet polls, the next poll (or reconcile) goes on.
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private startIssue(agency: AgencyRuntime, requestId: string): Promise<IssuanceRecord> {
    const key = `${agency.code}:${requestId}`;
    const running = this.inflight.get(key);
    if (running !== undefined) return running;
    const issuing = agency.workflow.issue(requestId, "openid4vci").finally(() => this.inflight.delete(key));
    issuing.catch((error: unknown) => this.ctx.log.warn({ err: error, requestId }, "issuance did not complete yet"));
    this.inflight.set(key, issuing);
    return issuing;
  }

  /** Waits (bounded) for issuances in flight, so a graceful shutdown does not cut a registration in half. */
  async drain(timeoutMs = 10_000): Promise<void> {
    const all = Promise.allSettled([...this.inflight.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  // ------------------------------------------------------------------ routes

  register(app: ServiceApp): void {
    const tags = ["openid4vci"];
    const offerSchema = z
      .object({
        credential_issuer: z.string(),
        credential_configuration_ids: z.array(z.string()),
        grants: z.record(z.string(), z.unknown()),
      })
      .loose();
    const tokenSchema = z.object({ access_token: z.string(), token_type: z.literal("Bearer"), expires_in: z.number().int() }).loose();
    const credentialResponse = z
      .object({
        credentials: z.array(z.object({ credential: z.string() }).loose()).optional(),
        transaction_id: z.string().optional(),
        interval: z.number().int().optional(),
        notification_id: z.string().optional(),
      })
      .loose();
    const noStore = (reply: FastifyReply) => reply.header("cache-control", "no-store").header("pragma", "no-cache");
    app.get("/.well-known/openid-credential-issuer", { schema: { tags, summary: "Credential issuer metadata (OpenID4VCI 1.0 §12.2)" } }, (_request, reply) => {
      void reply.header("cache-control", "public, max-age=300");
      return this.credentialIssuerMetadata();
    });
    app.get("/.well-known/oauth-authorization-server", { schema: { tags, summary: "Authorization server metadata (RFC 8414)" } }, (_request, reply) => {
      void reply.header("cache-control", "public, max-age=300");
      return this.authorizationServerMetadata();
    });
    app.get(
      Openid4vciEndpoints.offerPath,
      {
        schema: {
          tags,
          summary: "Credential offer by reference: the SMS link (credential_offer_uri). Mints a single-use pre-authorized code.",
          querystring: z.object({ token: z.string().regex(SECRET, "the token from the SMS link") }).strict(),
          response: { 200: offerSchema, ...errorResponses(400, 404, 410, 429) },
        },
        config: { rateLimit: { max: 20, timeWindow: 60_000 } },
      },
      async (request, reply) => {
        noStore(reply);
        return (await this.credentialOffer(request.query.token)) as z.infer<typeof offerSchema>;
      },
    );
    const linkToken = z.string().regex(SECRET, "the token from the SMS link");
    app.post(
      `${Openid4vciEndpoints.offerPath}/identity`,
      {
        schema: {
          tags, summary: "Identity re-check before the offer is released, step 1: texts a one-time code to the HR-registered phone",
          body: z.object({ token: linkToken }).strict(),
          response: { 200: z.object({ expires_at: z.string() }), ...errorResponses(400, 403, 404, 410, 429) },
        },
        config: { rateLimit: { max: 10, timeWindow: 60_000 } },
      },
      async (request, reply) => {
        noStore(reply);
        return this.identityCheckStart(request.body.token);
      },
    );
    app.post(
      `${Openid4vciEndpoints.offerPath}/identity/verify`,
      {
        schema: {
          tags, summary: "Identity re-check, step 2: name, employee reference and the SMS code; answers the credential offer URI",
          body: z.object({ token: linkToken, name: z.string().min(1).max(100), employeeRef: z.string().min(1).max(32), code: z.string().regex(/^[0-9]{4,12}$/) }).strict(),
          response: { 200: z.object({ credential_offer_uri: z.string(), credential_offer: z.string() }), ...errorResponses(400, 403, 404, 410, 429) },
        },
        config: { rateLimit: { max: 20, timeWindow: 60_000 } },
      },
      async (request, reply) => {
        noStore(reply);
        const { token, ...evidence } = request.body;
        return this.identityCheckVerify(token, evidence);
      },
    );
    app.post(
      "/token",
      {
        schema: {
          tags,
          summary: "Token endpoint: pre-authorized code + tx_code (attempts counted per invitation)",
          consumes: ["application/x-www-form-urlencoded"],
          body: z.record(z.string().max(100), z.string().max(2048)),
          response: { 200: tokenSchema, ...errorResponses(400, 429) },
        },
        config: { rateLimit: { max: 30, timeWindow: 60_000 } },
      },
      async (request, reply) => {
        noStore(reply);
        return await this.token(request, request.body);
      },
    );
    app.post("/nonce", { schema: { tags, summary: "Nonce endpoint: a fresh single-use c_nonce for the proof", response: { 200: z.object({ c_nonce: z.string(), c_nonce_expires_in: z.number().int() }), ...errorResponses(429) } } }, async (_request, reply) => {
      noStore(reply);
      return await this.nonce();
    });
    const credentialBody = z
      .object({
        credential_configuration_id: z.string().max(200).optional(),
        credential_identifier: z.string().max(200).optional(),
        proofs: z.object({ jwt: z.array(z.string().max(8192)).max(10).optional() }).loose().optional(),
        proof: z.object({ proof_type: z.string(), jwt: z.string().max(8192).optional() }).loose().optional(),
      })
      .loose();
    app.post(
      "/credential",
      { schema: { tags, summary: "Credential endpoint (1.0: `credentials` array; 202 with transaction_id while the registration waits for its block)", security: [{ bearer: [] }], body: credentialBody, response: { 200: credentialResponse, 202: credentialResponse, ...errorResponses(400, 401, 429) } } },
      async (request, reply) => {
        noStore(reply);
        return this.credential(request, request.body, reply);
      },
    );
    app.post(
      "/deferred-credential",
      { schema: { tags, summary: "Deferred credential endpoint", security: [{ bearer: [] }], body: z.object({ transaction_id: z.string().max(200) }).loose(), response: { 200: credentialResponse, 202: credentialResponse, ...errorResponses(400, 401, 429) } } },
      async (request, reply) => {
        noStore(reply);
        return this.deferredCredential(request, request.body, reply);
      },
    );
    app.post(
      "/notification",
      {
        schema: {
          tags,
          summary: "Notification endpoint: the wallet reports credential_accepted / credential_failure / credential_deleted",
          security: [{ bearer: [] }],
          body: z.object({ notification_id: z.string().max(200), event: z.enum(["credential_accepted", "credential_failure", "credential_deleted"]), event_description: z.string().max(500).optional() }).loose(),
          response: { 204: z.null().describe("Recorded"), ...errorResponses(400, 401, 429) },
        },
      },
      async (request, reply) => {
        await this.notification(request, request.body);
        return reply.code(204).send(null);
      },
    );
  }
}
