/**
 * OpenID4VP 1.0 presentations for one listed verifier key: signed request objects (JAR, by reference), DCQL
 * queries from the use policies, `direct_post` answers, and the two flows —
 *
 * - cross-device (gates, library): the terminal shows a QR code with `client_id` + `request_uri`; the phone posts
 *   the presentation to `response_uri`; the terminal reads the outcome by transaction id;
 * - same-device (logins): the browser is redirected to the wallet, the wallet posts, and the verifier answers the
 *   post with a `redirect_uri` carrying a fresh one-time `response_code`; only whoever presents that code gets the
 *   outcome (OpenID4VP §13.3: a session started by an attacker cannot be completed by a victim's presentation).
 *
 * @openid4vc/openid4vp builds and parses the messages; the SDK's fail-closed PresentationVerifier judges every
 * presentation (signatures, holder binding, audience = client_id, nonce, times, trust, status). Nonce and
 * transaction state live in a VerifierStore shared by every instance.
 */
import { Openid4vpVerifier, type Openid4vpAuthorizationRequest } from "@openid4vc/openid4vp";
import { decodeJwt } from "@openid4vc/oauth2";
import { PresentationVerifier, type VerificationResult, type VerifierOptions } from "../../sdk/verifier/verifier.js";
import type { RefusalCode } from "../../sdk/verifier/results.js";
import type { ChallengeStore, ChallengeVerdict } from "../../sdk/verifier/challenges.js";
import { CIVIL_ID_CREDENTIAL_QUERY_ID, dcqlQueryForPolicy } from "../../sdk/relying-party/dcql.js";
import { POLICY_OF_USE, USE_PARAMETER } from "../../sdk/relying-party/presentation-request.js";
import type { UseId } from "../../sdk/relying-party/uses.js";
import type { VerifierIdentity } from "../../sdk/relying-party/verifier-key.js";
import { createHash } from "node:crypto";
import { SigningKey } from "ethers";
import type { SignJwtCallback } from "@openid4vc/oauth2";
import { secp256k1Jwk } from "../../sdk/relying-party/verifier-key.js";
import { openid4vcCallbacks } from "../common/jose.js";
import { ServiceError } from "../common/errors.js";
import { randomToken, type PresentationFlow, type StoredTransaction, type VerifierStore } from "./store.js";

/** JAR `aud` for wallets with static discovery metadata (OpenID4VP 1.0 §5.8). */
export const SELF_ISSUED_AUDIENCE = "https://self-issued.me/v2";
export const DEFAULT_REQUEST_TTL_MS = 120_000;
export const RESPONSE_PATH = "/openid4vp/response";
/** The requester of the login service's own presentations (a terminal id cannot contain ":"). */
export const LOGIN_REQUESTER = "service:login";

/** Refusals meaning "not a presentation by a holder for this request": they leave the transaction open. */
const NOT_AN_ANSWER: ReadonlySet<string> = new Set([
  "MALFORMED_PRESENTATION", "ALGORITHM_NOT_ALLOWED", "MALFORMED_CREDENTIAL", "BAD_PRESENTATION_SIGNATURE", "BAD_CREDENTIAL_SIGNATURE",
  "HOLDER_MISMATCH", "AUDIENCE_MISSING", "AUDIENCE_MISMATCH", "CHALLENGE_MISSING", "CHALLENGE_MISMATCH", "CHALLENGE_UNKNOWN",
]);

export interface PresentationServiceOptions {
  readonly store: VerifierStore;
  /** The listed verifier key (secp256k1 private key, hex) and its identity (`client_id` = audience of every presentation). */
  readonly signingKey: string;
  readonly identity: VerifierIdentity;
  /** Ledger, resolver and clock settings of the SDK verifier (its challenge store is this service's). */
  readonly verifier: Omit<VerifierOptions, "challenges">;
  /** Public base URL of the verifier service (request_uri and response_uri live under it). */
  readonly baseUrl: () => string;
  /** Uses this instance asks for (must be granted to its key by the listing). */
  readonly uses: readonly UseId[];
  /** Display name in client_metadata (the wallet shows the listing's name, not this). */
  readonly clientName?: string;
  readonly requestTtlMs?: number;
  readonly now?: () => number;
  /**
   * Fail-closed guard run before every judgement (the gate's ledger health): a refusal it returns is the answer,
   * without judging the presentation on a ledger view the verifier cannot vouch for.
   */
  readonly admit?: () => Promise<{ code: RefusalCode; detail: string } | undefined>;
  /** Told the id of every transaction that took its one answer (the kiosk's live stream wakes up at once). */
  readonly onAnswered?: (id: string) => void;
}

