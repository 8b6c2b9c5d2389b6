/**
 * Hyperledger Besu QBFT network files for the consortium, generated from one input description.
 *
 * From a {@link ConsortiumInput} (one JSON file, see docs/CONSORTIUM.md) this module builds:
 * - `genesis.json`: QBFT consensus (`config.qbft`), zero base fee, every fork up to Cancun active from genesis,
 *   and `extraData` = RLP([32-byte vanity, [validators], vote, round, seals]) exactly as Besu's
 *   `QbftExtraDataCodec` encodes a genesis header: no vote (empty list), round 0 (empty byte string), no seals;
 * - per node: `config.toml`, `static-nodes.json` and `permissions_config.toml` (node and account allowlists);
 * - `docker-compose.yml` (documentation / rehearsal only) and `network.json` (what the SDK and operators need:
 *   chain id, validators with their enode URLs, RPC endpoints).
 *
 * The module is pure apart from reading node key files named in the input ({@link parseConsortiumInput}) and
 * writing the output ({@link writeConsortiumFiles}). Private keys are read only to derive the public key and
 * are never written anywhere.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, stat } from "node:fs/promises";
import { isIP } from "node:net";
import path from "node:path";
import { SigningKey, computeAddress, decodeRlp, encodeRlp, getAddress, isAddress } from "ethers";
import { CivilIdError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { isValidAgencyCode } from "./codes.js";

// ---------------------------------------------------------------------------------------------- input schema

/** One member ministry and the validator node it runs. */
export interface MinistryInput {
  /** Short unique name: lower-case letters, digits and `-` (used for directories and compose services). */
  readonly name: string;
  /** The ministry's 7-digit agency code (기관코드). */
  readonly agencyCode: number | string;
  /**
   * The node's public key (64 bytes as 128 hex digits, as printed by `besu public-key export`; a `0x04`-prefixed
   * or compressed key is accepted too). Recommended: the private key never leaves the ministry.
   */
  readonly nodePublicKey?: string;
  /** Path (relative to the input file) of the node's Besu key file; only its public key is used. */
  readonly nodeKeyFile?: string;
  /** The validator address (address of the node key). Optional cross-check: must match the key if given. */
  readonly validatorAddress?: string;
  /** Host (IP address or DNS name) at which the other nodes reach this node. */
  readonly host: string;
  /** Peer-to-peer port (TCP, and UDP when discovery is on). */
  readonly p2pPort: number;
  /** JSON-RPC HTTP port. */
  readonly rpcPort: number;
  /**
   * Whether this node serves JSON-RPC to the consortium's SDK clients (issuers, verifiers, indexers). When
   * false, its RPC listens on the loopback interface only, for the ministry's own operators.
   */
  readonly rpc: boolean;
  /** Values accepted in the `Host` header of RPC requests (default: localhost, 127.0.0.1 and `host`). */
  readonly rpcHostAllowlist?: readonly string[];
  /** If set, Prometheus metrics are served on this port of the loopback interface. */
  readonly metricsPort?: number;
}

/** An account allowed to send transactions, optionally funded in the genesis block. */
export interface AccountInput {
  /** What the account is for (e.g. "deployer", "mois-governance", "mois-registrar"). */
  readonly name: string;
  readonly address: string;
  /** Genesis balance in wei (decimal or 0x-hex string). Gas is free, so this is rarely needed. */
  readonly balance?: string;
}

/** The generator's input file. */
export interface ConsortiumInput {
  readonly chainId: number;
  /** Target seconds between blocks (QBFT `blockperiodseconds`). */
  readonly blockPeriodSeconds: number;
  /** Blocks after which pending validator votes are discarded (QBFT `epochlength`). */
  readonly epochLength: number;
  /** Seconds before a QBFT round times out and a round change starts (`requesttimeoutseconds`). */
  readonly requestTimeoutSeconds: number;
  readonly ministries: readonly MinistryInput[];
  /** Accounts allowed to send transactions (account allowlist); those with a balance are prefunded. */
  readonly accounts?: readonly AccountInput[];
  /** Block gas limit (decimal or 0x-hex). Default 0x1fffffffffffff, Besu's free-gas recommendation. */
  readonly gasLimit?: string | number;
  /** Minimum gas price: the consortium runs with free gas, so only 0 is accepted (present for explicitness). */
  readonly minGasPrice?: number;
  /** Genesis timestamp (unix seconds). Default 0, so the same input always yields the same genesis file. */
  readonly genesisTimestamp?: number;
  /** Which Besu local permissioning to enable (default: both). */
  readonly permissioning?: { readonly nodes?: boolean; readonly accounts?: boolean };
  /** Peer discovery (default false: nodes connect only to the static nodes list). */
  readonly discovery?: boolean;
  /** Docker image used by the documentation compose file. */
  readonly besuImage?: string;
  /** Paths inside each node's container or host (defaults: /opt/besu/data and /etc/besu). */
  readonly paths?: { readonly data?: string; readonly config?: string };
}

// ---------------------------------------------------------------------------------------------- parsed form

export interface ValidatorNode {
  readonly name: string;
  readonly agencyCode: number;
  /** Uncompressed public key without the 0x04 prefix: 128 lower-case hex digits (the enode id). */
  readonly publicKey: string;
  /** Checksummed validator address (address of the node key). */
  readonly address: string;
  readonly host: string;
  readonly p2pPort: number;
  readonly rpcPort: number;
  readonly rpc: boolean;
  readonly rpcHostAllowlist: readonly string[];
  readonly metricsPort: number | undefined;
  /** `enode://<publicKey>@<host>:<p2pPort>`. */
  readonly enode: string;
}

