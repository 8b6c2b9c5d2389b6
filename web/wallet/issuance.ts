/**
 * OpenID4VCI 1.0 from the browser, the pre-authorized code flow the issuer serves (docs/SERVICES.md, protocol
 * profile): the SMS link is the `credential_offer_uri`; the holder's identity re-check releases it; the activation
 * code is the `tx_code`; the proof is an `openid4vci-proof+jwt` by the device key (ES256, `jwk` header: the issuer
 * makes it the holder's did:jwk); a deferred answer is polled. Every answer is checked for the fields used.
 */
import { CivilIdError } from "../../sdk/errors.js";
import { signJws } from "../../sdk/credential/jws.js";
import type { P256Jwk } from "../../sdk/did/jwk-format.js";
import { webCryptoSigner } from "./device-key.js";

const PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
export const CREDENTIAL_CONFIGURATION_ID = "CivilServantIdCredential";
const MAX_DEFERRED_POLLS = 60;

/** A service's refusal, with the OAuth error code and its description (shown to the holder). */
export class ServiceRefusal extends Error {
  constructor(readonly status: number, readonly error: string, description: string) {
    super(description);
    this.name = "ServiceRefusal";
  }
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, credentials: "omit", cache: "no-store" });
  } catch (error) {
    throw new CivilIdError("CHAIN_UNREACHABLE", `Cannot reach ${new URL(url).origin}: check the connection and try again.`, { cause: error });
  }
  const text = await response.text();
  let body: unknown = {};
  if (text !== "") {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new ServiceRefusal(response.status, "invalid_response", `${new URL(url).origin} answered something that is not JSON.`);
    }
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ServiceRefusal(response.status, "invalid_response", "The service answered an unexpected body.");
  const record = body as Record<string, unknown>;
  if (response.status >= 400) {
    const error = typeof record.error === "string" ? record.error : "error";
    const description = typeof record.error_description === "string" ? record.error_description : `HTTP ${response.status}`;
    throw new ServiceRefusal(response.status, error, description);
  }
  return { status: response.status, body: record };
}

const text = (value: unknown, what: string): string => {
  if (typeof value !== "string" || value === "") throw new ServiceRefusal(502, "invalid_response", `The issuer's answer lacks ${what}.`);
  return value;
};

export interface CredentialOffer {
  readonly offerUri: string;
  readonly credentialIssuer: string;
  readonly preAuthorizedCode: string;
  readonly txCode: { readonly length?: number; readonly inputMode?: string; readonly description?: string } | undefined;
}

/**
 * The offer link from the SMS, in any of the forms a holder may have: the `credential_offer_uri` itself, an
 * `openid-credential-offer://?credential_offer_uri=…` link, or the wallet page's `#offer=…` hand-off.
 */
export function offerUriOf(input: string): string {
  const value = input.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CivilIdError("INVALID_INPUT", "Paste the whole link from the SMS (it starts with https://).");
  }
  if (url.protocol === "openid-credential-offer:") {
    const inner = url.searchParams.get("credential_offer_uri");
    if (inner === null) throw new CivilIdError("INVALID_INPUT", "This offer is not by reference (credential_offer_uri): ask HR to send the link again.");
    return offerUriOf(inner);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new CivilIdError("INVALID_INPUT", "The SMS link must be an https link.");
  return url.toString();
}

/** The link's token (the identity re-check needs it). */
function linkToken(offerUri: string): string {
  const token = new URL(offerUri).searchParams.get("token");
  if (token === null) throw new CivilIdError("INVALID_INPUT", "The SMS link carries no token: paste the whole link.");
  return token;
}

/**
 * Fetches the offer. Answers `{ identityRecheck: true }` when the issuer first wants the holder's identity checked
 * again (403 access_denied: the link is released only after the re-check).
 */
export async function fetchOffer(offerUri: string): Promise<{ offer: CredentialOffer } | { identityRecheck: true }> {
  let body: Record<string, unknown>;
  try {
    ({ body } = await call(offerUri, { headers: { accept: "application/json" } }));
  } catch (error) {
    if (error instanceof ServiceRefusal && error.status === 403 && error.error === "access_denied") return { identityRecheck: true };
    throw error;
  }
  const grant = (body.grants as Record<string, Record<string, unknown>> | undefined)?.[PRE_AUTHORIZED_GRANT];
  const ids = body.credential_configuration_ids;
  if (grant === undefined || !Array.isArray(ids) || !ids.includes(CREDENTIAL_CONFIGURATION_ID)) {
    throw new ServiceRefusal(502, "invalid_response", "The link is not an offer of the civil-servant ID (pre-authorized code).");
  }
  const tx = grant.tx_code as Record<string, unknown> | undefined;
  return {
    offer: {
      offerUri,
      credentialIssuer: text(body.credential_issuer, "credential_issuer"),
      preAuthorizedCode: text(grant["pre-authorized_code"], "the pre-authorized code"),
      txCode: tx === undefined ? undefined : {
        ...(typeof tx.length === "number" ? { length: tx.length } : {}),
        ...(typeof tx.input_mode === "string" ? { inputMode: tx.input_mode } : {}),
        ...(typeof tx.description === "string" ? { description: tx.description } : {}),
      },
    },
  };
}

