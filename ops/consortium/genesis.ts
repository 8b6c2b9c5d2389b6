/**
 * The QBFT genesis: `extraData` = RLP([32-byte vanity, [validators], vote, round, seals]) exactly as Besu's
 * `QbftExtraDataCodec` encodes a genesis header (no vote, round 0, no seals), zero base fee, every fork up to
 * Cancun from block 0; and the reverse: the validators of a running network's genesis.
 */
import { decodeRlp, encodeRlp, getAddress, isAddress } from "ethers";
import { CivilIdError } from "../../sdk/errors.js";
import { BFT_MIX_HASH, type ConsortiumConfig } from "./config.js";

/** QBFT tolerates this many faulty (crashed or malicious) validators out of n. */
export function faultTolerance(validatorCount: number): number {
  return Math.floor((validatorCount - 1) / 3);
}

/** Signatures (commit seals) needed to finalise a block: ceil(2n/3), as in Besu's BftHelpers. */
export function qbftQuorum(validatorCount: number): number {
  return Math.ceil((2 * validatorCount) / 3);
}

/**
 * The genesis `extraData` of a QBFT network whose validators are selected by block header votes:
 * RLP([vanity (32 zero bytes), [validator addresses], [] (no vote), 0x (round 0), [] (no commit seals)]).
 * Byte-identical to Besu's `QbftExtraDataCodec.encodeFromAddresses`. The given order is kept; Besu keeps the
 * validator set sorted by address internally, so the order has no consensus meaning.
 */
export function qbftExtraData(validators: readonly string[]): string {
  if (validators.length === 0) {
    throw new CivilIdError("INVALID_INPUT", "QBFT extraData needs at least one validator address.");
  }
  const addresses = validators.map((v) => {
    if (!isAddress(v)) throw new CivilIdError("INVALID_INPUT", `${JSON.stringify(v)} is not a validator address.`);
    return getAddress(v).toLowerCase();
  });
  if (new Set(addresses).size !== addresses.length) {
    throw new CivilIdError("INVALID_INPUT", "Validator addresses must be distinct.");
  }
  return encodeRlp([`0x${"00".repeat(32)}`, addresses, [], "0x", []]);
}

/** The Besu genesis document (as a plain object, ready for JSON.stringify). */
export function buildGenesis(config: ConsortiumConfig): Record<string, unknown> {
  const alloc: Record<string, { balance: string; comment: string }> = {};
  for (const account of config.accounts) {
    if (account.balance > 0n) {
      alloc[account.address.toLowerCase().slice(2)] = { balance: `0x${account.balance.toString(16)}`, comment: account.name };
    }
  }
  return {
    config: {
      chainId: config.chainId,
      // Every fork up to Cancun from genesis: the contracts are compiled for evmVersion "cancun".
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      shanghaiTime: 0,
      cancunTime: 0,
      // Free gas: with London's EIP-1559 active, the base fee must be pinned to zero.
      zeroBaseFee: true,
      qbft: {
        blockperiodseconds: config.blockPeriodSeconds,
        epochlength: config.epochLength,
        requesttimeoutseconds: config.requestTimeoutSeconds,
      },
    },
    nonce: "0x0",
    timestamp: `0x${config.genesisTimestamp.toString(16)}`,
    gasLimit: `0x${config.gasLimit.toString(16)}`,
    baseFeePerGas: "0x0",
    difficulty: "0x1",
    mixHash: BFT_MIX_HASH,
    coinbase: "0x0000000000000000000000000000000000000000",
    extraData: qbftExtraData(config.nodes.map((n) => n.address)),
    alloc,
  };
}

/** Validators encoded in a QBFT genesis `extraData` (checksummed, in encoded order). */
export function validatorsFromExtraData(extraData: string): string[] {
  let decoded: unknown;
  try {
    decoded = decodeRlp(extraData);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", "The genesis extraData is not RLP.", { cause: error });
  }
  if (!Array.isArray(decoded) || decoded.length !== 5 || !Array.isArray(decoded[1])) {
    throw new CivilIdError("INVALID_INPUT", "The genesis extraData is not a QBFT extraData (RLP list of 5 items).");
  }
  return (decoded[1] as unknown[]).map((v) => {
    if (typeof v !== "string" || !isAddress(v)) throw new CivilIdError("INVALID_INPUT", "The genesis extraData holds a malformed validator address.");
    return getAddress(v);
  });
}

/** Checks an input against the genesis a network already runs; the validators to vote in and out. */
export function compareWithGenesis(config: ConsortiumConfig, text: string): { add: string[]; remove: string[] } {
  let genesis: { config?: { chainId?: unknown; qbft?: Record<string, unknown> }; extraData?: unknown };
  try {
    genesis = JSON.parse(text) as typeof genesis;
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", "The existing genesis.json is not valid JSON.", { cause: error });
  }
  const mismatches: string[] = [];
  if (genesis.config?.chainId !== config.chainId) mismatches.push(`chainId ${String(genesis.config?.chainId)} (input: ${config.chainId})`);
  const qbft = genesis.config?.qbft ?? {};
  for (const [key, value] of [
    ["blockperiodseconds", config.blockPeriodSeconds],
    ["epochlength", config.epochLength],
    ["requesttimeoutseconds", config.requestTimeoutSeconds],
  ] as const) {
    if (qbft[key] !== value) mismatches.push(`qbft.${key} ${String(qbft[key])} (input: ${value})`);
  }
  if (mismatches.length > 0) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `The input does not match the running network's genesis: ${mismatches.join(", ")}. A running chain keeps its ` +
        "genesis; QBFT parameters change only through a `transitions` entry agreed by all ministries.",
    );
  }
  if (typeof genesis.extraData !== "string") throw new CivilIdError("INVALID_INPUT", "The existing genesis.json has no extraData.");
  const inGenesis = validatorsFromExtraData(genesis.extraData);
  const inInput = config.nodes.map((n) => n.address);
  return {
    add: inInput.filter((a) => !inGenesis.includes(a)),
    remove: inGenesis.filter((a) => !inInput.includes(a)),
  };
}
