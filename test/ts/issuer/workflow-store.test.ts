import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { WorkflowStore, type StoreBinding } from "../../../sdk/issuer/workflow-store.js";
import { isCivilIdError } from "../../../sdk/errors.js";

describe("issuer/workflow-store: transactions and binding", () => {
  let dir: string;
  const binding: StoreBinding = {
    agencyCode: 1741000, chainId: 31337, statusRegistry: "0x" + "11".repeat(20), issuerRegistry: "0x" + "33".repeat(20), didRegistry: "0x" + "44".repeat(20),
    governor: "0x" + "55".repeat(20), deploymentBlock: 1, deploymentBlockHash: "0x" + "ab".repeat(32),
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mcid-store-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("rolls back a transaction whose body throws or is asynchronous, and refuses nesting", () => {
    const store = new WorkflowStore(path.join(dir, "w.sqlite"), binding);
    try {
      const entry = { requestId: null, at: 1, actor: "t", action: "x", from: null, to: null, details: {} };
      expect(() => store.transaction(() => {
        store.appendAudit(entry);
        throw new Error("boom");
      })).to.throw("boom");
      expect(() => store.transaction(async () => store.appendAudit(entry))).to.throw(/must be synchronous/);
      expect(() => store.transaction(() => store.transaction(() => 1))).to.throw(/nested transaction/);
      expect(store.auditOf(null)).to.deep.equal([]);
      store.transaction(() => store.appendAudit(entry));
      expect(store.auditOf(null)).to.have.length(1);
    } finally {
      store.close();
    }
    expect(() => store.auditOf(null)).to.throw(/closed/);
  });

  it("refuses to open a database of another chain or status registry", () => {
    new WorkflowStore(path.join(dir, "w.sqlite"), binding).close();
    expect(() => new WorkflowStore(path.join(dir, "w.sqlite"), { ...binding, chainId: 1 })).to.throw(/belongs to chain_id 31337, not 1/);
    expect(() => new WorkflowStore(path.join(dir, "w.sqlite"), { ...binding, statusRegistry: "0x" + "22".repeat(20) })).to.throw(/status_registry/);
    expect(() => new WorkflowStore(path.join(dir, "w.sqlite"), { ...binding, issuerRegistry: "0x" + "22".repeat(20) })).to.throw(/issuer_registry/);
    const reopened = new WorkflowStore(path.join(dir, "w.sqlite"), { ...binding, statusRegistry: binding.statusRegistry.toUpperCase().replace("0X", "0x") });
    reopened.close();
  });

  it("refuses a database of another deployment at the same addresses (a restarted chain) with DEPLOYMENT_MISMATCH", () => {
    new WorkflowStore(path.join(dir, "w.sqlite"), binding).close();
    for (const other of [{ ...binding, deploymentBlockHash: "0x" + "cd".repeat(32) }, { ...binding, deploymentBlock: 2 }]) {
      let error: unknown;
      try {
        new WorkflowStore(path.join(dir, "w.sqlite"), other).close();
      } catch (e) {
        error = e;
      }
      expect(isCivilIdError(error, "DEPLOYMENT_MISMATCH"), String(error)).to.equal(true);
      expect((error as Error).message).to.match(/the chain was restarted or replaced .* move the file aside/);
    }
  });

  it("creates a database only when its first writes succeed (atomically: nothing left on a refusal)", async () => {
    const file = path.join(dir, "new.sqlite");
    const entry = { requestId: null, at: 1, actor: "t", action: "x", from: null, to: null, details: {} };
    let error: unknown;
    await WorkflowStore.create(file, binding, (store) => {
      store.transaction(() => store.appendAudit(entry));
      throw new Error("refused");
    }).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal("refused");
    expect(readdirSync(dir)).to.deep.equal([]);
    await WorkflowStore.create(file, binding, (store) => store.transaction(() => store.appendAudit(entry)));
    expect(readdirSync(dir)).to.deep.equal(["new.sqlite"]);
    const store = new WorkflowStore(file, binding);
    expect(store.auditOf(null).map((a) => a.action)).to.deep.equal(["x"]);
    store.close();
  });

  it("a database of the earlier schema (chain and registry only) adopts this deployment once, audited", () => {
    const file = path.join(dir, "v1.sqlite");
    new WorkflowStore(file, binding).close();
    const db = new DatabaseSync(file);
    db.exec("DELETE FROM meta WHERE key NOT IN ('agency_code', 'chain_id', 'status_registry'); INSERT INTO meta (key, value) VALUES ('schema_version', '1');");
    db.close();
    const store = new WorkflowStore(file, binding);
    try {
      const bound = store.auditOf(null).at(-1)!;
      expect(bound.action).to.equal("database-bound");
      expect(bound.details).to.deep.include({ deployment_block_hash: binding.deploymentBlockHash, governor: binding.governor, upgradedFromSchema: "1" });
    } finally {
      store.close();
    }
    expect(() => new WorkflowStore(file, { ...binding, deploymentBlockHash: "0x" + "ef".repeat(32) })).to.throw(/the chain was restarted or replaced/);
  });

  it("refuses a damaged row by table and column instead of passing it on", () => {
    const file = path.join(dir, "w.sqlite");
    new WorkflowStore(file, binding).close();
    const db = new DatabaseSync(file);
    db.exec("INSERT INTO audit (request_id, at, actor, action, from_state, to_state, details) VALUES (NULL, 1, 'x', 'y', 'nonsense', NULL, '{}')");
    db.close();
    const store = new WorkflowStore(file, binding);
    try {
      expect(() => store.auditOf(null)).to.throw(/invalid audit\.from_state .*restore it from a backup/);
    } finally {
      store.close();
    }
  });
});
