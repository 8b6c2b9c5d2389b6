/**
 * Splitting of batch writes so that every transaction fits a block: the one place that knows the batch limits of
 * `CredentialStatusRegistry` (its MAX_BATCH / MAX_REGISTER_BATCH constants) and their worst-case gas.
 */
import { CivilIdError } from "../errors.js";

/** `CredentialStatusRegistry.MAX_BATCH`: most ids per lock / unlock / revoke batch and per `statusesOf`. */
export const MAX_STATUS_BATCH = 2000;
/** `CredentialStatusRegistry.MAX_REGISTER_BATCH`: most credentials per `registerBatch` (≤ 16 M gas worst case). */
export const MAX_REGISTER_BATCH = 600;
/** EIP-7825 (Osaka): no transaction may use more than 2^24 gas, whatever the block gas limit. */
export const TRANSACTION_GAS_CAP = 1n << 24n;

/**
 * Worst-case gas of `registerBatch`: a fixed part plus, per credential, a new holder (its first
 * `latestCredentialOf` write, 22.1 k), the event, calldata and a share of the words the batch opens. Checked by
 * test/ts/contracts/status-governance.test.ts at a 30 M gas block (600 new holders ≈ 16 M gas).
 */
export const REGISTER_BATCH_GAS = { base: 80_000n, perItem: 27_000n } as const;

/**
 * Most items per transaction given a per-call count cap, the block gas limit (itself capped at the EIP-7825
 * per-transaction limit) and a gas model.
 */
export function batchCapacity(
  maxCount: number,
  blockGasLimit: bigint,
  gas: { readonly base: bigint; readonly perItem: bigint },
): number {
  if (blockGasLimit <= gas.base + gas.perItem) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `A block gas limit of ${blockGasLimit} cannot hold even one batch item (needs more than ${gas.base + gas.perItem}).`,
    );
  }
  const usable = blockGasLimit < TRANSACTION_GAS_CAP ? blockGasLimit : TRANSACTION_GAS_CAP;
  const byGas = (usable - gas.base) / gas.perItem;
  return Number(byGas < BigInt(maxCount) ? byGas : BigInt(maxCount));
}

/** Splits `items` into consecutive chunks of at most `capacity` items (order kept, none empty). */
export function splitIntoBatches<T>(items: readonly T[], capacity: number): T[][] {
  if (!Number.isInteger(capacity) || capacity < 1) throw new CivilIdError("INVALID_INPUT", `Batch capacity ${capacity} must be a positive integer.`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += capacity) out.push(items.slice(i, i + capacity));
  return out;
}

/** `abi.encodePacked(uint64...)` of credential ids, for the `*BatchPacked` functions (8 bytes per id). */
export function packCredentialIds(ids: readonly bigint[]): string {
  let hex = "0x";
  for (const id of ids) {
    if (typeof id !== "bigint" || id < 0n || id >= 1n << 64n) throw new CivilIdError("INVALID_CREDENTIAL_ID", `${String(id)} is not a uint64 credential id.`);
    hex += id.toString(16).padStart(16, "0");
  }
  return hex;
}

/**
 * The ids of 8-byte packed credential ids (`packCredentialIds`' layout; also the `packedIds` of the
 * `CredentialsStatusChanged` event). Throws INVALID_CREDENTIAL_ID if `packed` is not whole 8-byte ids of hex.
 */
export function unpackCredentialIds(packed: string): bigint[] {
  if (!/^0x(?:[0-9a-fA-F]{16})*$/.test(packed)) throw new CivilIdError("INVALID_CREDENTIAL_ID", "Packed credential ids must be 0x-prefixed hex, 8 bytes (16 hex digits) per id.");
  const ids: bigint[] = [];
  for (let at = 2; at < packed.length; at += 16) ids.push(BigInt("0x" + packed.slice(at, at + 16)));
  return ids;
}