export interface ConsortiumAccount {
  readonly name: string;
  readonly address: string;
  readonly balance: bigint;
}

/** A validated, normalised consortium description. */
export interface ConsortiumConfig {
  readonly chainId: number;
  readonly blockPeriodSeconds: number;
  readonly epochLength: number;
  readonly requestTimeoutSeconds: number;
  readonly gasLimit: bigint;
  readonly genesisTimestamp: number;
  readonly nodes: readonly ValidatorNode[];
  readonly accounts: readonly ConsortiumAccount[];
  readonly permissioning: { readonly nodes: boolean; readonly accounts: boolean };
  readonly discovery: boolean;
  readonly besuImage: string;
  readonly paths: { readonly data: string; readonly config: string };
  /** Non-fatal observations (e.g. fewer than 4 validators). */
  readonly warnings: readonly string[];
}

export const DEFAULT_GAS_LIMIT = 0x1fffffffffffffn;
export const DEFAULT_BESU_IMAGE = "hyperledger/besu:24.12.2";
export const DEFAULT_DATA_PATH = "/opt/besu/data";
export const DEFAULT_CONFIG_DIR = "/etc/besu";
/** `mixHash` that marks a BFT block ("ctical byzantine fault tolerance"), as in Besu's QBFT genesis files. */
export const BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365";
/** QBFT needs 3f+1 validators to tolerate f faulty ones; 4 is the smallest set that tolerates one. */
export const RECOMMENDED_MIN_VALIDATORS = 4;

/** Chain ids of public networks: a consortium chain must not reuse them (signed transactions would replay). */
const PUBLIC_CHAIN_IDS: ReadonlyMap<number, string> = new Map([
  [1, "Ethereum mainnet"],
  [10, "OP mainnet"],
  [56, "BNB Smart Chain"],
  [137, "Polygon PoS"],
  [8453, "Base"],
  [17000, "Holesky"],
  [42161, "Arbitrum One"],
  [560048, "Hoodi"],
  [11155111, "Sepolia"],
]);

const TOP_LEVEL_KEYS = new Set([
  "chainId",
  "blockPeriodSeconds",
  "epochLength",
  "requestTimeoutSeconds",
  "ministries",
  "accounts",
  "gasLimit",
  "minGasPrice",
  "genesisTimestamp",
  "permissioning",
  "discovery",
  "besuImage",
  "paths",
  "$comment",
]);
const MINISTRY_KEYS = new Set([
  "name",
  "agencyCode",
  "nodePublicKey",
  "nodeKeyFile",
  "validatorAddress",
  "host",
  "p2pPort",
  "rpcPort",
  "rpc",
  "rpcHostAllowlist",
  "metricsPort",
  "$comment",
]);
const ACCOUNT_KEYS = new Set(["name", "address", "balance", "$comment"]);

const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const HEX_KEY = /^(?:0x)?[0-9a-fA-F]{64}$/;

export interface ParseOptions {
  /** Directory that relative `nodeKeyFile` paths are resolved against (normally the input file's directory). */
  readonly baseDir?: string;
  /** Reads a key file (default: node:fs). Injected by tests. */
  readonly readKeyFile?: (file: string) => Promise<string>;
}

/**
 * Validates an untrusted input value and normalises it. Collects every problem and throws one
 * `CivilIdError("INVALID_INPUT")` that lists them all (also in `details.problems`).
 */
