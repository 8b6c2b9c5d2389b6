/**
 * Presentations: the VP JWT a wallet signs with its device key to answer one verifier's challenge, and the rules
 * both sides apply — the wallet before signing, the verifier before accepting.
 *
 * Format (VC-JWT 1.1, as did-jwt-vc writes it): header `{ alg: "ES256K" | "ES256", typ: "JWT" }` (the attested
 * device key's algorithm); claims `iss` = holder DID, `vp` = `{ @context, type, verifiableCredential: [<credential
 * JWT>] }`, `nonce` = the verifier's challenge, `aud` = the verifier, `iat` = `nbf` = now, `exp` = now + lifetime.
 */
import { CivilIdError } from "../errors.js";
import { MAX_CREDENTIAL_JWT_LENGTH, VC_CONTEXT_V1 } from "../credential/model.js";
import { decodeJws, isJwsAlgorithm, signJws, type CompactJws, type JwsAlgorithm, type JwsSigner } from "../credential/jws.js";

export const DEFAULT_PRESENTATION_LIFETIME_SECONDS = 60;
/** Longest lifetime a wallet signs; a use policy may accept less (a gate: 60 s). */
export const MAX_PRESENTATION_LIFETIME_SECONDS = 300;
/** Challenges and audiences are short identifiers (a nonce, a DID or URL), not documents. */
export const MAX_CHALLENGE_LENGTH = 512;
export const MAX_AUDIENCE_LENGTH = 2048;
/**
 * Anything longer is refused before parsing. One credential plus its envelope is far less; the slack lets an
 * oversized embedded credential be refused for what it is (MALFORMED_CREDENTIAL, by the credential limit).
 */
export const MAX_PRESENTATION_JWT_LENGTH = 4 * MAX_CREDENTIAL_JWT_LENGTH;

export interface PresentationRequest {
  /** The verifier's one-time challenge; becomes the JWT `nonce`. */
  challenge: string;
  /** Who the presentation is for (the verifier's DID or URL); becomes the JWT `aud`. */
  audience: string;
  /** Default 60, at most 300. */
  expiresInSeconds?: number;
}

// Printable text only: control characters in a nonce or audience are a sign of a confused caller.
const PRINTABLE = /^\P{Cc}+$/u;

/** The text rule for a challenge: non-empty printable text of at most MAX_CHALLENGE_LENGTH characters. */
export function isValidChallenge(challenge: unknown): challenge is string {
  return typeof challenge === "string" && challenge.trim().length > 0 && challenge.length <= MAX_CHALLENGE_LENGTH && PRINTABLE.test(challenge);
}

/** The text rule for an audience: non-empty printable text of at most MAX_AUDIENCE_LENGTH characters. */
export function isValidAudience(audience: unknown): audience is string {
  return typeof audience === "string" && audience.trim().length > 0 && audience.length <= MAX_AUDIENCE_LENGTH && PRINTABLE.test(audience);
}

/** Validates a presentation request and returns its lifetime in seconds; throws INVALID_INPUT. */
export function checkPresentationRequest(request: PresentationRequest): number {
  if (!isValidChallenge(request.challenge)) {
    throw new CivilIdError("INVALID_INPUT", `The challenge must be non-empty printable text of at most ${MAX_CHALLENGE_LENGTH} characters.`);
  }
  if (!isValidAudience(request.audience)) {
    throw new CivilIdError("INVALID_INPUT", `The audience must be the verifier's DID or URL (non-empty, at most ${MAX_AUDIENCE_LENGTH} characters).`);
  }
  const lifetime = request.expiresInSeconds ?? DEFAULT_PRESENTATION_LIFETIME_SECONDS;
  if (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > MAX_PRESENTATION_LIFETIME_SECONDS) {
    throw new CivilIdError("INVALID_INPUT", `expiresInSeconds must be a whole number from 1 to ${MAX_PRESENTATION_LIFETIME_SECONDS}.`);
  }
  return lifetime;
}

export interface PresentationSigningInput extends PresentationRequest {
  holder: string;
  signer: JwsSigner;
  credential: string;
  /** Seconds since the epoch. */
  now: number;
}

/** Builds and signs the VP JWT (low-s). Validates the request first. */
export async function signPresentation(input: PresentationSigningInput): Promise<string> {
  const lifetime = checkPresentationRequest(input);
  return signJws(
    { typ: "JWT" },
    {
      iss: input.holder,
      vp: { "@context": [VC_CONTEXT_V1], type: ["VerifiablePresentation"], verifiableCredential: [input.credential] },
      nonce: input.challenge,
      aud: input.audience,
      iat: input.now,
      nbf: input.now,
      exp: input.now + lifetime,
    },
    input.signer,
  );
}

export type PresentationFailure = "MALFORMED_PRESENTATION" | "ALGORITHM_NOT_ALLOWED";

export interface DecodedPresentation {
  readonly jws: CompactJws;
  readonly alg: JwsAlgorithm;
  /** The one embedded credential JWT (not yet parsed). */
  readonly credential: string;
}

/** Decodes an untrusted presentation: strict JWS, an allowed algorithm, exactly one embedded credential JWT. */
export function decodePresentation(token: unknown): { ok: true; presentation: DecodedPresentation } | { ok: false; failure: PresentationFailure; detail: string } {
  const decoded = decodeJws(token, MAX_PRESENTATION_JWT_LENGTH);
  if (!decoded.ok) return { ok: false, failure: "MALFORMED_PRESENTATION", detail: `The presentation is not a compact JWS with JSON header and payload (${decoded.failure}).` };
  const { jws } = decoded;
  if (!isJwsAlgorithm(jws.header.alg)) {
    return { ok: false, failure: "ALGORITHM_NOT_ALLOWED", detail: `Presentation algorithm ${JSON.stringify(jws.header.alg)} is not allowed (ES256K or ES256).` };
  }
  if (jws.header.typ !== undefined && jws.header.typ !== "JWT") return { ok: false, failure: "MALFORMED_PRESENTATION", detail: "The presentation's typ is not JWT." };
  const vp = jws.payload.vp as Record<string, unknown> | undefined;
  const embedded = typeof vp === "object" && vp !== null ? vp.verifiableCredential : undefined;
  if (!Array.isArray(embedded) || embedded.length !== 1 || typeof embedded[0] !== "string") {
    return { ok: false, failure: "MALFORMED_PRESENTATION", detail: "The presentation must embed exactly one credential JWT." };
  }
  return { ok: true, presentation: { jws, alg: jws.header.alg, credential: embedded[0] } };
}

/** Whether a presentation's `aud` names exactly this verifier (a string, or an array of that one string). */
export function audienceMatches(aud: unknown, audience: string): boolean {
  return aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience);
}
