import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { WorkflowStore, type StoreBinding } from "../../../sdk/issuer/workflow-store.js";
import { isCivilIdError } from "../../../sdk/errors.js";
import type { StoreLocation } from "../../../sdk/util/sql.js";
import { postgresServer } from "../services/verifier/postgres.js";

const binding: StoreBinding = {
  agencyCode: 1741000, chainId: 31337, statusRegistry: "0x" + "11".repeat(20), issuerRegistry: "0x" + "33".repeat(20), didRegistry: "0x" + "44".repeat(20),
  governor: "0x" + "55".repeat(20), deploymentBlock: 1, deploymentBlockHash: "0x" + "ab".repeat(32),
};
const entry = { requestId: null, at: 1, actor: "t", action: "x", from: null, to: null, details: {} };

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal");
}

/** A request row the invitation and session tables can reference. */
function requestRow(id: string) {
  return {
    id, source: "e-saram" as const, hrRequestId: id, fingerprint: "f", state: "invited" as const, agencyCode: 1741000, organisationName: "행정안전부",
    department: "d", position: "p", name: "n", employeeRef: "e", mobile: "+821012345678", holderRef: `h-${id}`, kind: "new" as const, reissueReason: undefined,
    requestedAt: "2026-01-05T00:00:00.000Z", createdAt: 1, updatedAt: 1, refusalCode: undefined, refusalReason: undefined, approver: undefined, decidedAt: undefined,
    rejectionReason: undefined, identityMethod: undefined, identityVerifiedAt: undefined, subjectDid: undefined, devicePublicKey: undefined, activatedAt: undefined,
    intentBlock: undefined, intentNonce: undefined, issuerDid: undefined, issuedAtS: undefined, validFromS: undefined, validUntilS: undefined, bindingDigest: undefined,
    credentialId: undefined, supersededId: undefined, supersededBy: undefined, txHash: undefined, blockNumber: undefined, credentialJwt: undefined, issuedAt: undefined,
  };
}

interface Backend {
  readonly name: "sqlite" | "postgres";
  /** A fresh, empty place for a workflow database. */
  location(): Promise<StoreLocation>;
}

const server: { pg?: Awaited<ReturnType<typeof postgresServer>> } = {};
let dir: string;

const BACKENDS: Backend[] = [
  { name: "sqlite", location: () => Promise.resolve({ kind: "sqlite", file: path.join(dir, `w-${Math.random().toString(36).slice(2)}.sqlite`) }) },
  { name: "postgres", location: async () => ({ kind: "postgres", url: await server.pg!.databaseUrl(), schema: "mcid_issuance_1741000" }) },
];