export interface CreatedPresentation {
  readonly id: string;
  readonly use: UseId;
  readonly flow: PresentationFlow;
  /** `openid4vp://?client_id=…&request_uri=…`: the QR code's content or the same-device link. */
  readonly authorizationRequest: string;
  readonly requestUri: string;
  readonly expiresAt: string;
}

export type PresentationStatus = "pending" | "accepted" | "refused" | "expired";

export interface PresentationOutcome {
  readonly id: string;
  readonly use: UseId;
  readonly status: PresentationStatus;
  /** Present once answered (cross-device status, or a redeemed same-device response code). */
  readonly result?: VerificationResult;
}

/**
 * The SDK verifier consumes a challenge synchronously; the shared store is asynchronous. The service therefore
 * tells the verifier which nonce the transaction expects (consumed by the verifier once, in memory) and consumes it
 * in the shared store itself, atomically, once the presentation verified.
 */
class ExpectedNonces implements ChallengeStore {
  private readonly expected = new Set<string>();
  issue(): string {
    throw new Error("nonces are issued by the verifier store");
  }
  expect(nonce: string): void {
    this.expected.add(nonce);
  }
  forget(nonce: string): void {
    this.expected.delete(nonce);
  }
  consume(challenge: string): ChallengeVerdict {
    return this.expected.delete(challenge) ? "ok" : "unknown";
  }
}

function refused(code: string, detail: string, use: UseId): VerificationResult {
  return { ok: false, policy: use, reasons: [code as VerificationResult["reasons"][number]], details: [detail] };
}

