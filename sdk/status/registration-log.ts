import { CivilIdError } from "../errors.js";
import { CredentialStatusRegistry__factory } from "../chain/contracts.js";
import { pagedLogs, type LedgerNode, type RawLog } from "./ledger-node.js";
import type { NodeQuorum } from "./quorum.js";

const statusIface = CredentialStatusRegistry__factory.createInterface();
export const REGISTERED_TOPIC = statusIface.getEvent("CredentialRegistered").topicHash.toLowerCase();

/** A credential's registration as its log shows it (the block hash lets a cache notice a reorg). */
export interface Registration {
  readonly digest: string;
  readonly blockNumber: number;
  readonly blockHash: string;
}

/** A canonical string of a getLogs answer, compared across nodes (every field a verifier could rely on). */
export function logsFingerprint(logs: readonly RawLog[]): string {
  let out = "";
  for (const l of logs) out += `${l.blockNumber}:${l.logIndex}:${l.blockHash}:${l.address}:${l.topics.join(",")}:${l.data}:${l.removed ? 1 : 0};`;
  return out;
}

/** The 32-byte topic of a credential id (its indexed uint64). */
export function credentialTopic(credentialId: bigint): string {
  return "0x" + credentialId.toString(16).padStart(64, "0");
}

/**
 * The CredentialRegistered log of `credentialId` in [fromBlock, toBlock]: one node scans back from `toBlock` in pages
 * of at most `span` blocks (halved on a range refusal; each node tried in turn when one finds nothing, as a node may
 * drop logs), then the quorum confirms the page it was found in. Throws CHAIN_UNREACHABLE if no node has the log,
 * LEDGER_DISAGREEMENT if the nodes disagree on it.
 */
export async function findRegistration(
  quorum: NodeQuorum,
  statusRegistry: string,
  credentialId: bigint,
  fromBlock: number,
  toBlock: number,
  span: number,
): Promise<Registration> {
  const topics = [REGISTERED_TOPIC, credentialTopic(credentialId)];
  const address = [statusRegistry];
  const failures: string[] = [];
  for (const node of quorum.nodes) {
    const page = await findPage(node, { address, topics, fromBlock, toBlock }, span).catch((error: unknown) => {
      failures.push(`${node.name}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
    if (!page) continue;
    const { value: logs } = await quorum.agree(
      `the registration log of credential ${credentialId} in blocks ${page.from}..${page.to}`,
      page.to,
      (n) => n.getLogs({ address, topics, fromBlock: page.from, toBlock: page.to }),
      logsFingerprint,
    );
    const log = logs[0];
    if (!log || logs.length !== 1 || log.data.length < 130 || log.removed) {
      throw new CivilIdError("CHAIN_UNREACHABLE", `The nodes returned ${logs.length} registration logs for credential ${credentialId}; expected one.`);
    }
    return { digest: "0x" + log.data.slice(2, 66), blockNumber: log.blockNumber, blockHash: log.blockHash };
  }
  throw new CivilIdError(
    "CHAIN_UNREACHABLE",
    `No node returned the registration log of credential ${credentialId}, which the quorum reports registered${failures.length ? ` (${failures.join("; ")})` : ""}; check the nodes' logs.`,
  );
}

async function findPage(node: LedgerNode, query: Parameters<LedgerNode["getLogs"]>[0], span: number): Promise<{ from: number; to: number } | undefined> {
  let page: { from: number; to: number } | undefined;
  await pagedLogs(node, query, span, "newest-first", (logs, from, to) => {
    if (logs.length === 0) return false;
    page = { from, to };
    return true;
  });
  return page;
}
