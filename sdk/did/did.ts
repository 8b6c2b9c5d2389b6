/**
 * The one `did:ethr` module: parse, format canonically, compare. Every party (issuer, wallet, verifier, CLI)
 * spells and compares `did:ethr` DIDs through these functions.
 *
 * Canonical form: `did:ethr:0x<chain id in lower-case hex without leading zeros>:<EIP-55 checksummed address>`,
 * e.g. `did:ethr:0x7ea:0xAbC…` on chain 2026. This is the network name unmodified ethr-did-resolver, did-jwt-vc
 * and Veramo derive from a chain id (`0x` + `chainId.toString(16)`); a zero-padded spelling such as `0x07ea` is
 * not found by them, so it is never written and never accepted.
 *
 * Decimal chain ids (`did:ethr:2026:0x…`) are refused: ethr-did-resolver reads a decimal network as a network
 * *name*, so the same DID would resolve on one stack and not on another. One DID, one spelling.
 * Addresses are accepted in lower case or with a valid EIP-55 checksum (as ethr-did-resolver does) and always
 * written checksummed; {@link sameEthrDid} compares parsed values, never strings.
 */
import { getAddress, isAddress } from "ethers";
import { CivilIdError, describeValue } from "../errors.js";

const MAX_CHAIN_ID = (1n << 64n) - 1n;
const DID_ETHR = /^did:ethr:0x([1-9a-f][0-9a-f]{0,15}):(0x[0-9a-fA-F]{40})$/;

export interface ParsedEthrDid {
  readonly chainId: bigint;
  /** EIP-55 checksummed. */
  readonly address: string;
  /** The canonical spelling of the DID. */
  readonly did: string;
}

/** Validates a chain id (a positive integer up to 2^64 − 1, as a number, bigint or decimal / 0x-hex string). */
export function parseChainId(chainId: unknown): bigint {
  let value: bigint | undefined;
  if (typeof chainId === "bigint") value = chainId;
  else if (typeof chainId === "number" && Number.isSafeInteger(chainId)) value = BigInt(chainId);
  else if (typeof chainId === "string" && /^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(chainId)) value = BigInt(chainId);
  if (value === undefined || value <= 0n || value > MAX_CHAIN_ID) {
    throw new CivilIdError("INVALID_INPUT", `${describeValue(chainId)} is not a chain id (a positive integer below 2^64).`);
  }
  return value;
}

/** The network part of a did:ethr DID for a chain id: `0x` + lower-case hex without leading zeros. */
export function ethrNetworkName(chainId: number | bigint): string {
  return `0x${parseChainId(chainId).toString(16)}`;
}

/** The canonical `did:ethr` DID of an address on a chain. */
export function didForAddress(chainId: number | bigint, address: string): string {
  if (typeof address !== "string" || !isAddress(address)) throw new CivilIdError("INVALID_INPUT", `${describeValue(address)} is not an address.`);
  return `did:ethr:${ethrNetworkName(chainId)}:${getAddress(address)}`;
}

/**
 * Parses a `did:ethr:0x<hex chain id>:<0x address>` DID. Refuses (INVALID_INPUT) decimal or zero-padded chain ids,
 * network names, the public-key form, DID URLs and addresses with a wrong mixed-case checksum.
 */
export function parseEthrDid(did: unknown): ParsedEthrDid {
  const parsed = tryParseEthrDid(did);
  if (parsed === undefined) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `${describeValue(did)} is not a did:ethr DID of the form did:ethr:0x<hex chain id without leading zeros>:<0x address>.`,
    );
  }
  return parsed;
}

/**
 * The EIP-55 spelling of an address, or undefined when `value` is not one (a bad mixed-case checksum included, as
 * ethers' `getAddress` and ethr-did-resolver refuse it). Remembered for a bounded set of inputs: a gate meets the
 * same issuer DIDs and status registry on every credential, and each checksum is a keccak256.
 */
export function checksumAddress(value: string): string | undefined {
  if (CHECKSUMS.has(value)) return CHECKSUMS.get(value);
  let address: string | undefined;
  try {
    address = getAddress(value);
  } catch {
    address = undefined;
  }
  if (CHECKSUMS.size >= CHECKSUM_CACHE_SIZE) CHECKSUMS.delete(CHECKSUMS.keys().next().value!); // oldest first
  CHECKSUMS.set(value, address);
  return address;
}
const CHECKSUM_CACHE_SIZE = 4096;
const CHECKSUMS = new Map<string, string | undefined>();

/** {@link parseEthrDid} that answers undefined instead of throwing. */
export function tryParseEthrDid(did: unknown): ParsedEthrDid | undefined {
  const match = typeof did === "string" ? DID_ETHR.exec(did) : null;
  if (!match) return undefined;
  const chainId = BigInt("0x" + match[1]!);
  const address = checksumAddress(match[2]!);
  if (address === undefined) return undefined;
  return { chainId, address, did: `did:ethr:0x${chainId.toString(16)}:${address}` };
}

/** Whether `did` is a did:ethr DID in its canonical spelling. */
export function isCanonicalEthrDid(did: unknown): did is string {
  return tryParseEthrDid(did)?.did === did;
}

/** True when both are did:ethr DIDs naming the same address on the same chain (address case does not matter). */
export function sameEthrDid(a: unknown, b: unknown): boolean {
  const pa = tryParseEthrDid(a);
  const pb = tryParseEthrDid(b);
  return pa !== undefined && pb !== undefined && pa.chainId === pb.chainId && pa.address === pb.address;
}