describe("issuer/workflow-store: transactions and binding (SQLite and PostgreSQL)", function () {
  this.timeout(120_000);
  before(async () => {
    server.pg = await postgresServer();
  });
  after(async () => {
    await server.pg?.stop();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mcid-store-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const backend of BACKENDS) {
    describe(backend.name, () => {
      it("rolls back a transaction whose body throws; nested calls join the open transaction; a closed store refuses", async () => {
        const store = await WorkflowStore.open(await backend.location(), binding);
        try {
          expect((await refusal(store.transaction(async () => {
            await store.appendAudit(entry);
            await store.transaction(() => store.appendAudit(entry)); // joins: rolled back with the outer one
            throw new Error("boom");
          }))).message).to.equal("boom");
          expect(await store.auditOf(null)).to.deep.equal([]);
          await store.transaction(async () => {
            await store.appendAudit(entry);
            await store.transaction(() => store.appendAudit(entry));
          });
          expect(await store.auditOf(null)).to.have.length(2);
          // A hook that throws before COMMIT rolls the body back too.
          await refusal(store.transaction(() => store.appendAudit(entry), () => { throw new Error("hook"); }));
          expect(await store.auditOf(null)).to.have.length(2);
        } finally {
          await store.close();
        }
        expect((await refusal(store.auditOf(null))).message).to.match(/closed/);
      });

      it("keeps other callers' statements out of an open transaction and runs concurrent transactions one at a time", async () => {
        const location = await backend.location();
        const store = await WorkflowStore.open(location, binding);
        const other = await WorkflowStore.open(location, binding); // a second instance on the same database
        try {
          await store.insertRequest(requestRow("r1"));
          const invitationId = await store.insertInvitation({ requestId: "r1", tokenHash: "t", codeHash: "c", challenge: "0x", createdAt: 1, expiresAt: 2, maxAttempts: 5 });
          // A transaction that waits while open: a write outside it is not swallowed by its rollback.
          let release!: () => void;
          const gate = new Promise<void>((resolve) => (release = resolve));
          const open = store.transaction(async () => {
            await store.appendAudit({ ...entry, action: "inside" });
            await gate;
            throw new Error("rolled back");
          });
          const outside = store.appendAudit({ ...entry, action: "outside" });
          setTimeout(release, 50);
          expect((await refusal(open)).message).to.equal("rolled back");
          await outside;
          expect((await store.auditOf(null)).map((a) => a.action)).to.deep.equal(["outside"]);
          // Twelve attempts from two instances at once: exactly five are counted, in the database.
          const tries = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).reserveInvitationAttempt(invitationId)));
          expect(tries.filter(Boolean)).to.have.length(5);
          expect((await other.invitations("r1"))[0]!.attempts).to.equal(5);
          await store.markInvitationUsed(invitationId, 3);
          expect(isCivilIdError(await refusal(other.markInvitationUsed(invitationId, 4)), "INVITATION_INVALID")).to.equal(true);
        } finally {
          await store.close();
          await other.close();
        }
      });

      it("refuses to open a database of another chain or registry, and of another deployment at the same addresses (DEPLOYMENT_MISMATCH)", async () => {
        const location = await backend.location();
        await (await WorkflowStore.open(location, binding)).close();
        expect((await refusal(WorkflowStore.open(location, { ...binding, chainId: 1 }))).message).to.match(/belongs to chain_id 31337, not 1/);
        expect((await refusal(WorkflowStore.open(location, { ...binding, statusRegistry: "0x" + "22".repeat(20) }))).message).to.match(/status_registry/);
        expect((await refusal(WorkflowStore.open(location, { ...binding, issuerRegistry: "0x" + "22".repeat(20) }))).message).to.match(/issuer_registry/);
        await (await WorkflowStore.open(location, { ...binding, statusRegistry: binding.statusRegistry.toUpperCase().replace("0X", "0x") })).close();
        for (const other of [{ ...binding, deploymentBlockHash: "0x" + "cd".repeat(32) }, { ...binding, deploymentBlock: 2 }]) {
          const error = await refusal(WorkflowStore.open(location, other));
          expect(isCivilIdError(error, "DEPLOYMENT_MISMATCH"), String(error)).to.equal(true);
          expect(error.message).to.match(/the chain was restarted or replaced .* move the file aside/);
        }
      });

      it("creates a database only when its first writes succeed (nothing is left on a refusal)", async () => {
        const location = await backend.location();
        const error = await refusal(WorkflowStore.create(location, binding, async (store) => {
          await store.transaction(() => store.appendAudit(entry));
          throw new Error("refused");
        }));
        expect(error.message).to.equal("refused");
        expect(await WorkflowStore.exists(location)).to.equal(false);
        if (backend.name === "sqlite") expect(readdirSync(dir)).to.deep.equal([]);
        await WorkflowStore.create(location, binding, (store) => store.transaction(() => store.appendAudit(entry)));
        expect(await WorkflowStore.exists(location)).to.equal(true);
        expect((await refusal(WorkflowStore.create(location, binding, () => Promise.resolve()))).message).to.match(/exists already|holds a workflow database already/);
        const store = await WorkflowStore.open(location, binding);
        expect((await store.auditOf(null)).map((a) => a.action)).to.deep.equal(["x"]);
        await store.close();
      });

      it("keeps the audit append-only: UPDATE and DELETE are refused by the database itself", async () => {
        const location = await backend.location();
        const store = await WorkflowStore.open(location, binding);
        await store.appendAudit(entry);
        await store.close();
        if (location.kind === "sqlite") {
          const db = new DatabaseSync(location.file);
          try {
            expect(() => db.exec("UPDATE audit SET actor = 'forged'")).to.throw(/append-only/);
            expect(() => db.exec("DELETE FROM audit")).to.throw(/append-only/);
          } finally {
            db.close();
          }
        } else {
          const client = new pg.Client({ connectionString: location.url });
          await client.connect();
          try {
            for (const sql of ["UPDATE audit SET actor = 'forged'", "DELETE FROM audit", "TRUNCATE audit"]) {
              expect((await refusal(client.query(`SET search_path TO ${location.schema}; ${sql}`))).message).to.match(/append-only/);
            }
          } finally {
            await client.end();
          }
        }
      });
    });
  }

  it("refuses a PostgreSQL location it cannot use, by name: a schema name that is not an identifier, a URL that is not postgres://, a server that does not answer", async () => {
    const messages = await Promise.all([
      refusal(WorkflowStore.open({ kind: "postgres", url: server.pg!.url, schema: "x; DROP TABLE audit" }, binding)),
      refusal(WorkflowStore.open({ kind: "postgres", url: "http://127.0.0.1:5432/db" }, binding)),
      refusal(WorkflowStore.open({ kind: "postgres", url: "postgres://postgres@127.0.0.1:1/none" }, binding)),
    ]);
    expect(messages.map((e) => isCivilIdError(e, "INVALID_INPUT"))).to.deep.equal([true, true, true]);
    expect(messages[0]!.message).to.match(/schema name .*lower-case letters, digits and _ only/);
    expect(messages[1]!.message).to.match(/needs a postgres:\/\/user@host:port\/database URL/);
    expect(messages[2]!.message).to.match(/Cannot open the PostgreSQL store issuance-workflow at 127\.0\.0\.1:1\/none: .*Check the URL and that the server runs/);
  });

  it("sqlite: a database of the earlier schema (chain and registry only) adopts this deployment once, audited", async () => {
    const file = path.join(dir, "v1.sqlite");
    await (await WorkflowStore.open({ kind: "sqlite", file }, binding)).close();
    const db = new DatabaseSync(file);
    db.exec("DELETE FROM meta WHERE key NOT IN ('agency_code', 'chain_id', 'status_registry'); INSERT INTO meta (key, value) VALUES ('schema_version', '1');");
    db.close();
    const store = await WorkflowStore.open({ kind: "sqlite", file }, binding);
    try {
      const bound = (await store.auditOf(null)).at(-1)!;
      expect(bound.action).to.equal("database-bound");
      expect(bound.details).to.deep.include({ deployment_block_hash: binding.deploymentBlockHash, governor: binding.governor, upgradedFromSchema: "1" });
    } finally {
      await store.close();
    }
    expect((await refusal(WorkflowStore.open({ kind: "sqlite", file }, { ...binding, deploymentBlockHash: "0x" + "ef".repeat(32) }))).message).to.match(/the chain was restarted or replaced/);
  });

  it("sqlite: refuses a damaged row by table and column instead of passing it on", async () => {
    const file = path.join(dir, "w.sqlite");
    await (await WorkflowStore.open({ kind: "sqlite", file }, binding)).close();
    const db = new DatabaseSync(file);
    db.exec("INSERT INTO audit (request_id, at, actor, action, from_state, to_state, details) VALUES (NULL, 1, 'x', 'y', 'nonsense', NULL, '{}')");
    db.close();
    const store = await WorkflowStore.open({ kind: "sqlite", file }, binding);
    try {
      expect((await refusal(store.auditOf(null))).message).to.match(/invalid audit\.from_state .*restore it from a backup/);
    } finally {
      await store.close();
    }
  });
});
