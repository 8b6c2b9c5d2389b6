/**
 * SDK side of the relying-party listing (contracts/verifier/RelyingPartyRegistry.sol): governance actions that the
 * consortium votes on, the relying party admin's key management, and the read every wallet makes before it answers
 * a presentation request.
 */
import { getAddress, isAddress, type ContractRunner, type Interface } from "ethers";
import { CivilIdError } from "../errors.js";
import { RelyingPartyRegistry__factory, type RelyingPartyRegistry } from "../chain/contracts.js";
import type { Deployment } from "../chain/deployment.js";
import { toCivilIdError } from "../chain/errors.js";
import type { GovernanceAction } from "../governance/client.js";
import { ALL_USES_MASK, useBit, usesMask, usesOfMask, type UseId } from "./uses.js";

/** Status of a relying party, as the contract's `RelyingPartyStatus`. */
export enum RelyingPartyStatus {
  None = 0,
  Active = 1,
  Suspended = 2,
  Removed = 3,
}

export const MAX_RELYING_PARTY_NAME_BYTES = 128;

/** The handle on a deployment's listing; refuses a deployment made before the listing existed. */
export function connectRelyingPartyRegistry(deployment: Deployment, runner: ContractRunner): RelyingPartyRegistry {
  if (!deployment.relyingPartyRegistry) {
    throw new CivilIdError("INVALID_DEPLOYMENT", `The deployment of chain ${deployment.chainId} has no relying-party registry: redeploy, or add relyingPartyRegistry to the deployment file.`);
  }
  return RelyingPartyRegistry__factory.connect(deployment.relyingPartyRegistry, runner);
}

function checkName(name: string): string {
  const bytes = typeof name === "string" ? Buffer.byteLength(name, "utf8") : 0;
  if (bytes === 0 || bytes > MAX_RELYING_PARTY_NAME_BYTES || name.trim() !== name || /\p{Cc}/u.test(name)) {
    throw new CivilIdError("INVALID_INPUT", `A relying party's name is printable text of 1 to ${MAX_RELYING_PARTY_NAME_BYTES} bytes, without surrounding spaces.`);
  }
  return name;
}

function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 1 || id > 0xffffffff) throw new CivilIdError("INVALID_INPUT", "A relying party id is a positive 32-bit integer.");
  return id;
}

function checkAddress(value: string, what: string): string {
  if (typeof value !== "string" || !isAddress(value)) throw new CivilIdError("INVALID_INPUT", `${what} must be an Ethereum address.`);
  return getAddress(value);
}

/** Builds the consortium decisions on the listing (to propose with GovernanceClient). */
export class RelyingPartyActions {
  constructor(private readonly registry: RelyingPartyRegistry) {}

  async list(name: string, admin: string, uses: readonly UseId[]): Promise<GovernanceAction> {
    return this.call("listRelyingParty", [checkName(name), checkAddress(admin, "The admin"), usesMask(uses)],
      `List relying party "${name}" (admin ${admin}) for ${uses.join(", ")}`);
  }
  async setUses(id: number, uses: readonly UseId[]) {
    return this.call("setUses", [checkId(id), usesMask(uses)], `Set uses of relying party ${id} to ${uses.join(", ")}`);
  }
  async rename(id: number, name: string) { return this.call("rename", [checkId(id), checkName(name)], `Rename relying party ${id} to "${name}"`); }
  async suspend(id: number) { return this.call("suspend", [checkId(id)], `Suspend relying party ${id}`); }
  async reinstate(id: number) { return this.call("reinstate", [checkId(id)], `Reinstate relying party ${id}`); }
  async remove(id: number) { return this.call("remove", [checkId(id)], `Remove relying party ${id}`); }
  async setAdmin(id: number, admin: string) {
    return this.call("setRelyingPartyAdmin", [checkId(id), checkAddress(admin, "The admin")], `Set admin of relying party ${id} to ${admin}`);
  }
  async retireAnyVerifierKey(key: string) {
    return this.call("retireAnyVerifierKey", [checkAddress(key, "The verifier key")], `Retire verifier key ${key}`);
  }

  private async call(fn: string, args: readonly unknown[], description: string): Promise<GovernanceAction> {
    const iface = this.registry.interface as unknown as Interface;
    return { target: await this.registry.getAddress(), data: iface.encodeFunctionData(fn, args), description };
  }
}

/** A relying party admin's calls (the registry handle is connected to the admin's signer). */
export class RelyingPartyAdmin {
  constructor(private readonly registry: RelyingPartyRegistry) {}