export async function parseConsortiumInput(value: unknown, options: ParseOptions = {}): Promise<ConsortiumConfig> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const problem = (where: string, why: string): void => {
    problems.push(`${where}: ${why}`);
  };
  const fail = (): never => {
    throw new CivilIdError(
      "INVALID_INPUT",
      `Invalid consortium input (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
      { details: { problems: [...problems] } },
    );
  };

  if (!isPlainObject(value)) {
    problem("input", "must be a JSON object");
    return fail();
  }
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_KEYS.has(key)) problem(key, `unknown field (known: ${[...TOP_LEVEL_KEYS].filter((k) => k !== "$comment").join(", ")})`);
  }

  // --- chain parameters
  const chainId = integerField(value, "chainId", 1, Number.MAX_SAFE_INTEGER, problem);
  if (chainId !== undefined && PUBLIC_CHAIN_IDS.has(chainId)) {
    problem("chainId", `${chainId} is the chain id of ${PUBLIC_CHAIN_IDS.get(chainId)}; choose a private chain id`);
  }
  const blockPeriodSeconds = integerField(value, "blockPeriodSeconds", 1, 60, problem);
  const epochLength = integerField(value, "epochLength", 1, 1_000_000_000, problem);
  const requestTimeoutSeconds = integerField(value, "requestTimeoutSeconds", 1, 600, problem);
  if (
    blockPeriodSeconds !== undefined &&
    requestTimeoutSeconds !== undefined &&
    requestTimeoutSeconds < 2 * blockPeriodSeconds
  ) {
    warnings.push(
      `requestTimeoutSeconds (${requestTimeoutSeconds}) is below twice blockPeriodSeconds (${blockPeriodSeconds}); ` +
        "Besu recommends 2x the block period to avoid needless round changes.",
    );
  }
  let gasLimit = DEFAULT_GAS_LIMIT;
  if (value.gasLimit !== undefined) {
    const parsed = parseQuantity(value.gasLimit);
    if (parsed === undefined || parsed < 5000n || parsed > 0x7fffffffffffffffn) {
      problem("gasLimit", "must be an integer from 5000 to 2^63-1 (decimal or 0x-hex)");
    } else gasLimit = parsed;
  }
  if (value.minGasPrice !== undefined && value.minGasPrice !== 0) {
    problem("minGasPrice", "the consortium runs with free gas: only 0 is accepted (omit the field or set 0)");
  }
  let genesisTimestamp = 0;
  if (value.genesisTimestamp !== undefined) {
    genesisTimestamp = integerField(value, "genesisTimestamp", 0, 2 ** 40, problem) ?? 0;
  }
  const permissioning = { nodes: true, accounts: true };
  if (value.permissioning !== undefined) {
    if (!isPlainObject(value.permissioning)) problem("permissioning", "must be an object { nodes?: boolean, accounts?: boolean }");
    else {
      for (const key of Object.keys(value.permissioning)) {
        if (key !== "nodes" && key !== "accounts") problem(`permissioning.${key}`, "unknown field (known: nodes, accounts)");
      }
      for (const key of ["nodes", "accounts"] as const) {
        const v = value.permissioning[key];
        if (v === undefined) continue;
        if (typeof v !== "boolean") problem(`permissioning.${key}`, "must be true or false");
        else permissioning[key] = v;
      }
    }
  }
  if (!permissioning.nodes) warnings.push("Node permissioning is off: any node that knows an enode URL may join as a peer.");
  if (!permissioning.accounts) warnings.push("Account permissioning is off: any key may submit transactions to the nodes.");
  let discovery = false;
  if (value.discovery !== undefined) {
    if (typeof value.discovery !== "boolean") problem("discovery", "must be true or false");
    else discovery = value.discovery;
  }
  let besuImage = DEFAULT_BESU_IMAGE;
  if (value.besuImage !== undefined) {
    if (typeof value.besuImage !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(value.besuImage)) {
      problem("besuImage", "must be a Docker image reference such as hyperledger/besu:24.12.2");
    } else besuImage = value.besuImage;
  }
  const paths = { data: DEFAULT_DATA_PATH, config: DEFAULT_CONFIG_DIR };
  if (value.paths !== undefined) {
    if (!isPlainObject(value.paths)) problem("paths", "must be an object { data?: string, config?: string }");
    else {
      for (const key of Object.keys(value.paths)) {
        if (key !== "data" && key !== "config") problem(`paths.${key}`, "unknown field (known: data, config)");
      }
      for (const key of ["data", "config"] as const) {
        const v = value.paths[key];
        if (v === undefined) continue;
        if (typeof v !== "string" || !path.posix.isAbsolute(v) || /["\\\n\r]/.test(v)) {
          problem(`paths.${key}`, "must be an absolute POSIX path without quotes or backslashes");
        } else paths[key] = path.posix.normalize(v).replace(/\/+$/, "") || "/";
      }
    }
  }

  // --- ministries / validators
  const nodes: ValidatorNode[] = [];
  if (!Array.isArray(value.ministries) || value.ministries.length === 0) {
    problem("ministries", "must be a non-empty list: QBFT needs at least one validator");
  } else {
    const readKeyFile = options.readKeyFile ?? ((file: string) => readFile(file, "utf8"));
    const parsed: { index: number; node: ValidatorNode }[] = [];
    for (const [index, raw] of value.ministries.entries()) {
      const result = await parseMinistry(raw, `ministries[${index}]`, options.baseDir ?? process.cwd(), readKeyFile);
      problems.push(...result.problems);
      if (result.node) parsed.push({ index, node: result.node });
    }
    checkUnique(parsed, (n) => n.name, "name", problem);
    checkUnique(parsed, (n) => String(n.agencyCode), "agencyCode", problem);
    checkUnique(parsed, (n) => n.address, "validator address (node key)", problem);
    // Every listening endpoint on a host must be distinct, across nodes and within one node.
    const endpoints = new Map<string, string>();
    for (const { index, node } of parsed) {
      for (const [kind, port] of listeningPorts(node)) {
        const key = `${node.host.toLowerCase()}:${port}`;
        const owner = `ministries[${index}].${kind}`;
        const other = endpoints.get(key);
        if (other !== undefined) problem(owner, `${key} is already used by ${other}`);
        else endpoints.set(key, owner);
      }
    }
    nodes.push(...parsed.map((p) => p.node));
    if (nodes.length === value.ministries.length && nodes.length < RECOMMENDED_MIN_VALIDATORS) {
      warnings.push(
        `Only ${nodes.length} validator${nodes.length === 1 ? "" : "s"}: QBFT tolerates floor((n-1)/3) = ` +
          `${faultTolerance(nodes.length)} faulty validators, so any outage stalls block production. ` +
          `Run at least ${RECOMMENDED_MIN_VALIDATORS} validators in production.`,
      );
    }
  }

  // --- accounts
  const accounts: ConsortiumAccount[] = [];
  const accountEntries: { index: number; node: ConsortiumAccount }[] = [];
  if (value.accounts !== undefined && !Array.isArray(value.accounts)) {
    problem("accounts", "must be a list of { name, address, balance? }");
  } else if (Array.isArray(value.accounts)) {
    for (const [i, raw] of value.accounts.entries()) {
      const where = `accounts[${i}]`;
      if (!isPlainObject(raw)) {
        problem(where, "must be an object { name, address, balance? }");
        continue;
      }
      for (const key of Object.keys(raw)) {
        if (!ACCOUNT_KEYS.has(key)) problem(`${where}.${key}`, "unknown field (known: name, address, balance)");
      }
      const name = typeof raw.name === "string" && raw.name.trim() !== "" && raw.name.length <= 64 ? raw.name.trim() : undefined;
      if (name === undefined) problem(`${where}.name`, "must be a non-empty string of at most 64 characters");
      const address = typeof raw.address === "string" && isAddress(raw.address) ? getAddress(raw.address) : undefined;
      if (address === undefined) problem(`${where}.address`, `${JSON.stringify(raw.address)} is not an address (0x + 40 hex digits, valid checksum if mixed case)`);
      else if (BigInt(address) === 0n) problem(`${where}.address`, "the zero address cannot send transactions");
      let balance = 0n;
      if (raw.balance !== undefined) {
        const parsed = typeof raw.balance === "string" ? parseQuantity(raw.balance) : undefined;
        if (parsed === undefined || parsed >= 1n << 256n) {
          problem(`${where}.balance`, "must be a wei amount as a decimal or 0x-hex string");
        } else balance = parsed;
      }
      if (name !== undefined && address !== undefined) accountEntries.push({ index: i, node: { name, address, balance } });
    }
    checkUnique(accountEntries, (a) => a.address, "address", problem, "accounts");
    accounts.push(...accountEntries.map((e) => e.node));
  }
  if (permissioning.accounts && accounts.length === 0 && problems.length === 0) {
    problem(
      "accounts",
      "account permissioning is on but no account is listed, so no transaction could ever be sent; list the " +
        "deployer, the ministries' governance accounts and every organisation's admin/operator accounts",
    );
  }

  if (problems.length > 0) return fail();
  return {
    chainId: chainId!,
    blockPeriodSeconds: blockPeriodSeconds!,
    epochLength: epochLength!,
    requestTimeoutSeconds: requestTimeoutSeconds!,
    gasLimit,
    genesisTimestamp,
    nodes,
    accounts,
    permissioning,
    discovery,
    besuImage,
    paths,
    warnings,
  };
}

async function parseMinistry(
  raw: unknown,
  where: string,
  baseDir: string,
  readKeyFile: (file: string) => Promise<string>,
): Promise<{ node?: ValidatorNode; problems: string[] }> {
  const problems: string[] = [];
  const problem = (at: string, why: string): void => {
    problems.push(`${at}: ${why}`);
  };
  if (!isPlainObject(raw)) {
    problem(where, "must be an object { name, agencyCode, nodePublicKey | nodeKeyFile, host, p2pPort, rpcPort, rpc }");
    return { problems };
  }
  const name = typeof raw.name === "string" && NAME_PATTERN.test(raw.name) ? raw.name : undefined;
  if (name === undefined) {
    problem(`${where}.name`, `${JSON.stringify(raw.name)} must be 1-32 lower-case letters, digits or '-' (not at either end)`);
  }
  const here = name === undefined ? where : `${where} (${name})`;
  for (const key of Object.keys(raw)) {
    if (!MINISTRY_KEYS.has(key)) problem(`${here}.${key}`, `unknown field (known: ${[...MINISTRY_KEYS].filter((k) => k !== "$comment").join(", ")})`);
  }

  let agencyCode: number | undefined;
  const codeText = typeof raw.agencyCode === "number" ? String(raw.agencyCode) : typeof raw.agencyCode === "string" ? raw.agencyCode.trim() : "";
  if (/^[1-9][0-9]{6}$/.test(codeText) && isValidAgencyCode(Number(codeText))) agencyCode = Number(codeText);
  else problem(`${here}.agencyCode`, `${JSON.stringify(raw.agencyCode)} is not an agency code: 7 digits, first digit non-zero (e.g. 1741000)`);

  // Key material: the enode id (public key) is needed for static-nodes and the node allowlist, and the
  // validator address is derived from it. An address alone is a hash of the key and cannot give the enode.
  let publicKey: string | undefined;
  if (raw.nodePublicKey !== undefined && raw.nodeKeyFile !== undefined) {
    problem(here, "give either nodePublicKey or nodeKeyFile, not both");
  } else if (raw.nodePublicKey !== undefined) {
    publicKey = normalisePublicKey(raw.nodePublicKey);
    if (publicKey === undefined) {
      problem(`${here}.nodePublicKey`, "is not a secp256k1 public key (128 hex digits as printed by `besu public-key export`)");
    }
  } else if (raw.nodeKeyFile !== undefined) {
    if (typeof raw.nodeKeyFile !== "string" || raw.nodeKeyFile.trim() === "") {
      problem(`${here}.nodeKeyFile`, "must be a file path");
    } else {
      const file = path.resolve(baseDir, raw.nodeKeyFile);
      let text: string | undefined;
      try {
        text = await readKeyFile(file);
      } catch (error) {
        problem(`${here}.nodeKeyFile`, `cannot read ${file}: ${(error as Error).message}`);
      }
      if (text !== undefined) {
        const hex = text.trim();
        if (!HEX_KEY.test(hex)) {
          problem(`${here}.nodeKeyFile`, `${file} does not hold a Besu node key (0x + 64 hex digits)`);
        } else {
          try {
            publicKey = new SigningKey(hex.startsWith("0x") ? hex : `0x${hex}`).publicKey.slice(4).toLowerCase();
          } catch {
            problem(`${here}.nodeKeyFile`, `${file} holds an invalid secp256k1 private key`);
          }
        }
      }
    }
  } else {
    problem(
      here,
      "needs the node's public key: nodePublicKey (from `besu public-key export`) or nodeKeyFile. A validatorAddress " +
        "alone is not enough: the enode URL in static-nodes and the node allowlist needs the public key",
    );
  }
  const address = publicKey === undefined ? undefined : computeAddress(`0x04${publicKey}`);
  if (raw.validatorAddress !== undefined) {
    if (typeof raw.validatorAddress !== "string" || !isAddress(raw.validatorAddress)) {
      problem(`${here}.validatorAddress`, `${JSON.stringify(raw.validatorAddress)} is not an address (0x + 40 hex digits, valid checksum if mixed case)`);
    } else if (address !== undefined && getAddress(raw.validatorAddress) !== address) {
      problem(
        `${here}.validatorAddress`,
        `${getAddress(raw.validatorAddress)} does not match the node key, whose address is ${address}`,
      );
    }
  }

  const host = typeof raw.host === "string" && isValidHost(raw.host.trim()) ? raw.host.trim() : undefined;
  if (host === undefined) problem(`${here}.host`, `${JSON.stringify(raw.host)} is not an IP address or DNS host name`);
  const p2pPort = portField(raw, "p2pPort", here, problem);
  const rpcPort = portField(raw, "rpcPort", here, problem);
  if (p2pPort !== undefined && p2pPort === rpcPort) problem(`${here}.rpcPort`, "must differ from p2pPort");
  if (typeof raw.rpc !== "boolean") problem(`${here}.rpc`, "must be true (serves JSON-RPC to SDK clients) or false (loopback only)");

  let rpcHostAllowlist: string[] | undefined;
  if (raw.rpcHostAllowlist !== undefined) {
    if (
      !Array.isArray(raw.rpcHostAllowlist) ||
      raw.rpcHostAllowlist.length === 0 ||
      !raw.rpcHostAllowlist.every((h) => typeof h === "string" && (h === "*" || isValidHost(h)))
    ) {
      problem(`${here}.rpcHostAllowlist`, "must be a non-empty list of host names, IP addresses or \"*\"");
    } else rpcHostAllowlist = [...new Set(raw.rpcHostAllowlist as string[])];
  }

  let metricsPort: number | undefined;
  if (raw.metricsPort !== undefined) metricsPort = portField(raw, "metricsPort", here, problem);
  if (raw.rpc === true && rpcPort === 65535) {
    problem(`${here}.rpcPort`, "must be at most 65534: the operator WebSocket listens on rpcPort + 1");
  }

  if (problems.length > 0) return { problems };
  const node: ValidatorNode = {
    name: name!,
    agencyCode: agencyCode!,
    publicKey: publicKey!,
    address: address!,
    host: host!,
    p2pPort: p2pPort!,
    rpcPort: rpcPort!,
    rpc: raw.rpc as boolean,
    rpcHostAllowlist: rpcHostAllowlist ?? [...new Set(["localhost", "127.0.0.1", host!])],
    metricsPort,
    enode: `enode://${publicKey}@${isIP(host!) === 6 ? `[${host}]` : host}:${p2pPort}`,
  };
  return { node, problems };
}

