/**
 * Verifiable presentations of the held credential: a VP JWT (did-jwt-vc, ES256K) signed with the device key.
 *
 * Claims: `iss` = holder DID, `nonce` = the verifier's challenge, `aud` = the verifier, `iat` = `nbf` = now,
 * `exp` = now + lifetime (default 60 s, at most 300 s: a presentation answers one challenge, shortly).
 * A verifier calls did-jwt-vc `verifyPresentation(jwt, resolver, { challenge, domain: audience })`.
 */
import { createVerifiablePresentationJwt, type JwtPresentationPayload } from "did-jwt-vc";
import type { Signer } from "did-jwt";
import { CivilIdError } from "../errors.js";

export const DEFAULT_PRESENTATION_LIFETIME_SECONDS = 60;
export const MAX_PRESENTATION_LIFETIME_SECONDS = 300;
/** Challenges and audiences are short identifiers (a nonce, a DID or URL), not documents. */
export const MAX_CHALLENGE_LENGTH = 512;
export const MAX_AUDIENCE_LENGTH = 2048;

export const VC_CONTEXT_V1 = "https://www.w3.org/2018/credentials/v1";

export interface PresentationRequest {
  /** The verifier's one-time challenge; becomes the JWT `nonce`. */
  challenge: string;
  /** Who the presentation is for (the verifier's DID or URL); becomes the JWT `aud`. */
  audience: string;
  /** Default 60, at most 300. */
  expiresInSeconds?: number;
}

// Printable text only: control characters in a nonce or audience are a sign of a confused caller.
const PRINTABLE = /^\P{Cc}+$/u; // no control characters (C0, DEL, C1)

/** Validates a presentation request and returns its lifetime in seconds; throws INVALID_INPUT. */
export function checkPresentationRequest(request: PresentationRequest): number {
  const { challenge, audience } = request;
  if (typeof challenge !== "string" || challenge.trim().length === 0 || challenge.length > MAX_CHALLENGE_LENGTH || !PRINTABLE.test(challenge)) {
    throw new CivilIdError("INVALID_INPUT", `The challenge must be non-empty printable text of at most ${MAX_CHALLENGE_LENGTH} characters.`);
  }
  if (typeof audience !== "string" || audience.trim().length === 0 || audience.length > MAX_AUDIENCE_LENGTH || !PRINTABLE.test(audience)) {
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
  signer: Signer;
  credential: string;
  /** Seconds since the epoch. */
  now: number;
}

/** Builds and signs the VP JWT. Validates the request first. */
export async function signPresentation(input: PresentationSigningInput): Promise<string> {
  const lifetime = checkPresentationRequest(input);
  const payload: JwtPresentationPayload = {
    vp: {
      "@context": [VC_CONTEXT_V1],
      type: ["VerifiablePresentation"],
      verifiableCredential: [input.credential],
    },
    nonce: input.challenge,
    aud: input.audience,
    iat: input.now,
    nbf: input.now,
    exp: input.now + lifetime,
  };
  return createVerifiablePresentationJwt(payload, { did: input.holder, signer: input.signer, alg: "ES256K" });
}
