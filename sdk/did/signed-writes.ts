/**
 * EIP-712 payloads of the ledger's signed (relayable) writes:
 *  - DIDRegistry `changeOwnerSigned`, `addDelegateSigned`, `revokeDelegateSigned`, `setAttributeSigned`,
 *    `revokeAttributeSigned` (domain "CivilIdDIDRegistry" / "1"), signed by the identity's current owner;
 *  - ConsortiumGovernor `approveBySig` (domain "CivilIdConsortiumGovernor" / "1"), signed by a member ministry.
 *
 * The helpers are faithful encoders: they check that every field fits its Solidity type, but leave business rules
 * (deadline in the future, positive validity, the signer being the owner) to the contract, which is the single
 * source of truth and says precisely why it refuses. Signing is delegated to ethers' `Signer.signTypedData`.
 */
import {
  Signature,
  getAddress,
  hexlify,
  isBytesLike,
  isHexString,
  keccak256,
  toUtf8Bytes,
  verifyTypedData,
  zeroPadBytes,
  type BytesLike,
  type Signer,
  type TypedDataField,
} from "ethers";
import { CivilIdError, describeValue } from "../errors.js";

/** Name and version the DIDRegistry passes to OpenZeppelin's EIP712 constructor. */
export const DID_REGISTRY_EIP712 = { name: "CivilIdDIDRegistry", version: "1" } as const;
/** Name and version the ConsortiumGovernor passes to OpenZeppelin's EIP712 constructor. */
export const GOVERNOR_EIP712 = { name: "CivilIdConsortiumGovernor", version: "1" } as const;

/** Primary types of the DIDRegistry's signed writes. */
export type DidWriteType = "ChangeOwner" | "AddDelegate" | "RevokeDelegate" | "SetAttribute" | "RevokeAttribute";

/**
 * Struct fields of the DIDRegistry's typehashes, in the exact order of the Solidity type strings
 * (contracts/did/DIDRegistry.sol): a field out of order changes the typehash and every signature fails.
 */