/** The ports a node listens on (all on its host): P2P, JSON-RPC, operator WebSocket, metrics. */
function listeningPorts(node: ValidatorNode): [string, number][] {
  const ports: [string, number][] = [
    ["p2pPort", node.p2pPort],
    ["rpcPort", node.rpcPort],
  ];
  if (node.rpc) ports.push(["rpcPort+1 (operator WebSocket)", node.rpcPort + 1]);
  if (node.metricsPort !== undefined) ports.push(["metricsPort", node.metricsPort]);
  return ports;
}

// ---------------------------------------------------------------------------------------------- outputs

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

/** `config.toml` of one node (Besu reads every command-line option from it, without the leading dashes). */
export function buildNodeConfigToml(config: ConsortiumConfig, node: ValidatorNode): string {
  const c = config.paths.config;
  const usesDns = config.nodes.some((n) => isIP(n.host) === 0);
  const lines: string[] = [
    `# Besu configuration of ${node.name} (agency ${node.agencyCode}), validator ${node.address}.`,
    "# Generated by scripts/consortium/generate.ts from the consortium input; regenerate rather than edit.",
    "",
    `identity=${tomlString(node.name)}`,
    `data-path=${tomlString(config.paths.data)}`,
    `genesis-file=${tomlString(`${c}/genesis.json`)}`,
    "# The node key is the validator key: keep it in the ministry's key store, never in this directory.",
    `node-private-key-file=${tomlString(`${c}/key`)}`,
    `sync-mode="FULL"`,
    "",
    "# Peer-to-peer",
    `p2p-interface="0.0.0.0"`,
    `p2p-port=${node.p2pPort}`,
  ];
  if (isIP(node.host) !== 0) lines.push(`p2p-host=${tomlString(node.host)}`);
  lines.push(`nat-method="NONE"`);
  if (config.discovery) {
    lines.push(
      "discovery-enabled=true",
      `bootnodes=${tomlArray(config.nodes.filter((n) => n !== node).map((n) => n.enode))}`,
    );
  } else {
    lines.push("discovery-enabled=false", `static-nodes-file=${tomlString(`${c}/static-nodes.json`)}`);
  }
  if (usesDns) {
    lines.push("# Enode URLs name hosts by DNS: resolve them, and again when a peer's address changes.", "Xdns-enabled=true", "Xdns-update-enabled=true");
  }
  lines.push(
    "",
    "# Free gas: every node must accept zero-priced transactions, or it silently drops them.",
    "min-gas-price=0",
    "tx-pool-min-gas-price=0",
    "revert-reason-enabled=true",
    "",
  );
  if (node.rpc) {
    lines.push(
      "# JSON-RPC for the consortium's SDK clients (issuers, verifiers, indexers): no QBFT API on this listener.",
      "rpc-http-enabled=true",
      `rpc-http-host="0.0.0.0"`,
      `rpc-http-port=${node.rpcPort}`,
      `rpc-http-api=${tomlArray(["ETH", "NET", "WEB3"])}`,
      `host-allowlist=${tomlArray(node.rpcHostAllowlist)}`,
      "# Operator API (qbft_proposeValidatorVote ...) on the loopback interface only.",
      "rpc-ws-enabled=true",
      `rpc-ws-host="127.0.0.1"`,
      `rpc-ws-port=${node.rpcPort + 1}`,
      `rpc-ws-api=${tomlArray(["ETH", "NET", "QBFT", "WEB3"])}`,
    );
  } else {
    lines.push(
      "# JSON-RPC for the ministry's operators only (loopback), including the QBFT validator-vote API.",
      "rpc-http-enabled=true",
      `rpc-http-host="127.0.0.1"`,
      `rpc-http-port=${node.rpcPort}`,
      `rpc-http-api=${tomlArray(["ETH", "NET", "QBFT", "WEB3"])}`,
      `host-allowlist=${tomlArray(node.rpcHostAllowlist)}`,
    );
  }
  lines.push("", "# Local permissioning: who may connect (nodes) and who may send transactions (accounts).");
  lines.push(`permissions-nodes-config-file-enabled=${config.permissioning.nodes}`);
  if (config.permissioning.nodes) lines.push(`permissions-nodes-config-file=${tomlString(`${c}/permissions_config.toml`)}`);
  lines.push(`permissions-accounts-config-file-enabled=${config.permissioning.accounts}`);
  if (config.permissioning.accounts) lines.push(`permissions-accounts-config-file=${tomlString(`${c}/permissions_config.toml`)}`);
  if (node.metricsPort !== undefined) {
    lines.push("", "# Prometheus metrics for the ministry's monitoring, loopback only.", "metrics-enabled=true", `metrics-host="127.0.0.1"`, `metrics-port=${node.metricsPort}`);
  }
  lines.push("");
  return lines.join("\n");
}

