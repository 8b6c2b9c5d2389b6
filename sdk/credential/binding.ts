import { AbiCoder, ParamType, getAddress, keccak256 } from "ethers";
import type { CivilServantClaims, CredentialStatusRef } from "./model.js";
import { STATUS_TYPE } from "./model.js";
import type { DeviceKeyJwk } from "./device-key.js";

/** The fields of a credential that its on-chain status entry binds (everything but the id and the signature). */
export interface CredentialBinding {
  readonly issuerDid: string;
  readonly subjectDid: string;
  readonly credentialType: string;
  readonly claims: CivilServantClaims;
  readonly deviceKey: DeviceKeyJwk;
  readonly issuedAt: number;
  readonly validFrom: number;
  readonly validUntil: number;
}

const BINDING_TAG = "mcid-credential-binding/v2";
// Parsed once: parsing the type strings on every call was most of the digest's cost (a verifier computes one per
// new credential on its hot path).
const BINDING_TYPES = [
  "string", "string", "string", "string", "string", "uint32", "string", "string", "string", "string",
  "string", "string", "string", "uint64", "uint64", "uint64",
].map((t) => ParamType.from(t));
const ABI = AbiCoder.defaultAbiCoder();

/**
 * The digest registered on chain with a credential: keccak256 of the ABI encoding of its binding fields, in a fixed
 * order (no JSON canonicalisation needed). It is known before the contract assigns the id, and a verifier recomputes
 * it from the presented JWT: a JWT naming a registered id with any other content — other claims, another device
 * key (curve included), another issuer key, other dates — is refused, even if signed by a key of the same
 * organisation. v2 binds the device key's curve (v1 bound x and y only, when secp256k1 was the only curve).
 */
export function bindingDigest(b: CredentialBinding): string {
  return keccak256(
    ABI.encode(BINDING_TYPES, [
      BINDING_TAG, b.issuerDid, b.subjectDid, b.credentialType, b.claims.name, b.claims.agencyCode,
      b.claims.organisation, b.claims.department, b.claims.position, b.claims.employeeRef,
      b.deviceKey.crv, b.deviceKey.x, b.deviceKey.y, b.issuedAt, b.validFrom, b.validUntil,
    ]),
  );
}

/** The `vc.credentialStatus` of a credential id on a deployment. */
export function statusRef(chainId: number, statusRegistry: string, credentialId: bigint): CredentialStatusRef {
  const registry = getAddress(statusRegistry);
  return {
    id: `eip155:${chainId}:${registry}#${credentialId}`,
    type: STATUS_TYPE,
    chainId,
    statusRegistry: registry,
    credentialId: credentialId.toString(),
  };
}
