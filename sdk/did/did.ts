import { getAddress, isAddress, toBeHex } from "ethers";
import { CivilIdError, describeValue } from "../errors.js";

const DID_ETHR = /^did:ethr:(0x[0-9a-fA-F]{1,16}):(0x[0-9a-fA-F]{40})$/;

/** The `did:ethr` DID of an address on a chain, in the hex-chain-id form ethr-did-resolver resolves. */
export function didForAddress(chainId: number | bigint, address: string): string {
  if (!isAddress(address)) throw new CivilIdError("INVALID_INPUT", `${describeValue(address)} is not an address.`);
  return `did:ethr:${toBeHex(BigInt(chainId))}:${getAddress(address)}`;
}

export interface ParsedEthrDid {
  readonly chainId: bigint;
  readonly address: string;
}

/**
 * Parses a `did:ethr:<hexChainId>:<address>` DID (the only form this system issues and accepts; the
 * public-key form and network names are refused so that one DID has one spelling).
 */
export function parseEthrDid(did: unknown): ParsedEthrDid {
  const match = typeof did === "string" ? DID_ETHR.exec(did) : null;
  if (!match) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `${describeValue(did)} is not a did:ethr DID of the form did:ethr:<hex chain id>:<0x address>.`,
    );
  }
  return { chainId: BigInt(match[1]!), address: getAddress(match[2]!) };
}