/** `permissions_config.toml`: the same allowlists on every node (Besu checks them per node). */
export function buildPermissionsToml(config: ConsortiumConfig): string {
  const lines = [
    "# Local permissioning of the consortium. Identical on every node; regenerate and reload",
    "# (perm_reloadPermissionsFromFile or restart) on all nodes together.",
    "",
  ];
  if (config.permissioning.nodes) {
    lines.push("# Nodes allowed to peer: every member ministry's validator.", `nodes-allowlist=${tomlArray(config.nodes.map((n) => n.enode))}`, "");
  }
  if (config.permissioning.accounts) {
    lines.push("# Accounts allowed to send transactions.");
    for (const a of config.accounts) lines.push(`#   ${a.address.toLowerCase()}  ${a.name.replace(/[\r\n]/g, " ")}`);
    lines.push(`accounts-allowlist=${tomlArray(config.accounts.map((a) => a.address.toLowerCase()))}`, "");
  }
  return lines.join("\n");
}

/** `static-nodes.json` of one node: every other validator. */
export function buildStaticNodes(config: ConsortiumConfig, node: ValidatorNode): string {
  return JSON.stringify(config.nodes.filter((n) => n !== node).map((n) => n.enode), null, 2) + "\n";
}

/** Summary for operators and SDK configuration. */
export function buildNetworkSummary(config: ConsortiumConfig, genesisSha256: string): Record<string, unknown> {
  return {
    format: "mobile-civil-id/consortium-network@1",
    chainId: config.chainId,
    genesisSha256,
    validators: config.nodes.map((n) => ({
      name: n.name,
      agencyCode: n.agencyCode,
      address: n.address,
      enode: n.enode,
      rpcUrl: n.rpc ? `http://${isIP(n.host) === 6 ? `[${n.host}]` : n.host}:${n.rpcPort}` : null,
    })),
    faultTolerance: faultTolerance(config.nodes.length),
    quorum: qbftQuorum(config.nodes.length),
    accounts: config.accounts.map((a) => ({ name: a.name, address: a.address })),
  };
}

