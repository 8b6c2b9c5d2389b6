/**
 * Holder DIDs: `did:ethr:<chainIdHex>:<address>`, the form ethr-did-resolver resolves against the consortium's
 * ERC-1056 registry (network named by its chain id in hex, e.g. `0x7a69` for 31337).
 */
import { getAddress, isAddress } from "ethers";
import { CivilIdError, describeValue } from "../errors.js";

const MAX_CHAIN_ID = (1n << 64n) - 1n;

/** Validates a chain id (positive integer up to 2^64-1, as a number, bigint or decimal/hex string). */
export function parseChainId(chainId: unknown): bigint {
  let value: bigint | undefined;
  if (typeof chainId === "bigint") value = chainId;
  else if (typeof chainId === "number" && Number.isSafeInteger(chainId)) value = BigInt(chainId);
  else if (typeof chainId === "string" && /^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(chainId)) value = BigInt(chainId);
  if (value === undefined || value <= 0n || value > MAX_CHAIN_ID) {
    throw new CivilIdError("INVALID_INPUT", `${JSON.stringify(String(chainId))} is not a chain id (a positive integer).`);
  }
  return value;
}

/** The holder DID for a device key: `did:ethr:0x<chainId hex, no leading zeros>:<checksummed address>`. */
export function holderDid(chainId: number | bigint, address: string): string {
  const id = parseChainId(chainId);
  if (typeof address !== "string" || !isAddress(address)) {
    throw new CivilIdError("INVALID_INPUT", `${describeValue(address)} is not an Ethereum address.`);
  }
  return `did:ethr:0x${id.toString(16)}:${getAddress(address)}`;
}

export interface ParsedHolderDid {
  chainId: bigint;
  address: string; // checksummed
}

/**
 * Parses a `did:ethr:<network>:<address>` DID whose network is a hex or decimal chain id. Returns undefined for
 * anything else (other methods, named networks, public-key identifiers, DID URLs with path/fragment/query).
 */
export function parseHolderDid(did: string): ParsedHolderDid | undefined {
  const match = /^did:ethr:(0x[0-9a-fA-F]{1,16}|[0-9]{1,20}):(0x[0-9a-fA-F]{40})$/.exec(did);
  if (!match) return undefined;
  try {
    return { chainId: parseChainId(match[1]), address: getAddress(match[2]!) }; // throws on a bad mixed-case checksum, as ethr-did-resolver does
  } catch {
    return undefined;
  }
}

/**
 * True when two strings name the same holder DID: same chain, same address (address case and chain-id spelling
 * do not matter, as they do not for ethr-did-resolver).
 */
export function sameHolderDid(a: string, b: string): boolean {
  const pa = parseHolderDid(a);
  const pb = parseHolderDid(b);
  return pa !== undefined && pb !== undefined && pa.chainId === pb.chainId && pa.address === pb.address;
}
