/**
 * The consortium generator's input schema and its validated form, with the network constants (QBFT parameters,
 * Besu defaults). The input is one JSON file (docs/CONSORTIUM.md, sample ops/consortium/example.json).
 */
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
export const PUBLIC_CHAIN_IDS: ReadonlyMap<number, string> = new Map([
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

export const TOP_LEVEL_KEYS = new Set([
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
export const MINISTRY_KEYS = new Set([
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
export const ACCOUNT_KEYS = new Set(["name", "address", "balance", "$comment"]);

export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
export const HEX_KEY = /^(?:0x)?[0-9a-fA-F]{64}$/;