/** The documentation-only Docker Compose file that runs every node on one Docker host. */
export function buildDockerCompose(config: ConsortiumConfig): { yaml: string; warnings: string[] } {
  const warnings: string[] = [];
  const c = config.paths.config;
  const hosts = config.nodes.map((n) => n.host.toLowerCase());
  const allLoopback = hosts.every(isLoopback);
  const hostsUnique = new Set(hosts).size === hosts.length;
  const hostNetwork = allLoopback || !hostsUnique;
  const ipv4Hosts = config.nodes.filter((n) => isIP(n.host) === 4).map((n) => n.host);
  let subnet: string | undefined;
  if (!hostNetwork && ipv4Hosts.length > 0) {
    subnet = commonSubnet(ipv4Hosts);
    if (subnet === undefined) {
      warnings.push("docker-compose.yml: the nodes' IPv4 hosts share no /16 subnet; adapt the compose network by hand.");
    }
  }
  if (!hostNetwork && config.nodes.some((n) => isIP(n.host) === 6)) {
    warnings.push("docker-compose.yml: IPv6 hosts are not mapped onto the compose network; adapt it by hand.");
  }
  const q = JSON.stringify; // a JSON string is a valid YAML double-quoted scalar
  const out: string[] = [
    "# Mobile civil-servant ID consortium: every validator on ONE Docker host, for rehearsals and documentation.",
    "# In production each ministry runs its own node on its own infrastructure with the same per-node files.",
    "# Before `docker compose up`, put each node's key file at nodes/<name>/key (never generated or committed).",
    "# The Besu image sets BESU_RPC_HTTP_HOST / BESU_RPC_WS_HOST=0.0.0.0, and environment variables override",
    "# config.toml: each service states them explicitly.",
    "# Generated by scripts/consortium/generate.ts.",
    "name: mobile-civil-id-consortium",
    "",
    "services:",
    "  # Named volumes start owned by root; Besu runs as uid 1000.",
    "  volume-permissions:",
    `    image: ${q(config.besuImage)}`,
    "    user: root",
    `    entrypoint: ["chown", "-R", "1000:1000", ${config.nodes.map((n) => q(`/volumes/${n.name}`)).join(", ")}]`,
    "    network_mode: none",
    "    volumes:",
    ...config.nodes.map((n) => `      - ${q(`${n.name}-data:/volumes/${n.name}`)}`),
  ];
  const published = new Set<number>();
  const publish = (port: number, what: string): string[] => {
    if (published.has(port)) return [`      # ${what} ${port} is already published by another service: not published again.`];
    published.add(port);
    return [`      - ${q(`127.0.0.1:${port}:${port}`)} # ${what}`];
  };
  for (const node of config.nodes) {
    const dir = `./nodes/${node.name}`;
    out.push(
      `  ${node.name}:`,
      `    image: ${q(config.besuImage)}`,
      `    command: [${q(`--config-file=${c}/config.toml`)}]`,
      "    restart: unless-stopped",
      "    depends_on:",
      "      volume-permissions:",
      "        condition: service_completed_successfully",
      "    environment:",
    );
    if (hostNetwork) {
      // The host's own interfaces: keep config.toml's bindings (loopback stays loopback).
      out.push(`      BESU_RPC_HTTP_HOST: ${q(node.rpc ? "0.0.0.0" : "127.0.0.1")}`, `      BESU_RPC_WS_HOST: "127.0.0.1"`);
    } else {
      // Inside its own container a node's loopback is unreachable from the Docker host, so listen on the
      // container's interfaces and publish to the Docker host's loopback only.
      out.push(`      BESU_RPC_HTTP_HOST: "0.0.0.0"`, `      BESU_RPC_WS_HOST: "0.0.0.0"`);
    }
    out.push(
      "    volumes:",
      `      - ${q(`./genesis.json:${c}/genesis.json:ro`)}`,
      `      - ${q(`${dir}/config.toml:${c}/config.toml:ro`)}`,
      `      - ${q(`${dir}/static-nodes.json:${c}/static-nodes.json:ro`)}`,
      `      - ${q(`${dir}/permissions_config.toml:${c}/permissions_config.toml:ro`)}`,
      `      - ${q(`${dir}/key:${c}/key:ro`)}`,
      `      - ${q(`${node.name}-data:${config.paths.data}`)}`,
    );
    if (hostNetwork) {
      out.push("    network_mode: host");
      continue;
    }
    const ports = publish(node.rpcPort, node.rpc ? "JSON-RPC" : "operator JSON-RPC (QBFT)");
    if (node.rpc) ports.push(...publish(node.rpcPort + 1, "operator WebSocket (QBFT)"));
    if (ports.some((line) => line.trimStart().startsWith("-"))) out.push("    ports:");
    out.push(...ports);
    out.push("    networks:", "      consortium:");
    if (isIP(node.host) === 4 && subnet !== undefined) out.push(`        ipv4_address: ${q(node.host)}`);
    else if (isIP(node.host) === 0) out.push(`        aliases: [${q(node.host)}]`);
  }
  out.push("", "volumes:");
  for (const node of config.nodes) out.push(`  ${node.name}-data: {}`);
  if (!hostNetwork) {
    out.push("", "networks:", "  consortium:", "    driver: bridge");
    if (subnet !== undefined) out.push("    ipam:", "      config:", `        - subnet: ${q(subnet)}`);
  }
  out.push("");
  return { yaml: out.join("\n"), warnings };
}

