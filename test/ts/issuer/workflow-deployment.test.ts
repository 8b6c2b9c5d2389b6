/**
 * The issuing database and the chain it belongs to: created only by a successful first import, bound to its
 * deployment (a restarted chain with the contracts at the same addresses is refused), and reconcile's log look-ups
 * paged for nodes that cap the block range of eth_getLogs (Besu --rpc-max-logs-range).
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import path from "node:path";
import { BrowserProvider, type Eip1193Provider } from "ethers";
import { network } from "hardhat";
import { CredentialStatusRegistry__factory, connectLedger } from "../../../sdk/chain/contracts.js";
import { StatusClient } from "../../../sdk/status/client.js";
import { providerWith } from "../helpers/faulty-provider.js";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { isCivilIdError, type ErrorCode } from "../../../sdk/errors.js";
import type { IssuanceWorkflow, IssueStep } from "../../../sdk/issuer/workflow.js";
import { findRegistrations, pagedLogs } from "../../../sdk/status/registrations.js";
import { issuanceEnv, eSaramExport, hrRow, LOCAL_GOV, type IssuanceEnv } from "../helpers/issuance.js";

async function rejects(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp) {
  let error: unknown;
  await promise.catch((e: unknown) => (error = e));
  expect(isCivilIdError(error, code), String(error)).to.equal(true);
  if (pattern) expect((error as Error).message).to.match(pattern);
  return error as Error;
}

/** An EIP-1193 provider that refuses eth_getLogs over more than `maxRange` blocks, as Besu does; records each range. */
function rangeCappedProvider(inner: Eip1193Provider, maxRange: number) {
  const ranges: number[] = [];
  const provider: Eip1193Provider = {
    request: async (args: { method: string; params?: unknown[] | Record<string, unknown> }) => {
      if (args.method === "eth_getLogs") {
        const [filter] = args.params as [{ fromBlock?: string; toBlock?: string }];
        const head = Number(BigInt((await inner.request({ method: "eth_blockNumber" })) as string));
        const block = (tag: string | undefined, fallback: number) => (tag === undefined || !tag.startsWith("0x") ? fallback : Number(BigInt(tag)));
        const span = block(filter.toBlock, head) - block(filter.fromBlock, head) + 1;
        ranges.push(span);
        if (span > maxRange) throw Object.assign(new Error(`Requested range exceeds maximum RPC range limit of ${maxRange}`), { code: -32005 });
      }
      return inner.request(args);
    },
  };
  const browser = new BrowserProvider(provider);
  browser.pollingInterval = 50;
  return { browser, ranges };
}

