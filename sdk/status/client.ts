import type { ContractTransactionResponse } from "ethers";
import { CivilIdError } from "../errors.js";
import type { CredentialStatusRegistry } from "../chain/contracts.js";
import { toCivilIdError } from "../chain/errors.js";
import {
  CredentialState,
  LOCK_OR_REVOKE_REASONS,
  UNLOCK_REASONS,
  parseReason,
  reasonName,
  type ReasonName,
} from "../chain/codes.js";
import { isHexString } from "ethers";
import {
  MAX_REGISTER_BATCH,
  MAX_STATUS_BATCH,
  REGISTER_BATCH_GAS,
  batchCapacity,
  packCredentialIds,
  splitIntoBatches,
} from "../chain/batches.js";

export interface CredentialStatus {
  readonly credentialId: bigint;
  readonly registered: boolean;
  readonly state: CredentialState;
  readonly stateName: "active" | "locked" | "revoked" | "unknown";
  readonly reason: ReasonName | "UNKNOWN";
}

export interface TxOutcome {
  readonly txHash: string;
  readonly blockNumber: number;
  readonly gasUsed: bigint;
}

export interface StatusChangeOutcome extends TxOutcome {
  readonly statuses: readonly CredentialStatus[];
}

export interface RegistrationOutcome extends TxOutcome {
  readonly credentialId: bigint;
  /** The holder's previous credential that this registration revoked (reason superseded), if any. */
  readonly supersededId: bigint | undefined;
}

const STATE_NAMES = ["active", "locked", "revoked"] as const;
const MAX_BATCH = MAX_STATUS_BATCH;

/** Status operations of an organisation's operator account (lock / unlock / revoke / register, single and batch). */
export class StatusClient {
  constructor(private readonly registry: CredentialStatusRegistry) {}

  /** Reads one credential's status. */
  async status(credentialId: bigint): Promise<CredentialStatus> {
    try {
      const [registered, state, reason] = await this.registry.statusOf(credentialId);
      return describe(credentialId, registered, Number(state), Number(reason));
    } catch (error) {
      throw toCivilIdError(error, this.registry.interface, "Status query");
    }
  }

  /** Reads many statuses in one call. */
  async statuses(credentialIds: readonly bigint[]): Promise<CredentialStatus[]> {
    checkBatch(credentialIds.length);
    try {
      const [registered, states, reasons] = await this.registry.statusesOf([...credentialIds]);
      return credentialIds.map((id, i) => describe(id, registered[i]!, Number(states[i]), Number(reasons[i])));
    } catch (error) {
      throw toCivilIdError(error, this.registry.interface, "Status query");
    }
  }

  /**
   * Registers a credential for a holder (superseding the holder's previous one), bound to the credential's content
   * by its binding digest (`draftCredential(...).digest`).
   */
  async register(holderRef: string, credentialDigest: string): Promise<RegistrationOutcome> {
    checkBytes32(holderRef, "holder reference");
    checkBytes32(credentialDigest, "credential digest");
    // `register_8wReb` is `register` under a name whose selector the contract's dispatcher compares first (~200 gas less).
    const receipt = await this.send("Registration", () => this.registry.register_8wReb(holderRef, credentialDigest));
    const event = this.registrations(receipt.logs)[0];
    if (!event) throw new CivilIdError("CONTRACT_REVERTED", "Registration mined without a CredentialRegistered event.");
    return { ...receipt.outcome, credentialId: event.credentialId, supersededId: event.supersededId };
  }

  /**
   * Registers several credentials, split automatically into `registerBatch` transactions that fit the chain's
   * block gas limit (at most MAX_REGISTER_BATCH each, sent one after the other). Ids are consecutive within each
   * transaction; the outcomes are in input order, each with its own transaction's hash and gas.
   */
  async registerBatch(entries: readonly { holderRef: string; credentialDigest: string }[]): Promise<RegistrationOutcome[]> {
    if (entries.length < 1) throw new CivilIdError("INVALID_INPUT", "A batch registration needs at least one credential.");
    for (const e of entries) {
      checkBytes32(e.holderRef, "holder reference");
      checkBytes32(e.credentialDigest, "credential digest");
    }
    const capacity = batchCapacity(MAX_REGISTER_BATCH, await this.blockGasLimit(), REGISTER_BATCH_GAS);
    const out: RegistrationOutcome[] = [];
    for (const chunk of splitIntoBatches(entries, capacity)) {
      const receipt = await this.send("Batch registration", () =>
        this.registry.registerBatch(chunk.map((e) => e.holderRef), chunk.map((e) => e.credentialDigest)),
      );
      out.push(...this.registrations(receipt.logs).map((e) => ({ ...receipt.outcome, ...e })));
    }
    return out;
  }

