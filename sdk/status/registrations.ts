/**
 * Chain look-ups of an issuing server: its registrations (`CredentialRegistered` logs of a holder), the latest
 * credential of a holder, the registrar's nonce state, and the anchor that binds an issuing database to one
 * deployment. Log queries are paged by sdk/status/log-pages.ts (nodes cap the block range of one eth_getLogs).
 */
import { getAddress, isHexString, type Provider, type Signer } from "ethers";
import { CivilIdError } from "../errors.js";
import type { CredentialStatusRegistry } from "../chain/contracts.js";
import type { Deployment } from "../chain/deployment.js";
import { toCivilIdError } from "../chain/errors.js";
import { DEFAULT_MAX_LOG_RANGE, isLogRangeRefusal, readLogPages } from "./log-pages.js";

/** Re-reads of a head that seems stale (ethers shares identical requests for 250 ms), and the wait between them. */
const HEAD_RETRIES = 5;
const HEAD_RETRY_MS = 300;

/**
 * Runs `fetch(from, to)` over [fromBlock, toBlock] oldest page first (sdk/status/log-pages.ts: halved on a size
 * refusal, grown back after each answer) and returns every result in block order.
 */
export async function pagedLogs<T>(
  fetch: (from: number, to: number) => Promise<readonly T[]>,
  fromBlock: number,
  toBlock: number,
  maxRange = DEFAULT_MAX_LOG_RANGE,
): Promise<T[]> {
  const out: T[] = [];
  await readLogPages({ fromBlock, toBlock, maxRange, fetch, onPage: (page) => void out.push(...page) });
  return out;
}

/** One `CredentialRegistered` log, checked and typed. */
export interface Registration {
  readonly credentialId: bigint;
  readonly holderRef: string;
  readonly credentialDigest: string;
  /** The holder's earlier credential this registration revoked (SUPERSEDED_BY_REISSUE), if any. */
  readonly supersededId: bigint | undefined;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly logIndex: number;
}

/**
 * The registrations of a holder from `fromBlock` to `toBlock` (default: the node's latest block), oldest first.
 * Each log is checked to come from the registry, inside the asked range and for the asked holder.
 */
export async function findRegistrations(
  registry: CredentialStatusRegistry,
  query: { readonly holderRef: string; readonly fromBlock: number; readonly toBlock?: number; readonly maxRange?: number },
): Promise<Registration[]> {
  if (!isHexString(query.holderRef, 32)) throw new CivilIdError("INVALID_INPUT", "holderRef must be 32 bytes of hex.");
  const address = getAddress(await registry.getAddress());
  const filter = registry.filters.CredentialRegistered(undefined, query.holderRef);
  const fetch = (from: number, to: number | "latest") => registry.queryFilter(filter, from, to);
  try {
    let logs: Awaited<ReturnType<typeof fetch>>;
    if (query.toBlock !== undefined) logs = await pagedLogs(fetch, query.fromBlock, query.toBlock, query.maxRange);
    else {
      // Up to the node's own latest block: page up to the head the provider reports, then ask from that head to
      // "latest" (a provider's head may lag the node, e.g. behind ethers' request cache); if that rest is refused
      // as too large, the head was far behind: read it again and page on.
      logs = [];
      let from = query.fromBlock;
      let lastHead = -1;
      for (let stalls = 0; ; ) {
        const head = await requireProvider(registry).getBlockNumber();
        if (head <= lastHead) {
          // The rest was refused but the reported head did not move: wait out the provider's cache, a few times.
          if (++stalls > HEAD_RETRIES) {
            throw new CivilIdError("CHAIN_UNREACHABLE", `The node refuses the log range from block ${from} to its latest block, but reports block ${head} as its head; retry later.`);
          }
          await new Promise((resolve) => setTimeout(resolve, HEAD_RETRY_MS));
          continue;
        }
        lastHead = head;
        if (head >= from) logs.push(...(await pagedLogs(fetch, from, head, query.maxRange)));
        let rest;
        try {
          rest = await fetch(Math.max(from, head), "latest");
        } catch (error) {
          if (!isLogRangeRefusal(error)) throw error;
          from = Math.max(from, head + 1);
          continue;
        }
        logs.push(...rest.filter((log) => head < from || log.blockNumber > head));
        break;
      }
    }
    const toBlock = query.toBlock ?? Number.MAX_SAFE_INTEGER;
    return logs.map((log) => {
      const valid = getAddress(log.address) === address && log.blockNumber >= query.fromBlock && log.blockNumber <= toBlock &&
        typeof log.args?.credentialId === "bigint" && log.args.holderRef === query.holderRef && isHexString(log.args.credentialDigest, 32);
      if (!valid) throw new CivilIdError("CHAIN_UNREACHABLE", `The node answered a CredentialRegistered log that was not asked for (block ${log.blockNumber}, tx ${log.transactionHash}).`);
      return {
        credentialId: log.args.credentialId, holderRef: log.args.holderRef, credentialDigest: log.args.credentialDigest,
        supersededId: log.args.supersededId === 0n ? undefined : log.args.supersededId,
        txHash: log.transactionHash, blockNumber: log.blockNumber, logIndex: log.index,
      };
    });
  } catch (error) {
    if (error instanceof CivilIdError) throw error;
    throw toCivilIdError(error, registry.interface, "Registration look-up");
  }
}