/** Every output file, keyed by path relative to the output directory. */
export interface ConsortiumFiles {
  readonly files: ReadonlyMap<string, string>;
  readonly warnings: readonly string[];
  readonly genesisSha256: string;
  /**
   * Only when built against an existing genesis: validators of the input that the genesis lacks (to be voted in
   * with qbft_proposeValidatorVote(address, true)) and genesis validators no longer in the input (to vote out).
   */
  readonly validatorChanges?: { readonly add: readonly string[]; readonly remove: readonly string[] };
}

/**
 * Builds every output file. With `existingGenesis` (the text of the genesis.json the network already runs), no
 * genesis is generated: the node files are rebuilt for the current input (e.g. after a ministry joined) and
 * checked against that genesis: same chain id and QBFT parameters, or INVALID_INPUT.
 */
export function buildConsortiumFiles(config: ConsortiumConfig, options: { existingGenesis?: string } = {}): ConsortiumFiles {
  const files = new Map<string, string>();
  let genesis: string;
  let validatorChanges: ConsortiumFiles["validatorChanges"];
  if (options.existingGenesis === undefined) {
    genesis = JSON.stringify(buildGenesis(config), null, 2) + "\n";
    files.set("genesis.json", genesis);
  } else {
    genesis = options.existingGenesis;
    validatorChanges = compareWithGenesis(config, genesis);
  }
  const genesisSha256 = createHash("sha256").update(genesis).digest("hex");
  const permissions = buildPermissionsToml(config);
  for (const node of config.nodes) {
    files.set(`nodes/${node.name}/config.toml`, buildNodeConfigToml(config, node));
    files.set(`nodes/${node.name}/static-nodes.json`, buildStaticNodes(config, node));
    files.set(`nodes/${node.name}/permissions_config.toml`, permissions);
  }
  const compose = buildDockerCompose(config);
  files.set("docker-compose.yml", compose.yaml);
  files.set("network.json", JSON.stringify(buildNetworkSummary(config, genesisSha256), null, 2) + "\n");
  return {
    files,
    warnings: [...config.warnings, ...compose.warnings],
    genesisSha256,
    ...(validatorChanges === undefined ? {} : { validatorChanges }),
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

function compareWithGenesis(config: ConsortiumConfig, text: string): { add: string[]; remove: string[] } {
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

/**
 * Writes the files under `outDir`, each atomically (temp file + rename), readable by the node's service user
 * (mode 0644: nothing here is secret). Refuses to replace an existing genesis.json unless `force`, because a
 * regenerated genesis is a different chain. Output built against an existing genesis contains no genesis.json
 * and never touches the one in `outDir`.
 */
export async function writeConsortiumFiles(
  outDir: string,
  output: ConsortiumFiles,
  options: { force?: boolean } = {},
): Promise<string[]> {
  const genesisPath = path.join(outDir, "genesis.json");
  if (output.files.has("genesis.json") && !options.force && (await exists(genesisPath))) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `${genesisPath} already exists. A new genesis file is a new chain: use --nodes-only to rebuild the node ` +
        "files of a running network, or --force only if no node runs on the old genesis.",
    );
  }
  const written: string[] = [];
  for (const [relative, content] of output.files) {
    const file = path.join(outDir, ...relative.split("/"));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, content, 0o644);
    written.push(file);
  }
  return written;
}