  async lock(credentialId: bigint, reason: ReasonName | number): Promise<StatusChangeOutcome> {
    return this.change("Lock", [credentialId], parseReason(reason, LOCK_OR_REVOKE_REASONS), (ids, r) =>
      // `lock_kvt72` is `lock` under a name whose selector the contract's dispatcher compares second (~390 gas less).
      ids.length === 1 ? this.registry.lock_kvt72(ids[0]!, r) : this.registry.lockBatchPacked(packCredentialIds(ids), r));
  }

  async unlock(credentialId: bigint, reason: ReasonName | number): Promise<StatusChangeOutcome> {
    return this.change("Unlock", [credentialId], parseReason(reason, UNLOCK_REASONS), (ids, r) =>
      ids.length === 1 ? this.registry.unlock(ids[0]!, r) : this.registry.unlockBatchPacked(packCredentialIds(ids), r));
  }

  async revoke(credentialId: bigint, reason: ReasonName | number): Promise<StatusChangeOutcome> {
    return this.change("Revoke", [credentialId], parseReason(reason, LOCK_OR_REVOKE_REASONS), (ids, r) =>
      ids.length === 1 ? this.registry.revoke(ids[0]!, r) : this.registry.revokeBatchPacked(packCredentialIds(ids), r));
  }

  async lockBatch(credentialIds: readonly bigint[], reason: ReasonName | number): Promise<StatusChangeOutcome> {
    return this.change("Batch lock", credentialIds, parseReason(reason, LOCK_OR_REVOKE_REASONS), (ids, r) => this.registry.lockBatchPacked(packCredentialIds(ids), r));
  }

  async unlockBatch(credentialIds: readonly bigint[], reason: ReasonName | number): Promise<StatusChangeOutcome> {
    return this.change("Batch unlock", credentialIds, parseReason(reason, UNLOCK_REASONS), (ids, r) => this.registry.unlockBatchPacked(packCredentialIds(ids), r));
  }

  async revokeBatch(credentialIds: readonly bigint[], reason: ReasonName | number): Promise<StatusChangeOutcome> {
    return this.change("Batch revoke", credentialIds, parseReason(reason, LOCK_OR_REVOKE_REASONS), (ids, r) => this.registry.revokeBatchPacked(packCredentialIds(ids), r));
  }

  private async change(
    action: string,
    credentialIds: readonly bigint[],
    reason: number,
    call: (ids: bigint[], reason: number) => Promise<ContractTransactionResponse>,
  ): Promise<StatusChangeOutcome> {
    checkBatch(credentialIds.length);
    const { outcome } = await this.send(action, () => call([...credentialIds], reason));
    return { ...outcome, statuses: await this.statuses(credentialIds) };
  }

  private async blockGasLimit(): Promise<bigint> {
    const provider = this.registry.runner?.provider;
    if (!provider) throw new CivilIdError("INVALID_INPUT", "The status registry handle has no provider.");
    try {
      const block = await provider.getBlock("latest");
      if (!block) throw new CivilIdError("CHAIN_UNREACHABLE", "The node returned no latest block.");
      return block.gasLimit;
    } catch (error) {
      throw toCivilIdError(error, this.registry.interface, "Block gas limit query");
    }
  }

  private async send(action: string, call: () => Promise<ContractTransactionResponse>) {
    try {
      const tx = await call();
      const receipt = await tx.wait();
      if (!receipt || receipt.status !== 1) throw new CivilIdError("CONTRACT_REVERTED", `${action} transaction failed.`);
      return {
        logs: receipt.logs,
        outcome: { txHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed } satisfies TxOutcome,
      };
    } catch (error) {
      throw toCivilIdError(error, this.registry.interface, action);
    }
  }

  private registrations(logs: readonly { topics: readonly string[]; data: string }[]) {
    const out: { credentialId: bigint; supersededId: bigint | undefined }[] = [];
    for (const log of logs) {
      const parsed = this.registry.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === "CredentialRegistered") {
        const superseded = parsed.args.supersededId as bigint;
        out.push({ credentialId: parsed.args.credentialId as bigint, supersededId: superseded === 0n ? undefined : superseded });
      }
    }
    return out;
  }
}

function describe(credentialId: bigint, registered: boolean, state: number, reason: number): CredentialStatus {
  return {
    credentialId,
    registered,
    state,
    stateName: registered ? (STATE_NAMES[state] ?? "unknown") : "unknown",
    reason: reasonName(reason),
  };
}

function checkBytes32(value: string, what: string): void {
  if (!isHexString(value, 32) || /^0x0{64}$/.test(value)) throw new CivilIdError("INVALID_INPUT", `The ${what} must be a non-zero 32-byte hex value.`);
}

function checkBatch(n: number): void {
  if (n < 1 || n > MAX_BATCH) throw new CivilIdError("INVALID_INPUT", `A batch needs 1..${MAX_BATCH} credential ids (got ${n}); split larger files.`);
}
