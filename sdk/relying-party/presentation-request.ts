/**
 * The wallet's side of verifier authentication: before a holder sees anything, an OpenID4VP request must be a
 * request object (JAR) signed by a verifier key that the consortium lists for the use it asks, and must ask only
 * for the claims that use discloses. Message handling (request_uri fetch, typ, client_id binding, DCQL shape) is
 * @openid4vc/openid4vp's; signature, listing and use are checked here. The result names the verifier as the
 * listing does — the name the wallet shows — and carries what the wallet needs to answer.
 */
import { Openid4vpClient, type ResolvedOpenid4vpAuthorizationRequest } from "@openid4vc/openid4vp";
import type { CallbackContext, VerifyJwtCallback } from "@openid4vc/oauth2";
import { getBytes, sha256, sha512 } from "ethers";
import { CivilIdError } from "../errors.js";
import { parseEthrDid } from "../did/did.js";
import { POLICIES, type ClaimName, type UsePolicy } from "../verifier/policies.js";
import { claimsRequestedBy, CIVIL_ID_CREDENTIAL_QUERY_ID } from "./dcql.js";
import type { RelyingPartyDirectory } from "./registry.js";
import { isUseId, type UseId } from "./uses.js";
import { recoverEs256kSigner, secp256k1Jwk, verifierAddressOfClientId } from "./verifier-key.js";

/** Request-object parameter naming the use (a policy id) the verifier asks for; the listing must grant it. */
export const USE_PARAMETER = "civil_id_use";
/** Longest request-object lifetime a wallet accepts (s): a request answers one tap or one login. */
export const MAX_REQUEST_LIFETIME_SECONDS = 600;

/** The use policy of each use id (one table: the verifier's policies). */
export const POLICY_OF_USE: Readonly<Record<UseId, UsePolicy>> = Object.fromEntries(
  Object.values(POLICIES).map((p) => [p.id, p]),
) as Record<UseId, UsePolicy>;

export interface CheckedPresentationRequest {
  /** Who asks, as the consortium lists it: show `name` to the holder. */
  readonly verifier: { readonly name: string; readonly relyingPartyId: number; readonly address: string; readonly clientId: string };
  readonly use: UseId;
  readonly policy: UsePolicy;
  /** The claims the request asks for (a subset of the policy's). */
  readonly requestedClaims: readonly ClaimName[];
  /** Bind the presentation to these: `nonce` → VP `nonce`, `clientId` → VP `aud`. */
  readonly nonce: string;
  readonly responseUri: string;
  readonly state: string | undefined;
  /** The credential query id to put the presentation under in `vp_token`. */
  readonly credentialQueryId: string;
  /** The library's resolved request, for `Openid4vpClient.createOpenid4vpAuthorizationResponse`. */
  readonly resolved: ResolvedOpenid4vpAuthorizationRequest;
}