/** Identity re-check, step 1: the issuer texts a one-time code to the phone HR registered. */
export async function startIdentityRecheck(offerUri: string): Promise<void> {
  const base = new URL(offerUri);
  await call(`${base.origin}${base.pathname}/identity`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: linkToken(offerUri) }) });
}

/** Identity re-check, step 2: name, employee reference and the texted code; answers the released offer link. */
export async function verifyIdentityRecheck(offerUri: string, evidence: { name: string; employeeRef: string; code: string }): Promise<string> {
  const base = new URL(offerUri);
  const { body } = await call(`${base.origin}${base.pathname}/identity/verify`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: linkToken(offerUri), ...evidence }),
  });
  return text(body.credential_offer_uri, "credential_offer_uri");
}

export interface IssuerMetadata {
  readonly credentialIssuer: string;
  readonly tokenEndpoint: string;
  readonly credentialEndpoint: string;
  readonly nonceEndpoint: string;
  readonly deferredEndpoint: string | undefined;
  readonly notificationEndpoint: string | undefined;
  readonly name: string;
}

export async function fetchIssuerMetadata(credentialIssuer: string): Promise<IssuerMetadata> {
  const { body: issuer } = await call(`${credentialIssuer}/.well-known/openid-credential-issuer`);
  if (issuer.credential_issuer !== credentialIssuer) throw new ServiceRefusal(502, "invalid_response", "The issuer's metadata names another credential issuer.");
  const servers = Array.isArray(issuer.authorization_servers) ? issuer.authorization_servers : [credentialIssuer];
  const authorizationServer = typeof servers[0] === "string" ? servers[0] : credentialIssuer;
  const { body: as } = await call(`${authorizationServer}/.well-known/oauth-authorization-server`);
  const display = Array.isArray(issuer.display) ? (issuer.display as Array<Record<string, unknown>>) : [];
  const name = display.find((d) => typeof d.locale === "string" && d.locale.startsWith("ko"))?.name ?? display[0]?.name;
  return {
    credentialIssuer,
    tokenEndpoint: text(as.token_endpoint, "token_endpoint"),
    credentialEndpoint: text(issuer.credential_endpoint, "credential_endpoint"),
    nonceEndpoint: text(issuer.nonce_endpoint, "nonce_endpoint"),
    deferredEndpoint: typeof issuer.deferred_credential_endpoint === "string" ? issuer.deferred_credential_endpoint : undefined,
    notificationEndpoint: typeof issuer.notification_endpoint === "string" ? issuer.notification_endpoint : undefined,
    name: typeof name === "string" ? name : new URL(credentialIssuer).host,
  };
}

/** The token request with the activation code; a wrong code is the issuer's `invalid_grant` (attempts are counted there). */
export async function redeemOffer(metadata: IssuerMetadata, offer: CredentialOffer, txCode: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": offer.preAuthorizedCode, tx_code: txCode });
  const { body } = await call(metadata.tokenEndpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() });
  return text(body.access_token, "access_token");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Proves possession of the device key over a fresh nonce and collects the credential (polling a deferred answer
 * at the issuer's interval). `notify` tells the issuer `credential_accepted`: call it once the credential is stored.
 */
export async function collectCredential(metadata: IssuerMetadata, accessToken: string, key: CryptoKey, publicJwk: P256Jwk): Promise<{ jwt: string; notify: () => Promise<void> }> {
  const { body: nonceBody } = await call(metadata.nonceEndpoint, { method: "POST" });
  const proof = await signJws({ typ: "openid4vci-proof+jwt", jwk: publicJwk }, {
    aud: metadata.credentialIssuer, iat: Math.floor(Date.now() / 1000), nonce: text(nonceBody.c_nonce, "c_nonce"),
  }, webCryptoSigner(key));
  const authorised = { authorization: `Bearer ${accessToken}`, "content-type": "application/json" };
  let answer = await call(metadata.credentialEndpoint, {
    method: "POST", headers: authorised, body: JSON.stringify({ credential_configuration_id: CREDENTIAL_CONFIGURATION_ID, proofs: { jwt: [proof] } }),
  });
  for (let polls = 0; answer.status === 202; polls++) {
    if (metadata.deferredEndpoint === undefined || polls >= MAX_DEFERRED_POLLS) throw new ServiceRefusal(504, "issuance_pending", "The issuer is still registering the ID; try again in a minute.");
    const interval = typeof answer.body.interval === "number" ? Math.min(Math.max(answer.body.interval, 1), 30) : 5;
    await sleep(interval * 1000);
    answer = await call(metadata.deferredEndpoint, { method: "POST", headers: authorised, body: JSON.stringify({ transaction_id: text(answer.body.transaction_id, "transaction_id") }) });
  }
  const credentials = answer.body.credentials;
  const first = Array.isArray(credentials) ? (credentials[0] as Record<string, unknown> | undefined) : undefined;
  const jwt = text(first?.credential, "the credential");
  const notificationId = answer.body.notification_id;
  const notify = async () => {
    if (metadata.notificationEndpoint === undefined || typeof notificationId !== "string") return;
    await call(metadata.notificationEndpoint, { method: "POST", headers: authorised, body: JSON.stringify({ notification_id: notificationId, event: "credential_accepted" }) });
  };
  return { jwt, notify };
}
