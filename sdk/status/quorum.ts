import { CivilIdError, isCivilIdError } from "../errors.js";
import type { Deployment } from "../chain/deployment.js";
import { JsonRpcNodeError, isRangeTooLarge, type LedgerNode } from "./ledger-node.js";

/** A node answered differently from the agreed answer (a lying, forked or misconfigured node: alert its operator). */
export interface DissentEvent {
  readonly node: string;
  /** What was being read ("status of credential 1741000…", "logs 100..199", "chain identity"). */
  readonly what: string;
  readonly block: number;
}

export interface QuorumOptions {
  /** The deployment the verifier trusts (chain id, contract addresses, deployment block and its hash). */
  readonly deployment: Deployment;
  /** One node per ministry (or any independent operators). */
  readonly nodes: readonly LedgerNode[];
  /**
   * How many nodes must give the same answer at the same block (k of n). Default: a majority, ⌊n/2⌋+1. With k > n/2
   * two different answers can never both reach k.
   */
  readonly quorum?: number;
  /** Called for each answer that differs from the agreed one, and for each node found on another chain. */
  readonly onDissent?: (event: DissentEvent) => void;
  /** A node that failed (down, timed out, wrong chain) is not asked again for this long (ms). Default 5 000. */
  readonly retryAfterMs?: number;
  /** A node's chain identity is re-checked after this long (ms), so a re-pointed URL is caught. Default 60 000. */
  readonly identityTtlMs?: number;
  readonly now?: () => number;
}

interface NodeHealth {
  downUntil: number;
  verifiedAt: number;
  lastError: string | undefined;
}

/**
 * Cross-checks what a verifier relies on across several independent nodes. A read is accepted when `quorum` nodes
 * give the identical answer at the same block (including that block's hash); an answer that differs from it is
 * reported as dissent; when no answer reaches the quorum and the nodes disagree, the read fails with
 * LEDGER_DISAGREEMENT (never a guess). Before a node is relied on, its chain id and the hash of the deployment block
 * are checked against the deployment (WRONG_CHAIN otherwise), so a node of another chain with the same contract
 * addresses is refused. Down or lagging nodes are skipped: with n = 3 and k = 2 a gate keeps working with one node
 * down, and one lying node is outvoted.
 */
export class NodeQuorum {
  readonly nodes: readonly LedgerNode[];
  readonly quorum: number;
  readonly deployment: Deployment;
  private readonly onDissent: (event: DissentEvent) => void;
  private readonly retryAfterMs: number;
  private readonly identityTtlMs: number;
  private readonly now: () => number;
  private readonly health = new Map<LedgerNode, NodeHealth>();
  /** The deployment block's hash: from the deployment file, or learned once from a quorum (older files). */
  private anchorHash: string | undefined;
  private learning: Promise<string> | undefined;
  private readonly hashes = new Map<string, { at: number; hash: Promise<string | undefined> }>();

  constructor(options: QuorumOptions) {
    this.nodes = [...options.nodes];
    this.deployment = options.deployment;
    const n = this.nodes.length;
    this.quorum = options.quorum ?? Math.floor(n / 2) + 1;
    if (n === 0) throw new CivilIdError("INVALID_INPUT", "A verifier needs at least one node URL.");
    if (new Set(this.nodes.map((node) => node.name)).size !== n) throw new CivilIdError("INVALID_INPUT", "Node names (URLs) must be distinct.");
    if (!Number.isInteger(this.quorum) || this.quorum < 1 || this.quorum > n) {
      throw new CivilIdError("INVALID_INPUT", `The quorum must be between 1 and the number of nodes (${n}); got ${String(options.quorum)}.`);
    }
    this.onDissent = options.onDissent ?? (() => undefined);
    this.retryAfterMs = options.retryAfterMs ?? 5_000;
    this.identityTtlMs = options.identityTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.anchorHash = options.deployment.deploymentBlockHash?.toLowerCase();
    for (const node of this.nodes) this.health.set(node, { downUntil: -Infinity, verifiedAt: -Infinity, lastError: undefined });
  }

  /** Per node: whether it is currently used, and its last error (for a gate's status page). */
  describe(): { node: string; usable: boolean; lastError: string | undefined }[] {
    const t = this.now();
    return this.nodes.map((node) => {
      const h = this.health.get(node)!;
      return { node: node.name, usable: h.downUntil <= t, lastError: h.lastError };
    });
  }

  /**
   * The newest block that at least `quorum` nodes have: the k-th highest head among the nodes that answer. A node
   * claiming a far-future head cannot move it past every honest node's head unless k nodes collude.
   */
  async head(): Promise<number> {
    const nodes = await this.usableNodes();
    const heads = (await Promise.all(nodes.map((node) => this.guard(node, () => node.blockNumber())))).filter((h): h is number => h !== undefined);
    if (heads.length < this.quorum) throw this.unavailable(`only ${heads.length} node(s) answered the block number`);
    heads.sort((a, b) => b - a);
    return heads[this.quorum - 1]!;
  }