/** The holder's latest registration since `fromBlock` (its current credential, unless revoked since), if any. */
export async function latestRegistrationOf(registry: CredentialStatusRegistry, holderRef: string, fromBlock: number, maxRange?: number): Promise<Registration | undefined> {
  return (await findRegistrations(registry, { holderRef, fromBlock, ...(maxRange === undefined ? {} : { maxRange }) })).at(-1);
}

/** The registrar's nonces: `mined` = transactions included so far, `pending` = including those waiting in the pool. */
export async function nonceState(signer: Signer): Promise<{ readonly address: string; readonly mined: number; readonly pending: number }> {
  const provider = signer.provider;
  if (!provider) throw new CivilIdError("INVALID_INPUT", "The registrar signer has no provider.");
  const address = await signer.getAddress();
  const [mined, pending] = await Promise.all([provider.getTransactionCount(address, "latest"), provider.getTransactionCount(address, "pending")]);
  return { address, mined, pending };
}

/** What identifies a deployment on the node itself: its chain id and the hash of the deployment's first block. */
export interface DeploymentAnchor {
  readonly chainId: number;
  readonly deploymentBlock: number;
  readonly deploymentBlockHash: string;
}

/**
 * Reads the deployment's anchor from the node, refusing a node of another chain (CHAIN_ID_MISMATCH) or one that has
 * no such block yet (a restarted chain shorter than the deployment: DEPLOYMENT_MISMATCH).
 */
export async function deploymentAnchor(provider: Provider, deployment: Deployment): Promise<DeploymentAnchor> {
  let chainId: bigint;
  let hash: string | null | undefined;
  try {
    chainId = (await provider.getNetwork()).chainId;
    hash = (await provider.getBlock(deployment.deploymentBlock))?.hash;
  } catch (error) {
    throw new CivilIdError("CHAIN_UNREACHABLE", `Cannot read the deployment block ${deployment.deploymentBlock} from the node: ${error instanceof Error ? error.message : String(error)}.`, { cause: error });
  }
  if (chainId !== BigInt(deployment.chainId)) {
    throw new CivilIdError("CHAIN_ID_MISMATCH", `The node is on chain ${chainId}, the deployment on chain ${deployment.chainId}: point the RPC URL at the deployment's chain.`);
  }
  if (!hash || !isHexString(hash, 32)) {
    throw new CivilIdError(
      "DEPLOYMENT_MISMATCH",
      `The node has no block ${deployment.deploymentBlock}, where this deployment was made: the chain was restarted or replaced. Deploy again (or use the deployment file of this chain).`,
    );
  }
  return { chainId: Number(chainId), deploymentBlock: deployment.deploymentBlock, deploymentBlockHash: hash.toLowerCase() };
}

function requireProvider(registry: CredentialStatusRegistry): Provider {
  const provider = registry.runner?.provider;
  if (!provider) throw new CivilIdError("INVALID_INPUT", "The status registry is not connected to a provider.");
  return provider;
}
