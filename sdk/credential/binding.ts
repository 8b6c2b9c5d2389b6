import { keccak256, toUtf8Bytes } from "ethers";
import { checksumAddress } from "../did/did.js";
import { CivilIdError } from "../errors.js";
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

/**
 * The ABI layout of the binding, fixed: 16 head words, in this order (`string` fields are dynamic, the others
 * static): tag, issuerDid, subjectDid, credentialType, name, agencyCode (uint32), organisation, department,
 * position, employeeRef, crv, x, y, issuedAt, validFrom, validUntil (uint64). The same bytes as
 * `AbiCoder.encode(["string", …], […])` (test/ts/credential/binding.test.ts checks it against ethers' coder), built
 * without the generic coder: a gate computes one digest per credential it has not seen, on the tap's hot path.
 */
const HEAD_WORDS = 16;
const AGENCY_CODE_WORD = 5;
const TIME_WORDS = [13, 14, 15] as const;
const STRING_WORDS = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12] as const;
const UINT32_LIMIT = 2 ** 32;

/**
 * The digest registered on chain with a credential: keccak256 of the ABI encoding of its binding fields, in a fixed
 * order (no JSON canonicalisation needed). It is known before the contract assigns the id, and a verifier recomputes
 * it from the presented JWT: a JWT naming a registered id with any other content — other claims, another device
 * key (curve included), another issuer key, other dates — is refused, even if signed by a key of the same
 * organisation. v2 binds the device key's curve (v1 bound x and y only, when secp256k1 was the only curve).
 */
export function bindingDigest(b: CredentialBinding): string {
  return keccak256(encodeBinding(b));
}

/** The ABI encoding the digest hashes (exported for the equivalence test against ethers' coder). */
export function encodeBinding(b: CredentialBinding): Uint8Array {
  const strings = [
    BINDING_TAG, b.issuerDid, b.subjectDid, b.credentialType, b.claims.name, b.claims.organisation,
    b.claims.department, b.claims.position, b.claims.employeeRef, b.deviceKey.crv, b.deviceKey.x, b.deviceKey.y,
  ].map(utf8);
  const lengths = strings.map((bytes) => (typeof bytes === "string" ? Buffer.byteLength(bytes, "utf8") : bytes.length));
  let size = HEAD_WORDS * 32;
  for (const length of lengths) size += 32 + padded(length);
  const out = Buffer.alloc(size); // zero-filled: the high bytes of every word and the string padding
  let tail = HEAD_WORDS * 32;
  strings.forEach((bytes, i) => {
    const length = lengths[i]!;
    out.writeUInt32BE(tail, STRING_WORDS[i]! * 32 + 28); // offsets are below 2^32 (a JWT is at most 16 KiB)
    out.writeUInt32BE(length, tail + 28);
    if (typeof bytes === "string") out.write(bytes, tail + 32, "utf8");
    else out.set(bytes, tail + 32);
    tail += 32 + padded(length);
  });
  writeUint(out, AGENCY_CODE_WORD, b.claims.agencyCode, UINT32_LIMIT, "agencyCode");
  const times = [b.issuedAt, b.validFrom, b.validUntil];
  TIME_WORDS.forEach((word, i) => writeUint(out, word, times[i]!, Number.MAX_SAFE_INTEGER + 1, "a credential time"));
  return out;
}

/**
 * A well-formed string stays a string (written by Buffer as UTF-8, the same bytes as ethers' `toUtf8Bytes`); one
 * with a surrogate code unit goes through `toUtf8Bytes` itself, whose treatment of unpaired surrogates (a lone high
 * one is refused, a lone low one encoded as three bytes) Buffer does not share.
 */
function utf8(value: string): string | Uint8Array {
  if (typeof value !== "string") throw new CivilIdError("INVALID_INPUT", "A credential binding field is not a string.");
  return SURROGATE.test(value) ? toUtf8Bytes(value) : value;
}
const SURROGATE = /[\uD800-\uDFFF]/;

const padded = (length: number): number => Math.ceil(length / 32) * 32;

function writeUint(out: Buffer, word: number, value: number, limit: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= limit) {
    throw new CivilIdError("INVALID_INPUT", `The credential binding's ${name} (${String(value)}) is not an unsigned integer in range.`);
  }
  const end = word * 32 + 32;
  out.writeUInt32BE(value % UINT32_LIMIT, end - 4);
  out.writeUInt32BE(Math.floor(value / UINT32_LIMIT), end - 8);
}

/** The `vc.credentialStatus` of a credential id on a deployment. */
export function statusRef(chainId: number, statusRegistry: string, credentialId: bigint): CredentialStatusRef {
  const registry = checksumAddress(statusRegistry);
  if (registry === undefined) throw new CivilIdError("INVALID_INPUT", `${statusRegistry} is not an address.`);
  return {
    id: `eip155:${chainId}:${registry}#${credentialId}`,
    type: STATUS_TYPE,
    chainId,
    statusRegistry: registry,
    credentialId: credentialId.toString(),
  };
}
