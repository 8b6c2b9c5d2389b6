/**
 * Tools to craft (and break) JWTs the way an attacker would: sign arbitrary headers and payloads with did-jwt's
 * ES256KSigner, swap or flip parts, turn a signature into its high-s twin. Used by the verifier's adversarial
 * suites; nothing here is used by the SDK.
 */
import { createHmac } from "node:crypto";
import { expect } from "chai";
import { ES256KSigner } from "did-jwt";
import { getBytes, type HDNodeWallet, type Wallet } from "ethers";
import { CIVIL_SERVANT_ID_TYPE, makeCredentialId } from "../../../sdk/chain/codes.js";
import type { CredentialStatusRegistry } from "../../../sdk/chain/contracts.js";
import { didForAddress } from "../../../sdk/did/did.js";
import {
  CIVIL_ID_CONTEXT,
  VC_CONTEXT_V1,
  deviceKeyJwk,
  parseCredentialJwt,
  statusRef,
  type CivilServantClaims,
} from "../../../sdk/credential/index.js";
import { StatusClient } from "../../../sdk/status/client.js";

export type Holder = Wallet | HDNodeWallet;

/** secp256k1 group order. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

export function parts(jwt: string): [string, string, string] {
  const p = jwt.split(".");
  if (p.length !== 3) throw new Error(`not a compact JWS: ${jwt.slice(0, 40)}`);
  return [p[0]!, p[1]!, p[2]!];
}

export function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Signs `header.payload` (given as already-encoded parts) with an ES256K key; returns the compact JWS. */
export async function signParts(headerPart: string, payloadPart: string, privateKey: string): Promise<string> {
  const input = `${headerPart}.${payloadPart}`;
  const signature = await ES256KSigner(getBytes(privateKey))(input);
  return `${input}.${signature}`;
}

/** Signs an arbitrary header and payload with an ES256K key (did-jwt's signer: low-s, 64-byte r‖s). */
export async function signJws(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: string): Promise<string> {
  return signParts(b64json(header), b64json(payload), privateKey);
}

/** Replaces one part (0 header, 1 payload, 2 signature) of a compact JWS, keeping the others. */
export function withPart(jwt: string, index: 0 | 1 | 2, part: string): string {
  const p = parts(jwt);
  p[index] = part;
  return p.join(".");
}

/** Flips one bit of the decoded signature. */
export function flipSignatureBit(jwt: string): string {
  const sig = Buffer.from(parts(jwt)[2], "base64url");
  sig[10] = sig[10]! ^ 0x01;
  return withPart(jwt, 2, sig.toString("base64url"));
}

/** The malleable twin of a valid ES256K signature: same r, s' = n − s (mathematically valid, high-s). */
export function withHighS(jwt: string): string {
  const sig = Buffer.from(parts(jwt)[2], "base64url");
  if (sig.length !== 64) throw new Error("expected a 64-byte r‖s signature");
  const s = BigInt("0x" + sig.subarray(32).toString("hex"));
  const high = (SECP256K1_N - s).toString(16).padStart(64, "0");
  return withPart(jwt, 2, Buffer.concat([sig.subarray(0, 32), Buffer.from(high, "hex")]).toString("base64url"));
}

/** An unsigned JWS with `alg: none` (empty signature part is not base64url, so a placeholder is used too). */
export function algNone(header: Record<string, unknown>, payload: Record<string, unknown>, signaturePart = ""): string {
  return `${b64json({ ...header, alg: "none" })}.${b64json(payload)}.${signaturePart}`;
}

/** The classic algorithm-confusion forgery: HS256 keyed with the (public) key material a verifier knows. */
export function hs256WithSecret(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64json({ ...header, alg: "HS256" })}.${b64json(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

export interface CredentialSpec {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly credentialId: bigint;
  readonly holder: Holder;
  readonly issuerAddress: string;
  readonly claims: CivilServantClaims;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly type?: string;
  /** Chain id written in the DIDs and the status reference (default `chainId`). */
  readonly didChainId?: number;
}

/** The payload of a credential in our format (exactly what `issueCredentialJwt` produces), for crafting variants. */
export function credentialPayload(spec: CredentialSpec): Record<string, unknown> {
  const chain = spec.didChainId ?? spec.chainId;
  const holderDid = didForAddress(chain, spec.holder.address);
  return {
    vc: {
      "@context": [VC_CONTEXT_V1, CIVIL_ID_CONTEXT],
      type: ["VerifiableCredential", spec.type ?? CIVIL_SERVANT_ID_TYPE],
      credentialSubject: { ...spec.claims, deviceKey: deviceKeyJwk(spec.holder.signingKey.publicKey) },
      credentialStatus: statusRef(chain, spec.statusRegistry, spec.credentialId),
    },
    sub: holderDid,
    iat: spec.iat,
    nbf: spec.nbf,
    exp: spec.exp,
    jti: `urn:mcid:credential:${chain}:${spec.credentialId}`,
    iss: didForAddress(chain, spec.issuerAddress),
  };
}

export interface PresentationFields {
  /** Values to set; a key given as `undefined` is removed from the payload. */
  readonly [claim: string]: unknown;
}

/**
 * A presentation JWT signed by `signer` (default: the holder) embedding `credentials`, with iss = the holder's DID,
 * iat = now, exp = now + 30 unless `fields` say otherwise.
 */
export async function craftPresentation(
  chainId: number,
  holder: Holder,
  credentials: readonly unknown[],
  fields: PresentationFields,
  options: { signer?: Holder; header?: Record<string, unknown> } = {},
): Promise<string> {
  const t = nowSeconds();
  const payload: Record<string, unknown> = {
    vp: { "@context": [VC_CONTEXT_V1], type: ["VerifiablePresentation"], verifiableCredential: [...credentials] },
    iss: didForAddress(chainId, holder.address),
    iat: t,
    exp: t + 30,
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete payload[key];
    else payload[key] = value;
  }
  return signJws(options.header ?? { alg: "ES256K", typ: "JWT" }, payload, (options.signer ?? holder).privateKey);
}

export interface CraftedRegistration {
  readonly jwt: string;
  readonly credentialId: bigint;
  /** The binding digest registered with it (computed from the JWT, as a verifier does). */
  readonly digest: string;
}

/**
 * Registers a crafted credential on chain with ITS OWN binding digest, so that a verifier finds in it only the defect
 * it was crafted with (and not CREDENTIAL_BINDING_MISMATCH as well). The id is predicted from the organisation's next
 * sequence, `craft` signs the credential naming that id, the digest is computed from the JWT, and the registration is
 * checked to have assigned exactly the predicted id. `registry` must be connected to a Registrar of `agencyCode`.
 */
export async function registerCrafted(
  target: { readonly registry: CredentialStatusRegistry; readonly agencyCode: number; readonly holderRef: string },
  craft: (credentialId: bigint) => Promise<string>,
): Promise<CraftedRegistration> {
  const predicted = makeCredentialId(target.agencyCode, await target.registry.nextSequence(target.agencyCode));
  const jwt = await craft(predicted);
  const parsed = parseCredentialJwt(jwt);
  expect(parsed.credentialId, "the crafted credential names the predicted id").to.equal(predicted);
  const { credentialId } = await new StatusClient(target.registry).register(target.holderRef, parsed.bindingDigest);
  expect(credentialId, "the registry assigned the predicted id").to.equal(predicted);
  return { jwt, credentialId, digest: parsed.bindingDigest };
}