describe("issuer/workflow: database creation, deployment binding and paged log look-ups", function () {
  this.timeout(120_000);
  let env: IssuanceEnv;
  const open: IssuanceWorkflow[] = [];
  const track = (wf: IssuanceWorkflow) => (open.push(wf), wf);
  beforeEach(async () => {
    env = await issuanceEnv();
  });
  afterEach(async () => {
    for (const wf of open.splice(0)) await wf.close();
    env.cleanup();
  });

  it("a refused first import (another agency's rows, an invalid file) leaves no database behind", async () => {
    const wf = track(await env.workflow({ db: "fresh.sqlite" }));
    const file = path.join(env.dir, "fresh.sqlite");
    await rejects(wf.importRequests("e-saram", eSaramExport([hrRow({}, LOCAL_GOV)]), "hr-batch"), "INVALID_INPUT", /row 1 agencyCode: 6110000 is not served/);
    await rejects(wf.importRequests("e-saram", eSaramExport([hrRow({ name: "" })]), "hr-batch"), "INVALID_INPUT", /row 1 name: is empty/);
    expect(existsSync(file)).to.equal(false);
    // Reads and other steps create nothing either.
    expect(await wf.list()).to.deep.equal([]);
    expect(await wf.audit()).to.deep.equal([]);
    expect(await wf.undeliveredSms()).to.deep.equal([]);
    expect(await wf.reconcile()).to.deep.equal({ completed: [], pending: [], failed: [], sms: { delivered: 0, failed: 0, expired: 0 } });
    expect(await wf.approve("e-saram:REQ-0001", "dept-head:7001").then(() => "resolved", (e: unknown) => (e instanceof Error ? e.message : String(e)))).to.match(/No issuance database of organisation 1741000 at .*fresh\.sqlite yet: import its HR requests first/);
    expect(await wf.activationChallenge("A".repeat(43)).then(() => "resolved", (e: unknown) => (e instanceof Error ? e.message : String(e)))).to.match(/No issuance database/);
    expect(existsSync(file)).to.equal(false);
    const report = await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    expect(report).to.deep.include({ created: ["e-saram:REQ-0001"], counts: { created: 1, duplicates: 0, refused: 0, conflicts: 0 }, complete: true });
    expect(existsSync(file)).to.equal(true);
    // Once it exists, refusals are audited in it.
    await rejects(wf.importRequests("e-saram", eSaramExport([hrRow({}, LOCAL_GOV)]), "hr-batch"), "INVALID_INPUT");
    expect((await wf.audit()).at(-1)).to.deep.include({ action: "import-refused" });
  });

  it("refuses a missing database when told not to create one", async () => {
    await rejects(env.workflow({ db: "none.sqlite", extra: { create: false } }), "INVALID_INPUT", /No issuance database of organisation 1741000 at .*none\.sqlite: import its HR requests first/);
    expect(existsSync(path.join(env.dir, "none.sqlite"))).to.equal(false);
  });

  it("says how many rows were refused or conflicted, so a caller can fail the import", async () => {
    const wf = track(await env.workflow());
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    const report = await wf.importRequests("e-saram", eSaramExport([
      hrRow({ name: "홍길순" }), // same request id, other content: conflict
      hrRow({ requestId: "REQ-0002" }), // same person with a request in progress: refused
      hrRow({ requestId: "REQ-0003", personId: "8001011234567" }),
    ]), "hr-batch");
    expect(report.counts).to.deep.equal({ created: 1, duplicates: 0, refused: 1, conflicts: 1 });
    expect(report.complete).to.equal(false);
    expect(report.rows).to.equal(3);
  });

  it("refuses to open a database against a restarted chain that redeployed at the same addresses (DEPLOYMENT_MISMATCH)", async () => {
    const wf = track(await env.workflow());
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await wf.close();
    // `npm run node` again: a new chain, the same deployer and the same transactions, so the same addresses, mined
    // at another time.
    const restarted = await network.create();
    const signers = await restarted.ethers.getSigners();
    const head = (await restarted.ethers.provider.getBlock("latest"))!.timestamp;
    await restarted.networkHelpers.time.setNextBlockTimestamp(head + 3600);
    const redeployed = await deployConsortium(signers[0]!, { members: env.actors.members.map((m) => m.address), threshold: 3 });
    expect(redeployed.deployment.statusRegistry).to.equal(env.ledger.deployment.statusRegistry);
    expect(redeployed.deployment.issuerRegistry).to.equal(env.ledger.deployment.issuerRegistry);
    expect(redeployed.deployment.deploymentBlock).to.equal(env.ledger.deployment.deploymentBlock);
    const error = await rejects(
      env.workflow({ extra: { ledger: connectLedger(redeployed.deployment, signers[7]!) } }),
      "DEPLOYMENT_MISMATCH",
      /the chain was restarted or replaced .*point the issuing server at that chain, or move the file aside/,
    );
    expect((error as { details?: Record<string, unknown> }).details).to.have.property("bound");
    // The original chain still opens it.
    track(await env.workflow()).close();
  });

  it("reconcile finds an interrupted registration thousands of blocks back through a node that caps getLogs at 100 blocks", async () => {
    const id = "e-saram:REQ-0001";
    const capped = rangeCappedProvider(env.connection.provider as unknown as Eip1193Provider, 100);
    const registrar = await capped.browser.getSigner(env.actors.registrar.address);
    const ledger = connectLedger(env.ledger.deployment, registrar);
    let crashed = false;
    const crashOnce = {
      afterIssueStep: (step: IssueStep) => {
        if (step === "registered-on-chain" && !crashed) {
          crashed = true;
          throw new Error("crash after the registration was mined");
        }
      },
    };
    const wf = track(await env.workflow({ hooks: crashOnce, extra: { ledger } }));
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await env.toInvited(wf, id);
    await env.activateDevice(wf, id);
    await wf.issue(id).then(() => expect.fail("expected the crash"), (error: Error) => expect(error.message).to.match(/crash after/));
    expect((await wf.get(id)).state).to.equal("registering");
    await wf.close();

    await env.networkHelpers.mine(2500);
    const reopened = track(await env.workflow({ extra: { ledger } }));
    const record = await reopened.get(id);
    // One query over the whole range, as reconcile used to make, is refused by this node.
    const registry = ledger.statusRegistry;
    await registry.queryFilter(registry.filters.CredentialRegistered(undefined, record.holderRef), env.ledger.deployment.deploymentBlock, "latest")
      .then(() => expect.fail("the capped node must refuse a 2,500-block range"), (error: Error) => expect(error.message).to.match(/maximum RPC range limit/));
    capped.ranges.length = 0;
    const report = await reopened.reconcile();
    expect(report.completed).to.deep.equal([id]);
    expect(report.failed).to.deep.equal([]);
    expect((await reopened.get(id)).state).to.equal("issued");
    const actions = (await reopened.audit(id)).map((e) => e.action);
    expect(actions).to.include("registration-recovered");
    expect(actions).to.not.include("registration-retry"); // registered exactly once
    expect((await env.ledger.statusRegistry.queryFilter(env.ledger.statusRegistry.filters.CredentialRegistered(undefined, record.holderRef), 0, "latest")).length).to.equal(1);
    expect(capped.ranges.some((r) => r > 100), "a page was refused and halved").to.equal(true);
    const answered = capped.ranges.filter((r) => r <= 100);
    expect(answered.reduce((a, b) => a + b, 0)).to.be.greaterThan(2500);
  });
});