  /** Lists a verifier key for `uses` (a subset of the relying party's grant) until `validUntil` (unix s). */
  async addVerifierKey(id: number, key: string, uses: readonly UseId[], validUntil: number): Promise<{ txHash: string }> {
    if (!Number.isSafeInteger(validUntil) || validUntil <= 0 || validUntil >= 2 ** 40) throw new CivilIdError("INVALID_INPUT", "validUntil is a unix time in seconds.");
    return this.send("Adding the verifier key", "addVerifierKey", [checkId(id), checkAddress(key, "The verifier key"), usesMask(uses), validUntil]);
  }
  async retireVerifierKey(id: number, key: string) {
    return this.send("Retiring the verifier key", "retireVerifierKey", [checkId(id), checkAddress(key, "The verifier key")]);
  }
  async transferAdmin(id: number, newAdmin: string) {
    return this.send("Transferring the admin", "transferRelyingPartyAdmin", [checkId(id), checkAddress(newAdmin, "The new admin")]);
  }

  private async send(action: string, fn: "addVerifierKey" | "retireVerifierKey" | "transferRelyingPartyAdmin", args: readonly unknown[]): Promise<{ txHash: string }> {
    const method = this.registry.getFunction(fn);
    try {
      // Simulate first: a refusal then comes back as a call exception with the contract's decoded custom error,
      // whatever the signer's transport does with reverted transactions.
      await method.staticCall(...args);
      const receipt = await ((await method.send(...args))).wait();
      if (!receipt || receipt.status !== 1) throw new CivilIdError("CONTRACT_REVERTED", `${action} transaction failed.`);
      return { txHash: receipt.hash };
    } catch (error) {
      throw contractError(error, this.registry.interface, action);
    }
  }
}

/**
 * toCivilIdError, plus the revert data an in-process (EDR) provider hands over outside an ethers CallException, so
 * that a refusal names the contract's custom error on every transport.
 */
function contractError(error: unknown, iface: Interface, action: string): CivilIdError {
  const typed = toCivilIdError(error, iface, action);
  if (typed.details?.error !== undefined || typeof error !== "object" || error === null) return typed;
  const raw = (error as { data?: unknown }).data;
  const data = typeof raw === "string" ? raw : typeof raw === "object" && raw !== null ? (raw as { data?: unknown }).data : undefined;
  if (typeof data !== "string" || !/^0x[0-9a-fA-F]{8,}$/.test(data)) return typed;
  const parsed = iface.parseError(data);
  if (!parsed) return typed;
  const refusal = Object.assign(new Error(parsed.name), { code: "CALL_EXCEPTION", revert: { name: parsed.name, args: [...parsed.args] }, data });
  // Shaped as the CallException ethers raises over JSON-RPC, so the shared mapping (codes, advice) applies.
  return toCivilIdError(Object.assign(refusal, { action: "estimateGas", reason: null, invocation: null, transaction: {} }), iface, action);
}

/** What the listing says about one verifier key, for one use. */
export interface VerifierAuthorisation {
  /** The key is in its window, its relying party is active and the use is granted. */
  readonly allowed: boolean;
  readonly verifierKey: string;
  /** 0 when the key is not listed at all. */
  readonly relyingPartyId: number;
  readonly relyingPartyName: string;
  readonly status: RelyingPartyStatus;
  /** The uses the key may request now. */
  readonly uses: readonly UseId[];
}

/** Where wallets read the listing: any provider (or a wallet's own node view). */
export interface RelyingPartyDirectory {
  authorisation(verifierKey: string, use: UseId): Promise<VerifierAuthorisation>;
}

/** Reads the listing from a node: one `eth_call` per request checked. */
export class OnChainRelyingPartyDirectory implements RelyingPartyDirectory {
  constructor(private readonly registry: RelyingPartyRegistry) {}

  async authorisation(verifierKey: string, use: UseId): Promise<VerifierAuthorisation> {
    const key = checkAddress(verifierKey, "The verifier key");
    let answer: Awaited<ReturnType<RelyingPartyRegistry["authorisation"]>>;
    try {
      answer = await this.registry.authorisation(key, useBit(use));
    } catch (error) {
      throw toCivilIdError(error, this.registry.interface, "Reading the relying-party listing");
    }
    const status = Number(answer.status);
    const mask = Number(answer.uses);
    if (!(status in RelyingPartyStatus) || !Number.isSafeInteger(mask) || (mask & ~0xffff) !== 0) {
      throw new CivilIdError("CHAIN_UNREACHABLE", "The node answered a malformed relying-party record; try another node.");
    }
    return {
      allowed: answer.allowed,
      verifierKey: key,
      relyingPartyId: Number(answer.relyingPartyId),
      relyingPartyName: answer.name,
      status: status as RelyingPartyStatus,
      uses: usesOfMask(mask & ALL_USES_MASK),
    };
  }
}