// ---------------------------------------------------------------------------------------------- helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function integerField(
  obj: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  problem: (where: string, why: string) => void,
): number | undefined {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    problem(key, `${v === undefined ? "is required and" : `${JSON.stringify(v)}`} must be an integer from ${min} to ${max}`);
    return undefined;
  }
  return v;
}

function portField(
  obj: Record<string, unknown>,
  key: "p2pPort" | "rpcPort" | "metricsPort",
  where: string,
  problem: (where: string, why: string) => void,
): number | undefined {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
    problem(`${where}.${key}`, `${JSON.stringify(v)} is not a TCP port (1-65535)`);
    return undefined;
  }
  return v;
}

function parseQuantity(v: unknown): bigint | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (/^0x[0-9a-fA-F]{1,64}$/.test(s) || /^[0-9]{1,78}$/.test(s)) return BigInt(s);
  return undefined;
}

function normalisePublicKey(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  let hex = v.trim().toLowerCase();
  if (hex.startsWith("0x")) hex = hex.slice(2);
  if (/^[0-9a-f]{128}$/.test(hex)) hex = `04${hex}`;
  if (!/^(04[0-9a-f]{128}|0[23][0-9a-f]{64})$/.test(hex)) return undefined;
  try {
    return SigningKey.computePublicKey(`0x${hex}`, false).slice(4).toLowerCase();
  } catch {
    return undefined; // not a point on secp256k1
  }
}

function isValidHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  if (host.length > 253) return false;
  const labels = host.split(".");
  return labels.every((l) => DNS_LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

function commonSubnet(ipv4: readonly string[]): string | undefined {
  const octets = ipv4.map((ip) => ip.split("."));
  const same = (i: number) => octets.every((o) => o[i] === octets[0]![i]);
  if (same(0) && same(1) && same(2)) return `${octets[0]![0]}.${octets[0]![1]}.${octets[0]![2]}.0/24`;
  if (same(0) && same(1)) return `${octets[0]![0]}.${octets[0]![1]}.0.0/16`;
  return undefined;
}

function checkUnique<T>(
  entries: readonly { index: number; node: T }[],
  key: (item: T) => string,
  label: string,
  problem: (where: string, why: string) => void,
  list = "ministries",
): void {
  const seen = new Map<string, number>();
  for (const { index, node } of entries) {
    const k = key(node).toLowerCase();
    const first = seen.get(k);
    if (first !== undefined) {
      problem(`${list}[${index}]`, `duplicate ${label} ${JSON.stringify(key(node))} (also at ${list}[${first}])`);
    } else seen.set(k, index);
  }
}

function tomlString(s: string): string {
  return JSON.stringify(s); // TOML basic strings use the same escapes as JSON for the characters we emit
}

function tomlArray(items: readonly string[]): string {
  return `[${items.map(tomlString).join(",")}]`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
