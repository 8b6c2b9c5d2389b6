/**
 * Building a credential: validate and fix its content (draft), then — once the status registry assigned its id —
 * sign it. Pure apart from the signature: the issuer's workflow does the registration in between. The signed JWT
 * is run through {@link parseCredentialJwt}, the parser wallets and verifiers use, so an issuer never hands out
 * a credential they would refuse.
 */
import { createVerifiableCredentialJwt, type Issuer } from "did-jwt-vc";
import { ES256KSigner } from "did-jwt";
import { SigningKey, computeAddress, getAddress, getBytes } from "ethers";
import { CivilIdError } from "../errors.js";
import { CIVIL_SERVANT_ID_TYPE, agencyOfCredential, sequenceOfCredential } from "../chain/codes.js";
import { didForAddress, isCanonicalEthrDid, parseEthrDid } from "../did/did.js";
import { parseHolderDid } from "../did/holder.js";
import { bindingDigest, statusRef, type CredentialBinding } from "./binding.js";
import { checkDeviceKeyJwk, deviceKeyMatchesHolder, type DeviceKeyJwk } from "./device-key.js";
import { CIVIL_ID_CONTEXT, VC_CONTEXT_V1, type CivilServantClaims, type StatusListRef } from "./model.js";
import { credentialJti, credentialRefusalReason, parseCredentialJwt, parseStatusListRef, validateClaims } from "./parse.js";

export interface CredentialDraftInput {
  readonly chainId: number;
  readonly statusRegistry: string;
  /** did:ethr (secp256k1 device key) or did:jwk (P-256 device key); written in its canonical spelling. */
  readonly holderDid: string;
  readonly deviceKey: DeviceKeyJwk;
  readonly claims: CivilServantClaims;
  /** Issuance time, unix seconds; default now. Verifiers check the issuer key was valid at this time. */
  readonly issuedAt?: number;
  /** Unix seconds; default the issuance time. */
  readonly validFrom?: number;
  /** Unix seconds; must be after validFrom. */
  readonly validUntil: number;
  /** If set, the credential carries an IETF Token Status List reference under `<base>/status-lists/<agency>`. */
  readonly statusListBaseUrl?: string;
}

export interface IssueCredentialInput extends CredentialDraftInput {
  readonly credentialId: bigint;
}

/** A validated credential content with fixed times, ready to register (by its binding digest) and then sign. */
export interface CredentialDraft extends CredentialBinding {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly digest: string;
  readonly statusListBaseUrl?: string;
}

/** An ES256K did-jwt issuer for an issuer key held as a hex private key. */
export function issuerFromPrivateKey(chainId: number, privateKey: string): Issuer {
  const key = new SigningKey(privateKey);
  return { did: didForAddress(chainId, computeAddress(key.publicKey)), signer: ES256KSigner(getBytes(key.privateKey)), alg: "ES256K" };
}

function invalid(message: string, cause?: unknown): CivilIdError {
  return new CivilIdError("INVALID_INPUT", message, cause === undefined ? undefined : { cause });
}

/** Validates a credential's content and fixes its times: step 1 of issuance (then register, then sign). */
export function draftCredential(issuer: Issuer, input: CredentialDraftInput): CredentialDraft {
  let claims: CivilServantClaims;
  let deviceKey: DeviceKeyJwk;
  try {
    claims = validateClaims(input.claims);
    deviceKey = checkDeviceKeyJwk(input.deviceKey);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error), error);
  }
  if (!isCanonicalEthrDid(issuer.did) || issuer.alg !== "ES256K") throw invalid("The issuer must be an ES256K key with a canonical did:ethr DID.");
  const issuerChain = parseEthrDid(issuer.did).chainId;
  const holder = parseHolderDid(input.holderDid);
  if (holder === undefined) throw invalid("The holder DID must be a did:ethr (secp256k1 device key) or a did:jwk (P-256 device key).");
  if (issuerChain !== BigInt(input.chainId) || (holder.method === "ethr" && holder.chainId !== issuerChain)) {
    throw invalid("The issuer DID, the holder DID and chainId must name the same chain.");
  }
  if (!deviceKeyMatchesHolder(deviceKey, holder.did)) throw invalid("The device key does not belong to the holder DID.");
  const issuedAt = input.issuedAt ?? Math.floor(Date.now() / 1000);
  const validFrom = input.validFrom ?? issuedAt;
  if (!(input.validUntil > validFrom)) throw invalid("validUntil must be after validFrom.");
  if (input.statusListBaseUrl !== undefined && !/^https?:\/\/[^\s]+[^/\s]$/.test(input.statusListBaseUrl)) {
    throw invalid("statusListBaseUrl must be an http(s) URL without a trailing slash.");
  }
  const binding: CredentialBinding = {
    issuerDid: issuer.did, subjectDid: holder.did, credentialType: CIVIL_SERVANT_ID_TYPE, claims, deviceKey,
    issuedAt, validFrom, validUntil: input.validUntil,
  };
  return {
    ...binding,
    chainId: input.chainId,
    statusRegistry: getAddress(input.statusRegistry),
    digest: bindingDigest(binding),
    ...(input.statusListBaseUrl === undefined ? {} : { statusListBaseUrl: input.statusListBaseUrl }),
  };
}

/** Signs a drafted credential once the status registry assigned its id: step 3 of issuance. */
export async function signCredential(issuer: Issuer, draft: CredentialDraft, credentialId: bigint): Promise<string> {
  if (issuer.did !== draft.issuerDid) throw invalid("The draft was made for another issuer key.");
  if (agencyOfCredential(credentialId) !== draft.claims.agencyCode) throw invalid("The credential id belongs to another organisation than the claims name.");
  const status: StatusListRef | undefined = draft.statusListBaseUrl === undefined ? undefined : parseStatusListRef(
    { status_list: { idx: Number(sequenceOfCredential(credentialId)), uri: `${draft.statusListBaseUrl}/status-lists/${draft.claims.agencyCode}` } },
    credentialId,
  );
  const jwt = await createVerifiableCredentialJwt(
    {
      sub: draft.subjectDid,
      iat: draft.issuedAt,
      nbf: draft.validFrom,
      exp: draft.validUntil,
      jti: credentialJti(draft.chainId, credentialId),
      ...(status === undefined ? {} : { status }),
      vc: {
        "@context": [VC_CONTEXT_V1, CIVIL_ID_CONTEXT],
        type: ["VerifiableCredential", draft.credentialType],
        credentialSubject: { ...draft.claims, deviceKey: draft.deviceKey },
        credentialStatus: statusRef(draft.chainId, draft.statusRegistry, credentialId),
      },
    },
    issuer,
  );
  try {
    parseCredentialJwt(jwt);
  } catch (error) {
    throw invalid(`The signed credential would be refused by wallets and verifiers (${credentialRefusalReason(error) ?? "unknown"}).`, error);
  }
  return jwt;
}

/** Drafts and signs in one step, for a credential id already known (e.g. re-signing after a crash). */
export async function issueCredentialJwt(issuer: Issuer, input: IssueCredentialInput): Promise<string> {
  return signCredential(issuer, draftCredential(issuer, input), input.credentialId);
}
