/**
 * OpenID4VP 1.0 from the browser. The request is checked by the SDK's own wallet-side check
 * (sdk/relying-party/presentation-request.ts: signed request object, ES256K signature recovered to the did:ethr in
 * `client_id`, the on-chain listing read through this wallet's own read-only RPC, the use's claims) — never by
 * what the verifier says about itself. The answer is a VP JWT built by the SDK's own `signPresentation`
 * (sdk/protocol/presentation.ts, VC-JWT 1.1) and signed by the device key, posted `direct_post` with `state`.
 */
import { setGlobalConfig } from "@openid4vc/utils";
import { JsonRpcProvider } from "ethers";
import { RelyingPartyRegistry__factory } from "../../sdk/chain/contracts.js";
import { checkPresentationRequest, type CheckedPresentationRequest } from "../../sdk/relying-party/presentation-request.js";
import { OnChainRelyingPartyDirectory } from "../../sdk/relying-party/registry.js";
import { DEFAULT_PRESENTATION_LIFETIME_SECONDS, signPresentation } from "../../sdk/protocol/presentation.js";
import { webCryptoSigner } from "./device-key.js";
import { parseSettings, type WalletSettings } from "./settings.js";

/** What the wallet keeps of a checked request: enough to show it and answer it later (offline too, until it expires). */
export interface HeldRequest {
  readonly verifierName: string;
  readonly verifierAddress: string;
  readonly clientId: string;
  readonly use: string;
  readonly requestedClaims: readonly string[];
  readonly nonce: string;
  readonly responseUri: string;
  readonly state: string | undefined;
  readonly credentialQueryId: string;
  /** The request object's exp (s). */
  readonly expiresAt: number;
}

export async function loadSettings(): Promise<WalletSettings> {
  const response = await fetch(new URL("../api/config", location.href), { cache: "no-cache" });
  if (!response.ok) throw new Error(`the wallet service answered ${response.status}`);
  return parseSettings(await response.json());
}


/**
 * The OpenID4VC libraries refuse plain-http URLs. A wallet served over plain http can only be a loopback development
 * one (browsers give WebCrypto and service workers to no other http origin), so only then are http verifiers accepted.
 */
function allowLoopbackDevelopment(): void {
  if (location.protocol === "http:" && (location.hostname === "localhost" || location.hostname === "127.0.0.1")) setGlobalConfig({ allowInsecureUrls: true });
}

/** The request from a scanned QR or a handed-over link (`openid4vp://?client_id=…&request_uri=…`), checked. */
export async function checkRequest(authorizationRequest: string, settings: WalletSettings): Promise<HeldRequest> {
  allowLoopbackDevelopment();
  const provider = new JsonRpcProvider(new URL(settings.rpcPath, location.origin).toString(), settings.chainId, { staticNetwork: true, batchMaxCount: 1 });
  try {
    const directory = new OnChainRelyingPartyDirectory(RelyingPartyRegistry__factory.connect(settings.relyingPartyRegistry, provider));
    const checked: CheckedPresentationRequest = await checkPresentationRequest({ authorizationRequest: authorizationRequest.trim(), directory, chainId: settings.chainId });
    const exp = (checked.resolved.jar?.jwt.payload as { exp?: number } | undefined)?.exp ?? 0;
    return {
      verifierName: checked.verifier.name, verifierAddress: checked.verifier.address, clientId: checked.verifier.clientId, use: checked.use,
      requestedClaims: checked.requestedClaims, nonce: checked.nonce, responseUri: checked.responseUri, state: checked.state,
      credentialQueryId: checked.credentialQueryId, expiresAt: exp,
    };
  } finally {
    provider.destroy();
  }
}

/** The VP JWT for a held request: the holder DID as `iss`, the verifier's `client_id` as `aud`, its nonce. */
export function buildPresentation(request: HeldRequest, holder: { did: string; key: CryptoKey }, credentialJwt: string): Promise<string> {
  return signPresentation({
    holder: holder.did, signer: webCryptoSigner(holder.key), credential: credentialJwt,
    challenge: request.nonce, audience: request.clientId, expiresInSeconds: DEFAULT_PRESENTATION_LIFETIME_SECONDS, now: Math.floor(Date.now() / 1000),
  });
}

export type PresentationOutcome =
  | { readonly accepted: true; readonly redirectUri?: string }
  | { readonly accepted: false; readonly error: string; readonly description: string; readonly reasons: readonly string[] };

/** Posts the answer (`direct_post`); the verifier's refusal comes back with its reasons. Throws when unreachable. */
export async function submitPresentation(request: HeldRequest, vp: string): Promise<PresentationOutcome> {
  const form = new URLSearchParams({ vp_token: JSON.stringify({ [request.credentialQueryId]: [vp] }) });
  if (request.state !== undefined) form.set("state", request.state);
  const response = await fetch(request.responseUri, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString(), credentials: "omit", cache: "no-store",
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.ok) return { accepted: true, ...(typeof body.redirect_uri === "string" ? { redirectUri: body.redirect_uri } : {}) };
  const reasons = Array.isArray(body.reasons) ? body.reasons.map((r) => (typeof r === "string" ? r : JSON.stringify(r))) : [];
  return {
    accepted: false,
    error: typeof body.error === "string" ? body.error : `HTTP ${response.status}`,
    description: typeof body.error_description === "string" ? body.error_description : "The verifier refused the presentation.",
    reasons,
  };
}