export const DID_REGISTRY_TYPES: Readonly<Record<DidWriteType, readonly TypedDataField[]>> = {
  ChangeOwner: [
    { name: "identity", type: "address" },
    { name: "newOwner", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  AddDelegate: [
    { name: "identity", type: "address" },
    { name: "delegateType", type: "bytes32" },
    { name: "delegate", type: "address" },
    { name: "validity", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  RevokeDelegate: [
    { name: "identity", type: "address" },
    { name: "delegateType", type: "bytes32" },
    { name: "delegate", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  SetAttribute: [
    { name: "identity", type: "address" },
    { name: "name", type: "bytes32" },
    { name: "value", type: "bytes" },
    { name: "validity", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  RevokeAttribute: [
    { name: "identity", type: "address" },
    { name: "name", type: "bytes32" },
    { name: "value", type: "bytes" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** Struct of ConsortiumGovernor's APPROVE_TYPEHASH; `dataHash` is keccak256 of the proposal's call data. */
export const GOVERNOR_TYPES: Readonly<{ Approve: readonly TypedDataField[] }> = {
  Approve: [
    { name: "proposalId", type: "uint256" },
    { name: "target", type: "address" },
    { name: "dataHash", type: "bytes32" },
    { name: "expiresAt", type: "uint64" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** An EIP-712 domain with the four fields OpenZeppelin's EIP712 uses (no salt). */
export interface Eip712Domain {
  readonly name: string;
  readonly version: string;
  readonly chainId: bigint;
  readonly verifyingContract: string;
}

/** What the signer commits to besides the call itself: its current on-chain nonce and a deadline (unix s). */
export interface SignatureAuth {
  /** `DIDRegistry.nonce(owner)` or `ConsortiumGovernor.nonces(member)` at signing time. */
  readonly nonce: bigint | number;
  /** Last unix second (inclusive) at which the contract accepts the signature. */
  readonly deadline: bigint | number;
}

/** The full EIP-712 payload, e.g. for a remote or hardware signer (`eth_signTypedData_v4`). */
export interface TypedDataPayload {
  readonly domain: Eip712Domain;
  readonly primaryType: string;
  readonly types: Record<string, TypedDataField[]>;
  readonly message: Record<string, string | bigint>;
}

/** A DIDRegistry `*Signed` authorisation: the split signature plus the deadline to pass along. */
export interface DidWriteSignature {
  readonly v: number;
  readonly r: string;
  readonly s: string;
  readonly nonce: bigint;
  readonly deadline: bigint;
  /** Address that signed (must be the identity's owner for the contract to accept). */
  readonly signer: string;
}

/** A governor `approveBySig` authorisation: the 65-byte signature plus the deadline to pass along. */
export interface ApprovalSignature {
  readonly signature: string;
  readonly nonce: bigint;
  readonly deadline: bigint;
  /** Address that signed (the `member` argument of `approveBySig`). */
  readonly member: string;
}

export interface ChangeOwnerWrite {
  readonly identity: string;
  /** The zero address deactivates the DID for good. */
  readonly newOwner: string;
}

export interface AddDelegateWrite {
  readonly identity: string;
  /** bytes32 delegate type, e.g. `encodeDidAttributeName("sigAuth")`. */
  readonly delegateType: string;
  readonly delegate: string;
  /** Seconds from the block of inclusion. */
  readonly validity: bigint | number;
}

export interface RevokeDelegateWrite {
  readonly identity: string;
  readonly delegateType: string;
  readonly delegate: string;
}

export interface SetAttributeWrite {
  readonly identity: string;
  /** bytes32 attribute name, e.g. `encodeDidAttributeName("did/svc/MessagingService")`. */
  readonly name: string;
  readonly value: BytesLike;
  readonly validity: bigint | number;
}

export interface RevokeAttributeWrite {
  readonly identity: string;
  readonly name: string;
  readonly value: BytesLike;
}

/** The fields of a proposal an approval commits to (as returned by `ConsortiumGovernor.proposal(id)`). */
export interface ApprovalRequest {
  readonly proposalId: bigint | number;
  readonly target: string;
  /** The proposal's ABI-encoded call; the signature commits to its keccak256. */
  readonly data: BytesLike;
  readonly expiresAt: bigint | number;
}

/** A contract implementing ERC-5267 `eip712Domain()` (every OpenZeppelin EIP712 contract does). */
export interface Erc5267Contract {
  eip712Domain(): Promise<{
    readonly fields: string;
    readonly name: string;
    readonly version: string;
    readonly chainId: bigint;
    readonly verifyingContract: string;
  }>;
}

// ------------------------------------------------------------------ input validation

const UINT256_MAX = (1n << 256n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
/** ERC-5267 `fields` bitmap of name, version, chainId and verifyingContract (OpenZeppelin's EIP712). */
const OZ_DOMAIN_FIELDS = "0x0f";

function invalid(message: string, cause?: unknown): never {
  throw new CivilIdError("INVALID_INPUT", message, cause === undefined ? undefined : { cause });
}

function toAddress(label: string, value: unknown): string {
  if (typeof value !== "string") invalid(`${label} must be an address string, got ${typeof value}.`);
  try {
    return getAddress(value);
  } catch (error) {
    return invalid(`${label} is not a valid address: ${describeValue(value)}.`, error);
  }
}

function toUint(label: string, value: unknown, max: bigint): bigint {
  let n: bigint | undefined;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  if (n === undefined || n < 0n || n > max) {
    invalid(`${label} must be an integer between 0 and ${max}, got ${String(value)}.`);
  }
  return n;
}

function toBytes32(label: string, value: unknown): string {
  if (!isHexString(value, 32)) invalid(`${label} must be a 0x-prefixed 32-byte hex string, got ${String(value)}.`);
  return value.toLowerCase();
}

function toBytes(label: string, value: unknown): string {
  if (!isBytesLike(value)) invalid(`${label} must be bytes (a 0x hex string or Uint8Array).`);
  return hexlify(value);
}

function toChainId(value: unknown): bigint {
  const chainId = toUint("chainId", value, UINT256_MAX);
  if (chainId === 0n) invalid("chainId must be positive.");
  return chainId;
}

/**
 * bytes32 form of an ERC-1056 attribute name or delegate type ("did/pub/Secp256k1/veriKey/hex", "sigAuth"):
 * the ASCII bytes, right-padded with zeros. Names are printable ASCII (a NUL would be stripped by resolvers and
 * alias another name) of 1..32 bytes; longer names cannot be represented and are refused, never truncated.
 */
export function encodeDidAttributeName(name: string): string {
  if (typeof name !== "string" || name.length === 0) invalid("A DID attribute name must be a non-empty string.");
  if (!/^[\x20-\x7e]+$/.test(name)) {
    invalid(`DID attribute name ${JSON.stringify(name)} must be printable ASCII.`);
  }
  if (name.length > 32) {
    invalid(`DID attribute name ${JSON.stringify(name)} is ${name.length} bytes; at most 32 fit in bytes32.`);
  }
  return zeroPadBytes(toUtf8Bytes(name), 32);
}

// ------------------------------------------------------------------ domains

/** The DIDRegistry's EIP-712 domain on chain `chainId` at `verifyingContract`. */
export function didRegistryDomain(chainId: bigint | number, verifyingContract: string): Eip712Domain {
  return { ...DID_REGISTRY_EIP712, chainId: toChainId(chainId), verifyingContract: toAddress("verifyingContract", verifyingContract) };
}

/** The ConsortiumGovernor's EIP-712 domain on chain `chainId` at `verifyingContract`. */
export function governorDomain(chainId: bigint | number, verifyingContract: string): Eip712Domain {
  return { ...GOVERNOR_EIP712, chainId: toChainId(chainId), verifyingContract: toAddress("verifyingContract", verifyingContract) };
}

/**
 * Reads the domain from the contract itself (ERC-5267), so the chain id and address are those of the chain the
 * contract handle is connected to, and refuses a contract whose domain is not the `expected` one (e.g. a governor
 * address given where the DID registry was meant, or an incompatible contract version).
 */
export async function readEip712Domain(
  contract: Erc5267Contract,
  expected: typeof DID_REGISTRY_EIP712 | typeof GOVERNOR_EIP712,
): Promise<Eip712Domain> {
  const domain = await contract.eip712Domain();
  if (domain.fields !== OZ_DOMAIN_FIELDS || domain.name !== expected.name || domain.version !== expected.version) {
    throw new CivilIdError(
      "INVALID_DEPLOYMENT",
      `The contract at ${domain.verifyingContract} has EIP-712 domain ${JSON.stringify(domain.name)} v${domain.version} ` +
        `(fields ${domain.fields}), not ${JSON.stringify(expected.name)} v${expected.version}. Check the deployment file.`,
    );
  }
  return { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: getAddress(domain.verifyingContract) };
}

// ------------------------------------------------------------------ payloads

function authFields(auth: SignatureAuth): { nonce: bigint; deadline: bigint } {
  return { nonce: toUint("nonce", auth.nonce, UINT256_MAX), deadline: toUint("deadline", auth.deadline, UINT256_MAX) };
}

function didPayload(domain: Eip712Domain, primaryType: DidWriteType, message: Record<string, string | bigint>): TypedDataPayload {
  return { domain, primaryType, types: { [primaryType]: [...DID_REGISTRY_TYPES[primaryType]] }, message };
}

/** EIP-712 payload of `changeOwnerSigned`. */
export function buildChangeOwner(domain: Eip712Domain, write: ChangeOwnerWrite, auth: SignatureAuth): TypedDataPayload {
  return didPayload(domain, "ChangeOwner", {
    identity: toAddress("identity", write.identity),
    newOwner: toAddress("newOwner", write.newOwner),
    ...authFields(auth),
  });
}

/** EIP-712 payload of `addDelegateSigned`. */
export function buildAddDelegate(domain: Eip712Domain, write: AddDelegateWrite, auth: SignatureAuth): TypedDataPayload {
  return didPayload(domain, "AddDelegate", {
    identity: toAddress("identity", write.identity),
    delegateType: toBytes32("delegateType", write.delegateType),
    delegate: toAddress("delegate", write.delegate),
    validity: toUint("validity", write.validity, UINT256_MAX),
    ...authFields(auth),
  });
}

/** EIP-712 payload of `revokeDelegateSigned`. */
export function buildRevokeDelegate(domain: Eip712Domain, write: RevokeDelegateWrite, auth: SignatureAuth): TypedDataPayload {
  return didPayload(domain, "RevokeDelegate", {
    identity: toAddress("identity", write.identity),
    delegateType: toBytes32("delegateType", write.delegateType),
    delegate: toAddress("delegate", write.delegate),
    ...authFields(auth),
  });
}

/** EIP-712 payload of `setAttributeSigned` (EIP-712 hashes the `bytes` value, as the contract does). */
export function buildSetAttribute(domain: Eip712Domain, write: SetAttributeWrite, auth: SignatureAuth): TypedDataPayload {
  return didPayload(domain, "SetAttribute", {
    identity: toAddress("identity", write.identity),
    name: toBytes32("name", write.name),
    value: toBytes("value", write.value),
    validity: toUint("validity", write.validity, UINT256_MAX),
    ...authFields(auth),
  });
}

/** EIP-712 payload of `revokeAttributeSigned`. */
export function buildRevokeAttribute(domain: Eip712Domain, write: RevokeAttributeWrite, auth: SignatureAuth): TypedDataPayload {
  return didPayload(domain, "RevokeAttribute", {
    identity: toAddress("identity", write.identity),
    name: toBytes32("name", write.name),
    value: toBytes("value", write.value),
    ...authFields(auth),
  });
}

/** EIP-712 payload of the governor's `approveBySig`. */
export function buildApproval(domain: Eip712Domain, request: ApprovalRequest, auth: SignatureAuth): TypedDataPayload {
  return {
    domain,
    primaryType: "Approve",
    types: { Approve: [...GOVERNOR_TYPES.Approve] },
    message: {
      proposalId: toUint("proposalId", request.proposalId, UINT256_MAX),
      target: toAddress("target", request.target),
      dataHash: keccak256(toBytes("data", request.data)),
      expiresAt: toUint("expiresAt", request.expiresAt, UINT64_MAX),
      ...authFields(auth),
    },
  };
}

// ------------------------------------------------------------------ signing

/**
 * Signs `payload` and checks that the signature recovers to the signer's own address: a remote signer that
 * answers with another key's signature (or for other data) is caught here, not by a reverted transaction.
 */
async function signPayload(signer: Signer, payload: TypedDataPayload): Promise<{ signature: Signature; address: string }> {
  const address = getAddress(await signer.getAddress());
  const serialized = await signer.signTypedData(payload.domain, payload.types, payload.message);
  const recovered = verifyTypedData(payload.domain, payload.types, payload.message, serialized);
  if (recovered !== address) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `The signer ${address} returned a ${payload.primaryType} signature that recovers to ${recovered}; refusing to use it.`,
    );
  }
  return { signature: Signature.from(serialized), address };
}

async function signDidWrite(signer: Signer, payload: TypedDataPayload, auth: SignatureAuth): Promise<DidWriteSignature> {
  const { signature, address } = await signPayload(signer, payload);
  return { v: signature.v, r: signature.r, s: signature.s, ...authFields(auth), signer: address };
}

/** Signs a `changeOwnerSigned` authorisation as the identity's owner. */
export function signChangeOwner(signer: Signer, domain: Eip712Domain, write: ChangeOwnerWrite, auth: SignatureAuth): Promise<DidWriteSignature> {
  return signDidWrite(signer, buildChangeOwner(domain, write, auth), auth);
}

/** Signs an `addDelegateSigned` authorisation as the identity's owner. */
export function signAddDelegate(signer: Signer, domain: Eip712Domain, write: AddDelegateWrite, auth: SignatureAuth): Promise<DidWriteSignature> {
  return signDidWrite(signer, buildAddDelegate(domain, write, auth), auth);
}

/** Signs a `revokeDelegateSigned` authorisation as the identity's owner. */
export function signRevokeDelegate(signer: Signer, domain: Eip712Domain, write: RevokeDelegateWrite, auth: SignatureAuth): Promise<DidWriteSignature> {
  return signDidWrite(signer, buildRevokeDelegate(domain, write, auth), auth);
}

/** Signs a `setAttributeSigned` authorisation as the identity's owner. */
export function signSetAttribute(signer: Signer, domain: Eip712Domain, write: SetAttributeWrite, auth: SignatureAuth): Promise<DidWriteSignature> {
  return signDidWrite(signer, buildSetAttribute(domain, write, auth), auth);
}

/** Signs a `revokeAttributeSigned` authorisation as the identity's owner. */
export function signRevokeAttribute(signer: Signer, domain: Eip712Domain, write: RevokeAttributeWrite, auth: SignatureAuth): Promise<DidWriteSignature> {
  return signDidWrite(signer, buildRevokeAttribute(domain, write, auth), auth);
}

/** Signs a governor approval as a member; relay it with `approveBySig(proposalId, member, deadline, signature)`. */
export async function signApproval(
  signer: Signer,
  domain: Eip712Domain,
  request: ApprovalRequest,
  auth: SignatureAuth,
): Promise<ApprovalSignature> {
  const payload = buildApproval(domain, request, auth);
  const { signature, address } = await signPayload(signer, payload);
  return { signature: signature.serialized, ...authFields(auth), member: address };
}