export interface CheckPresentationRequestOptions {
  /** The scanned QR / followed link (`openid4vp://?client_id=…&request_uri=…`) or its parameters. */
  readonly authorizationRequest: string | Record<string, unknown>;
  /** The listing as this wallet reads it (its node). */
  readonly directory: RelyingPartyDirectory;
  readonly chainId: number | bigint;
  /** fetch for the request_uri (default global fetch). */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

const refuse = (code: "INVALID_INPUT" | "VERIFIER_NOT_LISTED" | "VERIFIER_USE_NOT_ALLOWED", message: string, cause?: unknown): never => {
  throw new CivilIdError(code, message, cause === undefined ? undefined : { cause });
};

/**
 * The `verifyJwt` callback that accepts exactly our verifiers' request objects: a `did` signer of `chainId` in
 * did:ethr form, ES256K, whose signature recovers to the DID's address. Everything else is "not verified".
 */
export function listedVerifierJwtCallback(chainId: number | bigint): VerifyJwtCallback {
  return (signer, jwt) => {
    if (signer.method !== "did" || signer.alg !== "ES256K" || jwt.header.alg !== "ES256K") return { verified: false };
    const [did, fragment] = signer.didUrl.split("#");
    if (fragment !== "controller") return { verified: false };
    let address: string;
    try {
      const parsed = parseEthrDid(did);
      if (parsed.chainId !== BigInt(chainId)) return { verified: false };
      address = parsed.address;
    } catch {
      return { verified: false }; // not a did:ethr of ours: unverifiable, the library refuses the request
    }
    const publicKey = recoverEs256kSigner(jwt.compact, address);
    return publicKey === undefined ? { verified: false } : { verified: true, signerJwk: secp256k1Jwk(publicKey) };
  };
}

// Browser-safe hashes (the holder web wallet runs this check in the page), by the names the library passes. The
// profile hashes nothing but SHA-256 (request-object and x509 hashes); transaction data, which could name others,
// is not part of it.
const HASHES: Record<string, (data: Uint8Array) => Uint8Array> = { "sha-256": (d) => getBytes(sha256(d)), "sha-512": (d) => getBytes(sha512(d)) };
const unsupportedHash = (alg: string): never => {
  throw new Error(`hash algorithm ${alg} is not supported`);
};

function walletCallbacks(chainId: number | bigint, fetchImpl: typeof fetch | undefined): Omit<CallbackContext, "generateRandom" | "clientAuthentication"> {
  const unsupported = () => {
    throw new Error("encrypted requests and responses are not used by this profile");
  };
  return {
    fetch: fetchImpl ?? fetch,
    hash: (data, alg) => HASHES[alg.toLowerCase()]?.(data) ?? unsupportedHash(alg),
    verifyJwt: listedVerifierJwtCallback(chainId),
    signJwt: unsupported,
    decryptJwe: unsupported,
    encryptJwe: unsupported,
  };
}

/** An Openid4vpClient wired with the wallet callbacks (to build and submit the response after the check). */
export function walletOpenid4vpClient(chainId: number | bigint, fetchImpl?: typeof fetch): Openid4vpClient {
  return new Openid4vpClient({ callbacks: walletCallbacks(chainId, fetchImpl) });
}

/**
 * Resolves and checks a presentation request. Refuses with INVALID_INPUT (malformed, unsigned, expired, not
 * OpenID4VP 1.0 DCQL over direct_post), VERIFIER_NOT_LISTED (the signing key is not listed, retired, or its
 * relying party suspended or removed) or VERIFIER_USE_NOT_ALLOWED (listed, but not for this use, or the query
 * asks for more claims than the use discloses). Reads the listing at the wallet's node's latest block.
 */
export async function checkPresentationRequest(options: CheckPresentationRequestOptions): Promise<CheckedPresentationRequest> {
  const client = walletOpenid4vpClient(options.chainId, options.fetch);
  let resolved: ResolvedOpenid4vpAuthorizationRequest;
  try {
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: options.authorizationRequest });
    if (parsed.type !== "jar") refuse("INVALID_INPUT", "The presentation request is not a signed request object: unauthenticated verifiers are refused.");
    resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
  } catch (error) {
    if (error instanceof CivilIdError) throw error;
    const detail = error instanceof Error ? error.message.slice(0, 300) : String(error);
    return refuse("INVALID_INPUT", `The presentation request was refused: ${detail}`, error);
  }
  const jar = resolved.jar ?? refuse("INVALID_INPUT", "The presentation request is not a signed request object.");
  const payload = resolved.authorizationRequestPayload as Record<string, unknown>;
  const address = verifierAddressOfClientId(payload.client_id, options.chainId)
    ?? refuse("VERIFIER_NOT_LISTED", "The verifier does not identify as a listed verifier key of this consortium (client_id).");
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  const { iat, exp } = jar.jwt.payload as { iat?: unknown; exp?: unknown };
  if (typeof exp !== "number" || typeof iat !== "number" || exp <= now || iat > now + 60 || exp - iat > MAX_REQUEST_LIFETIME_SECONDS) {
    refuse("INVALID_INPUT", `The request object must carry iat and exp, be unexpired and live at most ${MAX_REQUEST_LIFETIME_SECONDS} s.`);
  }
  if (payload.response_mode !== "direct_post" || typeof payload.response_uri !== "string") {
    refuse("INVALID_INPUT", "Only response_mode direct_post with a response_uri is supported.");
  }
  const use = payload[USE_PARAMETER];
  if (!isUseId(use)) refuse("INVALID_INPUT", `The request names no known use (${USE_PARAMETER}).`);
  const useId = use as UseId;
  const listing = await options.directory.authorisation(address, useId);
  if (listing.relyingPartyId === 0 || listing.uses.length === 0) {
    refuse("VERIFIER_NOT_LISTED", `The verifier key ${address} is not listed by the consortium (or retired, or its relying party is suspended): do not present.`);
  }
  if (!listing.allowed) {
    refuse("VERIFIER_USE_NOT_ALLOWED", `"${listing.relyingPartyName}" is listed for ${listing.uses.join(", ")}, not for ${useId}: do not present.`);
  }
  const policy = POLICY_OF_USE[useId];
  const requested = claimsRequestedBy(resolved.dcql?.query ?? refuse("INVALID_INPUT", "The request carries no DCQL query."));
  const beyond = requested.filter((claim) => !policy.disclose.includes(claim));
  if (beyond.length > 0) refuse("VERIFIER_USE_NOT_ALLOWED", `The request asks for ${beyond.join(", ")}, which ${useId} does not disclose.`);
  return {
    verifier: { name: listing.relyingPartyName, relyingPartyId: listing.relyingPartyId, address, clientId: payload.client_id as string },
    use: useId,
    policy,
    requestedClaims: requested,
    nonce: payload.nonce as string,
    responseUri: payload.response_uri as string,
    state: typeof payload.state === "string" ? payload.state : undefined,
    credentialQueryId: CIVIL_ID_CREDENTIAL_QUERY_ID,
    resolved,
  };
}
