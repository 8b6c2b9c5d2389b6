/**
 * No single RPC endpoint can make a verifier accept a locked, revoked or unregistered credential (issue #10 §1).
 * Three real anvil nodes stand for three ministries' nodes (same signed transactions, same timestamps, identical
 * block hashes); a JSON-RPC proxy lies in front of one of them (drops a log, injects a well-formed log, forges an
 * eth_call, refuses long log ranges); one node lags; one is down; another chain with the same contract addresses
 * is one URL away. Each attack is shown succeeding against a view that trusts one endpoint, then caught by the quorum.
 */
import { expect } from "chai";
import { keccak256, toUtf8Bytes, type Signer } from "ethers";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { connectLedger, type LedgerContracts } from "../../../sdk/chain/contracts.js";
import type { Deployment } from "../../../sdk/chain/deployment.js";
import { CIVIL_SERVANT_ID_TYPE, CredentialState, OperatorRole, OrgKind, credentialTypeId, makeCredentialId } from "../../../sdk/chain/codes.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { ledgerNodeFromUrl, type LedgerNode } from "../../../sdk/status/ledger-node.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import type { DissentEvent } from "../../../sdk/status/quorum.js";
import { REGISTERED_TOPIC, credentialTopic } from "../../../sdk/status/registration-log.js";
import { Consortium, RpcProxy, rpc, startAnvil, stopAll, type MirrorSigner } from "./nodes.js";
import { rejectsWithCode } from "../helpers/rejections.js";

const AGENCY = 1741000;
const TYPE = credentialTypeId(CIVIL_SERVANT_ID_TYPE);
const SECRET = new Uint8Array(32).fill(9);
const GENESIS = 1_767_225_600; // 2026-01-01, the same genesis on every node
// The single status-change events (one per transition: the new state is topic 0).
const CHANGED_TOPICS = new Set(["CredentialLocked", "CredentialUnlocked", "CredentialRevoked"].map((name) => keccak256(toUtf8Bytes(`${name}(uint64,uint8,address)`)).toLowerCase()));

const id = (sequence: number) => makeCredentialId(AGENCY, BigInt(sequence));
const ACTIVE = id(0);
const LOCKED = id(1);
const REVOKED = id(2);
const UNREGISTERED = id(7);

async function send(tx: Promise<{ wait(): Promise<unknown> }>) {
  await (await tx).wait();
}

/** Deploys the consortium and one organisation with four credentials; `lockAndRevoke` false leaves all Active. */
async function populate(signer: (i: number) => Signer, lockAndRevoke: boolean): Promise<LedgerContracts> {
  const members = [signer(1), signer(2), signer(3)];
  const ledger = await deployConsortium(signer(0), { members: await Promise.all(members.map((m) => m.getAddress())), threshold: 2 });
  const reg = ledger.issuerRegistry;
  const data = reg.interface.encodeFunctionData("accredit", [AGENCY, OrgKind.CentralAgency, await signer(4).getAddress(), [TYPE]]);
  await send(ledger.governor.connect(members[0]!).propose(await reg.getAddress(), data, 3600, "accredit"));
  await send(ledger.governor.connect(members[1]!).approve(1));
  await send(ledger.governor.connect(members[0]!).execute(1));
  await send(ledger.statusRegistry.connect(signer(4)).setOperator(await signer(5).getAddress(), AGENCY, OperatorRole.Registrar));
  await send(reg.connect(signer(4)).addIssuerKey(AGENCY, await signer(6).getAddress(), 0, GENESIS + 10 * 365 * 86400));
  const status = ledger.statusRegistry.connect(signer(5));
  for (let p = 0; p < 4; p++) await send(status.register(holderReference(SECRET, `person-${p}`), keccak256(toUtf8Bytes(`digest-${p}`))));
  if (lockAndRevoke) {
    await send(status.lock(LOCKED, 1));
    await send(status.revoke(REVOKED, 3));
  }
  return ledger;
}