describe("status/registrations: paged log queries", () => {
  it("covers the range exactly once, in order, halving on a size refusal and growing back", async () => {
    const asked: [number, number][] = [];
    const fetch = (from: number, to: number) => {
      asked.push([from, to]);
      if (to - from + 1 > 300) return Promise.reject(new Error("query returned more than 10000 results"));
      return Promise.resolve(Array.from({ length: to - from + 1 }, (_, i) => from + i));
    };
    const blocks = await pagedLogs(fetch, 10, 2_509, 1000);
    expect(blocks).to.deep.equal(Array.from({ length: 2_500 }, (_, i) => 10 + i));
    const answered = asked.filter(([f, t]) => t - f + 1 <= 300);
    expect(answered[0]).to.deep.equal([10, 259]); // 1000 → 500 → 250
    for (let i = 1; i < answered.length; i++) expect(answered[i]![0]).to.equal(answered[i - 1]![1] + 1);
  });

  it("rethrows other failures, and a refusal of a single block", async () => {
    let error: unknown;
    await pagedLogs(() => Promise.reject(new Error("connect ECONNREFUSED")), 0, 10).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal("connect ECONNREFUSED");
    await pagedLogs(() => Promise.reject(new Error("block range too large")), 5, 9).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal("block range too large");
    expect(await pagedLogs(() => Promise.resolve([]), 10, 9)).to.deep.equal([]);
  });

  it("reaches the node's latest block when the provider reports a stale head; gives up (bounded) when it cannot", async () => {
    const env = await issuanceEnv();
    try {
      const holderRef = "0x" + "5a".repeat(32);
      const deploymentBlock = env.ledger.deployment.deploymentBlock;
      await new StatusClient(env.ledger.statusRegistry.connect(env.actors.registrar)).register(holderRef, "0x" + "d1".repeat(32));
      await env.networkHelpers.mine(50);
      const stale = providerWith(env.ethers.provider, { getBlockNumber: () => Promise.resolve(deploymentBlock) });
      const registry = CredentialStatusRegistry__factory.connect(env.ledger.deployment.statusRegistry, stale);
      const found = await findRegistrations(registry, { holderRef, fromBlock: deploymentBlock });
      expect(found.map((r) => r.credentialDigest)).to.deep.equal(["0x" + "d1".repeat(32)]);
      // A node that also refuses the rest as too large while the head never moves: CHAIN_UNREACHABLE, not a loop.
      const refusing = providerWith(stale, {
        getBlockNumber: () => Promise.resolve(deploymentBlock),
        // Pages up to the stale head are answered; the rest up to "latest" (50+ blocks) is refused.
        getLogs: (filter: { toBlock?: unknown }) => (filter.toBlock === "latest"
          ? Promise.reject(new Error("Requested range exceeds maximum RPC range limit of 10"))
          : env.ethers.provider.getLogs(filter as never)),
      });
      let error: unknown;
      await findRegistrations(CredentialStatusRegistry__factory.connect(env.ledger.deployment.statusRegistry, refusing), { holderRef, fromBlock: deploymentBlock })
        .catch((e: unknown) => (error = e));
      expect(isCivilIdError(error, "CHAIN_UNREACHABLE"), String(error)).to.equal(true);
      expect((error as Error).message).to.match(/reports block \d+ as its head; retry later/);
    } finally {
      env.cleanup();
    }
  });

  it("refuses a holder reference that is not 32 bytes", async () => {
    const env = await issuanceEnv();
    try {
      let error: unknown;
      await findRegistrations(env.ledger.statusRegistry, { holderRef: "0x1234", fromBlock: 0 }).catch((e: unknown) => (error = e));
      expect(isCivilIdError(error, "INVALID_INPUT")).to.equal(true);
    } finally {
      env.cleanup();
    }
  });
});