export class PresentationService {
  private readonly verifier: PresentationVerifier;
  private readonly expected = new ExpectedNonces();
  private readonly oid4vp: Openid4vpVerifier;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: PresentationServiceOptions) {
    this.verifier = new PresentationVerifier({ ...options.verifier, challenges: this.expected });
    this.oid4vp = new Openid4vpVerifier({
      callbacks: { ...openid4vcCallbacks(), signJwt: es256kSigner(options.signingKey), decryptJwe: unsupported, encryptJwe: unsupported },
    });
    this.ttlMs = options.requestTtlMs ?? DEFAULT_REQUEST_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  get clientId(): string {
    return this.options.identity.clientId;
  }

  get uses(): readonly UseId[] {
    return this.options.uses;
  }

  /**
   * Starts a presentation: a nonce, a transaction, and the signed request object the wallet will fetch.
   * `requester` (a terminal's id, or LOGIN_REQUESTER) is the only one that reads its outcome.
   */
  async create(input: { use: UseId; flow: PresentationFlow; redirectUri?: string | undefined; requester: string }): Promise<CreatedPresentation> {
    const { use, flow } = input;
    if (!this.options.uses.includes(use)) throw new ServiceError(400, "invalid_request", `This verifier asks for ${this.options.uses.join(", ")}, not ${use}.`);
    if (flow === "same-device" && input.redirectUri === undefined) throw new ServiceError(400, "invalid_request", "A same-device presentation needs the redirect_uri the wallet returns the browser to.");
    if (flow === "cross-device" && input.redirectUri !== undefined) throw new ServiceError(400, "invalid_request", "A cross-device presentation has no redirect_uri (the answer goes to the terminal).");
    const policy = POLICY_OF_USE[use];
    const clientId = this.clientId;
    const t = this.now();
    const nonce = await this.options.store.issueNonce({ audience: clientId, policy: use }, this.ttlMs);
    const id = randomToken();
    const base = this.options.baseUrl();
    const requestUri = `${base}/presentations/${id}/request`;
    const payload: Openid4vpAuthorizationRequest & Record<string, unknown> = {
      response_type: "vp_token",
      client_id: clientId,
      response_mode: "direct_post",
      response_uri: `${base}${RESPONSE_PATH}`,
      nonce: nonce.challenge,
      state: id,
      dcql_query: dcqlQueryForPolicy(policy),
      client_metadata: {
        ...(this.options.clientName === undefined ? {} : { client_name: this.options.clientName }),
        vp_formats_supported: { jwt_vc_json: { alg_values: ["ES256K"] } },
      },
      [USE_PARAMETER]: use,
    };
    const created = await this.oid4vp.createOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: payload,
      jar: {
        requestUri,
        jwtSigner: { method: "did", didUrl: this.options.identity.kid, alg: "ES256K" },
        expiresInSeconds: Math.ceil(this.ttlMs / 1000),
        additionalJwtPayload: { aud: SELF_ISSUED_AUDIENCE },
      },
      now: new Date(t),
    });
    if (created.jar === undefined) throw new Error("the library returned no request object");
    await this.options.store.createTransaction({
      id, nonce: nonce.challenge, clientId, use, flow, redirectUri: input.redirectUri,
      requestObject: created.jar.authorizationRequestJwt, createdAt: t, expiresAt: t + this.ttlMs, requester: input.requester,
    });
    return { id, use, flow, authorizationRequest: created.authorizationRequest, requestUri, expiresAt: new Date(t + this.ttlMs).toISOString() };
  }

  /** The `openid4vp://` link of a pending transaction (for its QR code); 410 once it is answered or expired. */
  async authorizationRequestOf(id: string): Promise<string> {
    const tx = await this.options.store.transaction(id);
    if (tx === undefined) throw new ServiceError(404, "not_found", "No such presentation request.");
    if (tx.answer !== undefined || this.now() > tx.expiresAt) throw new ServiceError(410, "invalid_request", "This presentation request is no longer pending.");
    const url = new URL("openid4vp://");
    url.search = new URLSearchParams({ client_id: tx.clientId, request_uri: `${this.options.baseUrl()}/presentations/${tx.id}/request` }).toString();
    return url.toString();
  }

  /** The signed request object of a pending transaction (what `request_uri` serves). */
  async requestObject(id: string): Promise<string> {
    const tx = await this.pending(id);
    return tx.requestObject;
  }

  /**
   * A wallet's `direct_post`: refused (ServiceError 400) when the state is unknown, expired or already answered
   * (a replay), or the body is not a DCQL answer; otherwise the presentation is judged and the one answer stored.
   * Returns the outcome and, for same-device flows, the redirect with a fresh response code.
   */
  async respond(body: Record<string, unknown>): Promise<{ outcome: PresentationOutcome; redirectUri?: string }> {
    const state = body.state;
    if (typeof state !== "string" || state.length === 0 || state.length > 64) throw new ServiceError(400, "invalid_request", "The response carries no state of a presentation request of this verifier.");
    const tx = await this.pending(state);
    const request = decodeJwt({ jwt: tx.requestObject }).payload as Openid4vpAuthorizationRequest;
    let presentation: unknown;
    try {
      const validated = this.oid4vp.validateOpenid4vpAuthorizationResponsePayload({ authorizationRequestPayload: request, authorizationResponsePayload: body as never });
      if (validated.type !== "dcql") throw new Error("not a DCQL response");
      const entries = validated.dcql.presentations[CIVIL_ID_CREDENTIAL_QUERY_ID];
      if (entries === undefined || entries.length !== 1) throw new Error(`vp_token must carry one presentation under "${CIVIL_ID_CREDENTIAL_QUERY_ID}"`);
      presentation = entries[0];
    } catch (error) {
      throw new ServiceError(400, "invalid_request", `The response is not an answer to this request: ${error instanceof Error ? error.message.slice(0, 200) : "invalid"}.`);
    }
    const result = await this.judge(tx, presentation);
    // Anyone who can read the QR code can post to this request: an answer that no holder signed for this request
    // is refused without closing the transaction, so it cannot pre-empt the genuine holder's tap.
    if (!result.ok && result.reasons.every((r) => NOT_AN_ANSWER.has(r))) {
      return { outcome: { id: tx.id, use: tx.use, status: "refused", result } };
    }
    const responseCode = tx.flow === "same-device" ? randomToken() : undefined;
    const stored = await this.options.store.answerTransaction(tx.id, { ok: result.ok, result: result as unknown as Record<string, unknown>, answeredAt: this.now() }, responseCode);
    if (!stored) throw new ServiceError(400, "invalid_request", "This presentation request was already answered: replay refused.");
    this.options.onAnswered?.(tx.id);
    const outcome: PresentationOutcome = { id: tx.id, use: tx.use, status: result.ok ? "accepted" : "refused", result };
    if (responseCode === undefined) return { outcome };
    const redirect = new URL(tx.redirectUri as string);
    redirect.searchParams.set("response_code", responseCode);
    return { outcome, redirectUri: redirect.toString() };
  }

  /**
   * A transaction's state, for the requester that started it; the result only for cross-device flows (same-device
   * results need the response code). Another requester is told what an unknown id is told.
   */
  async status(id: string, requester: string): Promise<PresentationOutcome> {
    const tx = await this.options.store.transaction(id);
    if (tx === undefined || tx.requester !== requester) throw new ServiceError(404, "not_found", "No such presentation transaction.");
    if (tx.answer === undefined) return { id, use: tx.use, status: this.now() > tx.expiresAt ? "expired" : "pending" };
    const status = tx.answer.ok ? "accepted" : "refused";
    return tx.flow === "cross-device" ? { id, use: tx.use, status, result: tx.answer.result as unknown as VerificationResult } : { id, use: tx.use, status };
  }

  /** Same-device: the outcome, once, for the requester that started it and the response code the redirect carried. */
  async redeem(id: string, responseCode: string, requester: string): Promise<PresentationOutcome> {
    const tx = await this.options.store.transaction(id);
    if (tx === undefined || tx.flow !== "same-device" || tx.requester !== requester) throw new ServiceError(404, "not_found", "No such same-device presentation transaction.");
    const redeemed = await this.options.store.redeemResponseCode(id, responseCode, this.now());
    if (redeemed.status === "redeemed") throw new ServiceError(400, "invalid_grant", "This response code was already used.");
    if (redeemed.status !== "ok") throw new ServiceError(400, "invalid_grant", "The response code does not belong to this presentation.");
    const result = redeemed.answer.result as unknown as VerificationResult;
    return { id, use: tx.use, status: redeemed.answer.ok ? "accepted" : "refused", result };
  }

  private async pending(id: string): Promise<StoredTransaction> {
    const tx = await this.options.store.transaction(id);
    if (tx === undefined) throw new ServiceError(404, "not_found", "No such presentation request.");
    if (tx.answer !== undefined) throw new ServiceError(400, "invalid_request", "This presentation request was already answered: replay refused.");
    if (this.now() > tx.expiresAt) throw new ServiceError(400, "invalid_request", "This presentation request expired; start a new one.");
    return tx;
  }

  /** The SDK verifier's verdict, then the shared store's single-use nonce: both must say yes. */
  private async judge(tx: StoredTransaction, presentation: unknown): Promise<VerificationResult> {
    const policy = POLICY_OF_USE[tx.use];
    const barred = await this.options.admit?.();
    if (barred !== undefined) return refused(barred.code, barred.detail, tx.use);
    this.expected.expect(tx.nonce);
    let result: VerificationResult;
    try {
      result = await this.verifier.verify(presentation, { challenge: tx.nonce, audience: tx.clientId, policy });
    } finally {
      this.expected.forget(tx.nonce);
    }
    if (!result.ok) return result;
    const verdict = await this.options.store.consumeNonce({ audience: tx.clientId, policy: tx.use }, tx.nonce);
    if (verdict === "ok") return result;
    if (verdict === "replayed") return refused("CHALLENGE_REPLAYED", "This nonce was already used (by this or another verifier instance): replay refused.", tx.use);
    if (verdict === "expired") return refused("CHALLENGE_EXPIRED", "The nonce expired before the presentation arrived.", tx.use);
    return refused("CHALLENGE_UNKNOWN", "This verifier did not issue this nonce.", tx.use);
  }
}

/**
 * ES256K request-object signatures with ethers' SigningKey: deterministic (RFC 6979) and always low-s, the form
 * wallets accept (OpenSSL's ECDSA leaves s unnormalised, and a high-s twin is refused by strict verifiers).
 */
function es256kSigner(privateKeyHex: string): SignJwtCallback {
  const key = new SigningKey(privateKeyHex);
  const publicJwk = secp256k1Jwk(key.publicKey);
  return (signer, jwt) => {
    if (signer.alg !== "ES256K") throw new Error(`this verifier signs ES256K only, not ${signer.alg}`);
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${encode({ ...jwt.header, alg: "ES256K" })}.${encode(jwt.payload)}`;
    const sig = key.sign(createHash("sha256").update(input, "ascii").digest());
    const signature = Buffer.concat([Buffer.from(sig.r.slice(2), "hex"), Buffer.from(sig.s.slice(2), "hex")]).toString("base64url");
    return { jwt: `${input}.${signature}`, signerJwk: publicJwk };
  };
}

function unsupported(): never {
  throw new Error("encrypted requests and responses are not used by this profile");
}