describe("ledger trust: quorum reads over independent nodes", function () {
  this.timeout(120_000);
  let consortium: Consortium;
  let urls: string[];
  let deployment: Deployment;
  let wrongChain: string;
  let otherChainId: string;
  let liar: RpcProxy;
  let signerOf: (i: number) => MirrorSigner;
  const node = (url: string, name = url): LedgerNode => ledgerNodeFromUrl(url, { name, timeoutMs: 2_000 });

  before(async () => {
    const [a, b, c, w, x] = await Promise.all([
      startAnvil({ chainId: 31337, genesisTimestamp: GENESIS }),
      startAnvil({ chainId: 31337, genesisTimestamp: GENESIS }),
      startAnvil({ chainId: 31337, genesisTimestamp: GENESIS }),
      startAnvil({ chainId: 31337, genesisTimestamp: GENESIS + 5 }),
      startAnvil({ chainId: 2026, genesisTimestamp: GENESIS }),
    ]);
    urls = [a!.url, b!.url, c!.url];
    consortium = new Consortium(urls, 31337, GENESIS + 100);
    signerOf = (i) => consortium.signer(i);
    deployment = (await populate(signerOf, true)).deployment;
    // Another chain, same chain id, same deployer and nonces, hence the same contract addresses: everything Active there.
    const other = new Consortium([w!.url], 31337, GENESIS + 200);
    const forged = (await populate((i) => other.signer(i), false)).deployment;
    expect(forged.statusRegistry).to.equal(deployment.statusRegistry);
    wrongChain = w!.url;
    otherChainId = x!.url;
    liar = await RpcProxy.start(urls[2]!);
  });
  after(stopAll);

  it("the nodes fed the same transactions have identical block hashes (the premise of every case below)", async () => {
    const head = (await rpc(urls[0]!, "eth_blockNumber")) as string;
    const hashes = await Promise.all(urls.map(async (u) => ((await rpc(u, "eth_getBlockByNumber", [head, false])) as { hash: string }).hash));
    expect(new Set(hashes).size).to.equal(1);
    expect(deployment.deploymentBlockHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  describe("chain identity", () => {
    it("a single-node view or index on another chain with the same addresses is refused WRONG_CHAIN (there, the revoked credential is Active)", async () => {
      const forgedView = new OnlineLedgerView({ deployment: { ...deployment, deploymentBlockHash: undefined }, nodes: [node(wrongChain)], quorum: 1 });
      // Without the deployment block's hash (an old deployment file) one node can only be taken at its word:
      expect((await forgedView.credentialStatus(REVOKED)).state).to.equal(CredentialState.Active);
      // With it, the same node is refused.
      await rejectsWithCode(new OnlineLedgerView({ deployment, nodes: [node(wrongChain)], quorum: 1 }).credentialStatus(REVOKED), "WRONG_CHAIN");
      await rejectsWithCode(new LedgerIndex({ deployment, nodes: [node(wrongChain)], quorum: 1 }).sync(), "WRONG_CHAIN");
    });

    it("a node of another chain id is refused WRONG_CHAIN", async () => {
      await rejectsWithCode(new OnlineLedgerView({ deployment, nodes: [node(otherChainId)], quorum: 1 }).credentialStatus(REVOKED), "WRONG_CHAIN");
      await rejectsWithCode(new LedgerIndex({ deployment, nodes: [node(otherChainId)], quorum: 1 }).sync(), "WRONG_CHAIN");
    });

    it("in a quorum, a wrong-chain node is set aside and reported, and an old deployment file learns the hash from the quorum", async () => {
      for (const d of [deployment, { ...deployment, deploymentBlockHash: undefined }]) {
        const dissent: DissentEvent[] = [];
        const view = new OnlineLedgerView({ deployment: d, nodes: [node(urls[0]!), node(urls[1]!), node(wrongChain, "wrong")], quorum: 2, onDissent: (e) => dissent.push(e) });
        expect((await view.credentialStatus(REVOKED)).state).to.equal(CredentialState.Revoked);
        expect(dissent.map((e) => e.node)).to.include("wrong");
      }
      // Two nodes on two chains cannot make a quorum of two.
      await rejectsWithCode(new OnlineLedgerView({ deployment, nodes: [node(urls[0]!), node(wrongChain)], quorum: 2 }).credentialStatus(REVOKED), "WRONG_CHAIN");
    });
  });

  describe("a lying eth_call (online view)", () => {
    before(() => {
      // Every statusOf answers (registered, Active, reason 0).
      liar.tamper = (request, answer) => {
        const call = request.method === "eth_call" ? (request.params[0] as { data: string }) : undefined;
        return call?.data.startsWith("0x") && call.data.length === 10 + 64 && answer.result !== undefined
          ? { ...answer, result: "0x" + [1, 0, 0].map((n) => n.toString(16).padStart(64, "0")).join("") }
          : answer;
      };
    });
    after(() => liar.reset());

    it("fools a view that trusts that one endpoint", async () => {
      const single = new OnlineLedgerView({ deployment, nodes: [node(liar.url)], quorum: 1 });
      expect((await single.credentialStatus(REVOKED)).state).to.equal(CredentialState.Active);
    });

    it("is outvoted 2 of 3 (locked, revoked and unregistered stay so) and reported", async () => {
      const dissent: DissentEvent[] = [];
      const view = new OnlineLedgerView({ deployment, nodes: [node(liar.url, "liar"), node(urls[0]!), node(urls[1]!)], quorum: 2, onDissent: (e) => dissent.push(e) });
      expect((await view.credentialStatus(LOCKED)).state).to.equal(CredentialState.Locked);
      expect((await view.credentialStatus(REVOKED)).state).to.equal(CredentialState.Revoked);
      expect((await view.credentialStatus(UNREGISTERED)).registered).to.equal(false);
      expect((await view.credentialStatus(ACTIVE)).state).to.equal(CredentialState.Active);
      await new Promise((r) => setTimeout(r, 50));
      expect(dissent.some((e) => e.node === "liar")).to.equal(true);
    });

    it("with 2 of 2, the disagreement is refused LEDGER_DISAGREEMENT", async () => {
      const view = new OnlineLedgerView({ deployment, nodes: [node(liar.url), node(urls[0]!)], quorum: 2 });
      await rejectsWithCode(view.credentialStatus(REVOKED), "LEDGER_DISAGREEMENT");
    });
  });

  describe("a dropped CredentialLocked log (index)", () => {
    before(() => {
      liar.tamper = (request, answer) =>
        request.method === "eth_getLogs" && Array.isArray(answer.result)
          ? { ...answer, result: (answer.result as { topics: string[] }[]).filter((l) => !(CHANGED_TOPICS.has(l.topics[0]!) && BigInt(l.topics[1]!) === LOCKED)) }
          : answer;
    });
    after(() => liar.reset());

    it("makes an index that trusts that one endpoint accept the locked credential", async () => {
      const single = new LedgerIndex({ deployment, nodes: [node(liar.url)], quorum: 1, catchUp: "events" });
      await single.sync();
      expect((await single.credentialStatus(LOCKED)).state).to.equal(CredentialState.Active);
    });

    it("is outvoted 2 of 3; with 2 of 2 the sync fails LEDGER_DISAGREEMENT and the index never serves", async () => {
      const index = new LedgerIndex({ deployment, nodes: [node(urls[0]!), node(liar.url), node(urls[1]!)], quorum: 2, catchUp: "events" });
      await index.sync();
      expect((await index.credentialStatus(LOCKED)).state).to.equal(CredentialState.Locked);
      expect(await index.verifyAgainstState()).to.equal(4);
      const strict = new LedgerIndex({ deployment, nodes: [node(urls[0]!), node(liar.url)], quorum: 2, catchUp: "events" });
      await rejectsWithCode(strict.sync(), "LEDGER_DISAGREEMENT");
      await rejectsWithCode(strict.credentialStatus(LOCKED), "INDEX_STALE");
    });

    it("a lock dropped while following (after a state snapshot) is also outvoted", async () => {
      const index = new LedgerIndex({ deployment, nodes: [node(urls[0]!), node(liar.url), node(urls[1]!)], quorum: 2 });
      await index.sync();
      const registrar = connectLedger(deployment, signerOf(5)).statusRegistry;
      await send(registrar.lock(ACTIVE, 1));
      liar.tamper = (request, answer) =>
        request.method === "eth_getLogs" && Array.isArray(answer.result)
          ? { ...answer, result: (answer.result as { topics: string[] }[]).filter((l) => !CHANGED_TOPICS.has(l.topics[0]!)) }
          : answer;
      await index.sync();
      expect((await index.credentialStatus(ACTIVE)).state).to.equal(CredentialState.Locked);
      expect(await index.verifyAgainstState()).to.equal(4);
      await send(registrar.unlock(ACTIVE, 9));
      await index.sync();
      expect((await index.credentialStatus(ACTIVE)).state).to.equal(CredentialState.Active);
    });
  });

  describe("an injected, well-formed CredentialRegistered log (index)", () => {
    before(() => {
      liar.tamper = (request, answer) => {
        if (request.method !== "eth_getLogs" || !Array.isArray(answer.result)) return answer;
        const q = request.params[0] as { fromBlock: string; toBlock: string };
        const logs = answer.result as { blockNumber: string; logIndex: string; blockHash: string }[];
        const last = logs.at(-1);
        if (!last || Number.parseInt(q.fromBlock, 16) > Number.parseInt(last.blockNumber, 16)) return answer;
        // A registration of a credential that was never registered, in the same block as the last real log.
        const forged = {
          ...last,
          address: deployment.statusRegistry.toLowerCase(),
          topics: [REGISTERED_TOPIC, credentialTopic(UNREGISTERED), keccak256(toUtf8Bytes("someone"))],
          data: "0x" + keccak256(toUtf8Bytes("forged digest")).slice(2) + "0".repeat(64),
          logIndex: "0x" + (Number.parseInt(last.logIndex, 16) + 1).toString(16),
          removed: false,
        };
        return { ...answer, result: [...logs, forged] };
      };
    });
    after(() => liar.reset());

    it("makes an index that trusts that one endpoint accept a credential that was never registered", async () => {
      const single = new LedgerIndex({ deployment, nodes: [node(liar.url)], quorum: 1, catchUp: "events" });
      await single.sync();
      expect((await single.credentialStatus(UNREGISTERED)).registered).to.equal(true);
    });

    it("is outvoted 2 of 3, and refused LEDGER_DISAGREEMENT 2 of 2", async () => {
      const index = new LedgerIndex({ deployment, nodes: [node(liar.url), node(urls[0]!), node(urls[1]!)], quorum: 2, catchUp: "events" });
      await index.sync();
      expect((await index.credentialStatus(UNREGISTERED)).registered).to.equal(false);
      await rejectsWithCode(new LedgerIndex({ deployment, nodes: [node(liar.url), node(urls[0]!)], quorum: 2, catchUp: "events" }).sync(), "LEDGER_DISAGREEMENT");
    });
  });

  describe("availability", () => {
    it("keeps answering with one node down (2 of 3), and fails closed when two are down", async () => {
      liar.down();
      try {
        const view = new OnlineLedgerView({ deployment, nodes: [node(urls[0]!), node(urls[1]!), node(liar.url)], quorum: 2 });
        expect((await view.credentialStatus(LOCKED)).state).to.equal(CredentialState.Locked);
        const index = new LedgerIndex({ deployment, nodes: [node(urls[0]!), node(urls[1]!), node(liar.url)], quorum: 2 });
        await index.sync();
        expect((await index.credentialStatus(REVOKED)).state).to.equal(CredentialState.Revoked);
        await rejectsWithCode(new OnlineLedgerView({ deployment, nodes: [node(urls[0]!), node(liar.url)], quorum: 2 }).credentialStatus(LOCKED), "CHAIN_UNREACHABLE");
      } finally {
        liar.reset();
      }
    });

    it("reads at the newest block a quorum has: a lagging node neither blocks nor outvotes a fresh lock", async () => {
      consortium.pause(urls[2]!);
      try {
        await send(connectLedger(deployment, signerOf(5)).statusRegistry.lock(ACTIVE, 1));
        const view = new OnlineLedgerView({ deployment, nodes: [node(urls[2]!), node(urls[0]!), node(urls[1]!)], quorum: 2 });
        expect((await view.credentialStatus(ACTIVE)).state).to.equal(CredentialState.Locked);
        const index = new LedgerIndex({ deployment, nodes: [node(urls[2]!), node(urls[0]!), node(urls[1]!)], quorum: 2 });
        await index.sync();
        expect((await index.credentialStatus(ACTIVE)).state).to.equal(CredentialState.Locked);
        await send(connectLedger(deployment, signerOf(5)).statusRegistry.unlock(ACTIVE, 9));
      } finally {
        await consortium.resume(urls[2]!);
      }
    });
  });

  // Besu refuses eth_getLogs over more than --rpc-max-logs-range blocks (1,000 by default); the proxy caps at 100
  // blocks, so 300 empty blocks put the registrations three caps behind the head and the test stays fast.
  describe("log-range caps (Besu --rpc-max-logs-range)", () => {
    it("the online view pages its digest look-up and still finds a registration far behind the head", async () => {
      await consortium.mineEmpty(300);
      const capped = async (url: string) => {
        const proxy = await RpcProxy.start(url);
        proxy.tamper = (request, answer) => {
          if (request.method !== "eth_getLogs") return answer;
          const q = request.params[0] as { fromBlock: string; toBlock: string };
          return Number.parseInt(q.toBlock, 16) - Number.parseInt(q.fromBlock, 16) + 1 > 100
            ? { jsonrpc: "2.0", id: answer.id, error: { code: -32005, message: "Requested range exceeds maximum RPC range limit" } }
            : answer;
        };
        return proxy.url;
      };
      const view = new OnlineLedgerView({ deployment, nodes: [node(await capped(urls[0]!)), node(await capped(urls[1]!))], quorum: 2 });
      const entry = await view.credentialStatus(REVOKED);
      expect(entry.credentialDigest).to.equal(keccak256(toUtf8Bytes("digest-2")));
      const index = new LedgerIndex({ deployment, nodes: [node(await capped(urls[0]!)), node(await capped(urls[1]!))], quorum: 2 });
      await index.sync();
      expect((await index.credentialStatus(REVOKED)).credentialDigest).to.equal(keccak256(toUtf8Bytes("digest-2")));
      await index.whenBackfilled();
      expect(index.backfilled).to.equal(true);
      expect(index.statusNow(LOCKED).credentialDigest).to.equal(keccak256(toUtf8Bytes("digest-1")));
    });
  });
});