  /**
   * Reads the same thing from every usable node at block `height` and returns the answer `quorum` of them agree on
   * (the block hash at `height` is part of every answer). Returns as soon as the outcome is decided, so a hanging
   * node costs nothing once k nodes agreed. Returns the agreed value and the agreed hash of block `height` (read before
   * the data with `hashFirst`).
   */
  async agree<T>(
    what: string,
    height: number,
    read: (node: LedgerNode) => Promise<T>,
    fingerprint: (value: T) => string,
    options: { reuseBlockHash?: boolean; hashFirst?: boolean } = {},
  ): Promise<{ value: T; blockHash: string }> {
    const nodes = await this.usableNodes();
    if (nodes.length < this.quorum) throw this.unavailable(`${nodes.length} node(s) usable for ${what}`);
    return new Promise<{ value: T; blockHash: string }>((resolve, reject) => {
      const tally = new Map<string, { votes: number; value: T; blockHash: string }>();
      let pending = nodes.length;
      let winner: string | undefined;
      const failures: string[] = [];
      const decide = () => {
        if (winner !== undefined) return;
        let best: [string, { votes: number; value: T; blockHash: string }] | undefined;
        for (const entry of tally) if (!best || entry[1].votes > best[1].votes) best = entry;
        if (best && best[1].votes >= this.quorum && [...tally].every(([fp, t]) => fp === best[0] || t.votes + pending < this.quorum)) {
          winner = best[0];
          resolve({ value: best[1].value, blockHash: best[1].blockHash });
          return;
        }
        if (pending === 0) {
          reject(
            tally.size >= 2
              ? new CivilIdError("LEDGER_DISAGREEMENT", `The nodes disagree on ${what} at block ${height} (${[...tally.values()].map((t) => t.votes).join(" vs ")} answers; quorum ${this.quorum}). Refusing; check the nodes (one is lying, forked or on another chain).`, { details: { what, height } })
              : this.unavailable(`${tally.size === 1 ? [...tally.values()][0]!.votes : 0} of ${this.quorum} node(s) answered ${what} at block ${height}${failures.length ? ` (${failures.join("; ")})` : ""}`),
          );
        }
      };
      const answers = new Map<LedgerNode, string>();
      for (const node of nodes) {
        void this.guard(node, async () => {
          const hashOf = () => (options.reuseBlockHash ? this.blockHashOf(node, height) : node.blockHash(height));
          // hashFirst: the hash is read before the data it vouches for, so a reorg in between shows as a changed hash
          // at the next check instead of pairing the new branch's hash with the old branch's data.
          const [value, hash] = options.hashFirst
            ? await hashOf().then(async (h) => [await read(node), h] as const)
            : await Promise.all([read(node), hashOf()]);
          if (hash === undefined) throw new CivilIdError("CHAIN_UNREACHABLE", `${node.name} does not have block ${height} yet (lagging).`);
          return { value, hash, fp: `${hash}|${fingerprint(value)}` };
        }, (message) => failures.push(message)).then((answer) => {
          pending -= 1;
          if (answer) {
            answers.set(node, answer.fp);
            const entry = tally.get(answer.fp) ?? { votes: 0, value: answer.value, blockHash: answer.hash };
            entry.votes += 1;
            tally.set(answer.fp, entry);
          }
          decide();
          if (pending === 0 && winner !== undefined) {
            for (const [n, fp] of answers) if (fp !== winner) this.onDissent({ node: n.name, what, block: height });
          }
        });
      }
    });
  }

  /**
   * A node's hash of block `height`, remembered for a second (`reuseBlockHash`): a state snapshot makes hundreds of
   * reads at one block, where the hash only says the answers are of the same block; the snapshot's own block hash is
   * then read afresh, and a reorg is caught by the index's next sync.
   */
  private blockHashOf(node: LedgerNode, height: number): Promise<string | undefined> {
    const t = this.now();
    const key = `${node.name}@${height}`;
    const known = this.hashes.get(key);
    if (known && t - known.at < 1_000) return known.hash;
    const hash = node.blockHash(height);
    if (this.hashes.size > 64) this.hashes.clear();
    this.hashes.set(key, { at: t, hash });
    hash.then((h) => {
      if (h === undefined) this.hashes.delete(key); // a lagging node: ask again next time
    }, () => this.hashes.delete(key));
    return hash;
  }

  /** Nodes not in their back-off window whose chain identity is verified (checking it when due). */
  private async usableNodes(): Promise<LedgerNode[]> {
    const t = this.now();
    // Nodes in their back-off window are asked again when the others cannot make a quorum (nothing to lose then).
    const resting = this.nodes.filter((node) => this.health.get(node)!.downUntil <= t);
    const candidates = resting.length >= this.quorum ? resting : [...this.nodes];
    const anchor = await this.anchor(candidates);
    const checked = await Promise.all(
      candidates.map(async (node) => {
        const h = this.health.get(node)!;
        if (t - h.verifiedAt < this.identityTtlMs) return node;
        const ok = await this.guard(node, async () => {
          const [chainId, hash] = await Promise.all([node.chainId(), node.blockHash(this.deployment.deploymentBlock)]);
          if (chainId !== this.deployment.chainId || hash !== anchor) {
            this.onDissent({ node: node.name, what: "chain identity", block: this.deployment.deploymentBlock });
            throw wrongChain(node.name, chainId === this.deployment.chainId ? `its block ${this.deployment.deploymentBlock} is ${String(hash)}, the deployment's is ${anchor}` : `it serves chain ${chainId}, the deployment is on chain ${this.deployment.chainId}`);
          }
          h.verifiedAt = this.now();
          return true;
        });
        return ok ? node : undefined;
      }),
    );
    const usable = checked.filter((n): n is LedgerNode => n !== undefined);
    if (usable.length < this.quorum) {
      const wrong = this.nodes.filter((node) => this.health.get(node)!.lastError?.startsWith("WRONG_CHAIN"));
      if (wrong.length > 0 && usable.length + wrong.length >= this.quorum) {
        throw new CivilIdError("WRONG_CHAIN", `Node(s) ${wrong.map((n) => n.name).join(", ")} serve another chain than the deployment (${this.health.get(wrong[0]!)!.lastError}); refusing them.`);
      }
    }
    return usable;
  }

  /** The deployment block's expected hash; learned from the nodes (k agreeing, on the right chain id) if the file lacks it. */
  private async anchor(candidates: readonly LedgerNode[]): Promise<string> {
    if (this.anchorHash) return this.anchorHash;
    this.learning ??= (async () => {
      const answers = await Promise.all(candidates.map((node) => this.guard(node, async () => {
        const [chainId, hash] = await Promise.all([node.chainId(), node.blockHash(this.deployment.deploymentBlock)]);
        if (chainId !== this.deployment.chainId) throw wrongChain(node.name, `it serves chain ${chainId}, the deployment is on chain ${this.deployment.chainId}`);
        return hash;
      })));
      const votes = new Map<string, number>();
      for (const hash of answers) if (hash) votes.set(hash, (votes.get(hash) ?? 0) + 1);
      const agreed = [...votes].filter(([, n]) => n >= this.quorum);
      if (agreed.length !== 1) {
        throw new CivilIdError(votes.size >= 2 ? "LEDGER_DISAGREEMENT" : "CHAIN_UNREACHABLE", `The deployment file has no deploymentBlockHash and ${this.quorum} node(s) did not agree on block ${this.deployment.deploymentBlock}'s hash; add the hash to the deployment file (re-run deploy) or fix the nodes.`);
      }
      this.anchorHash = agreed[0]![0];
      return this.anchorHash;
    })().finally(() => {
      this.learning = undefined;
    });
    return this.learning;
  }

  /**
   * Runs one node's read. Transport failures and wrong-chain answers put the node in its back-off window; a node's
   * own error answer (a lagging node's "header not found") does not. Returns undefined on failure.
   */
  private async guard<T>(node: LedgerNode, read: () => Promise<T>, onFailure?: (message: string) => void): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      const h = this.health.get(node)!;
      const message = error instanceof Error ? error.message : String(error);
      const wrong = isCivilIdError(error, "WRONG_CHAIN");
      h.lastError = wrong ? `WRONG_CHAIN: ${message}` : message;
      // A node's own error answer, a lagging node and a range refusal are no reason to stop asking the node.
      if (!(error instanceof JsonRpcNodeError) && !/lagging/.test(message) && !isRangeTooLarge(error)) h.downUntil = this.now() + this.retryAfterMs;
      if (wrong) h.verifiedAt = -Infinity;
      onFailure?.(`${node.name}: ${message}`);
      return undefined;
    }
  }

  private unavailable(why: string): CivilIdError {
    return new CivilIdError("CHAIN_UNREACHABLE", `Not enough nodes for a quorum of ${this.quorum}: ${why}. Check the nodes.`);
  }
}

function wrongChain(node: string, why: string): CivilIdError {
  return new CivilIdError("WRONG_CHAIN", `Node ${node} is not on the deployment's chain: ${why}.`);
}
