import { expect } from "chai";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { decodeJWT } from "did-jwt";
import { issuanceEnv, eSaramExport, hrRow, CENTRAL_AGENCY, LOCAL_GOV, type IssuanceEnv } from "../helpers/issuance.js";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import { issuerFromPrivateKey, parseCredentialJwt } from "../../../sdk/credential/index.js";
import { Wallet } from "ethers";
import { isCivilIdError } from "../../../sdk/errors.js";
import type { IssuanceWorkflow, IssueStep, WorkflowHooks } from "../../../sdk/issuer/workflow.js";

class Crash extends Error {}

/** Hooks that "crash" (throw) once at the given issuance step of the given request. */
function crashAt(step: IssueStep, requestId: string): WorkflowHooks {
  let done = false;
  return {
    afterIssueStep: (s, id) => {
      if (!done && s === step && id === requestId) {
        done = true;
        throw new Crash(`crash after ${step}`);
      }
    },
  };
}

describe("issuer/workflow: crash, restart and reconcile", function () {
  this.timeout(120_000);
  let env: IssuanceEnv;
  const open: IssuanceWorkflow[] = [];
  const reopen = async (options: Parameters<IssuanceEnv["workflow"]>[0] = {}) => {
    const wf = await env.workflow(options);
    open.push(wf);
    return wf;
  };
  /** Imports a request, takes it to activation and lets `issue()` crash at `step`; returns the crashed workflow. */
  async function crashDuringIssue(step: Parameters<typeof crashAt>[0], id: string) {
    const wf = await reopen({ hooks: crashAt(step, id) });
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await env.toInvited(wf, id);
    await env.activateDevice(wf, id);
    await wf.issue(id).catch((error) => {
      if (!(error instanceof Crash)) throw error;
    });
    return wf;
  }
  beforeEach(async () => {
    env = await issuanceEnv();
  });
  afterEach(async () => {
    for (const wf of open.splice(0)) await wf.close();
    env.cleanup();
  });

  async function registrationsOf(holderRef: string) {
    const registry = env.ledger.statusRegistry;
    return registry.queryFilter(registry.filters.CredentialRegistered(undefined, holderRef), 0, "latest");
  }

  function credentialIdIn(jwt: string | undefined): string {
    const vc = decodeJWT(jwt!).payload.vc as { credentialStatus: { credentialId: string } };
    return vc.credentialStatus.credentialId;
  }

  it("loses nothing when the process restarts between every step", async () => {
    const id = "e-saram:REQ-0001";
    let wf = await reopen();
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await wf.close();
    wf = await reopen();
    await wf.approve(id, "dept-head:7001");
    await wf.close();
    wf = await reopen();
    await wf.startIdentityVerification(id);
    await wf.close();
    wf = await reopen();
    await wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: env.sms.otp(id) });
    await wf.close();
    wf = await reopen();
    await wf.invite(id);
    await wf.close();
    wf = await reopen();
    const { token } = env.sms.invitation(id);
    await wf.activationChallenge(token);
    await wf.close();
    wf = await reopen();
    await env.activateDevice(wf, id);
    await wf.close();
    wf = await reopen();
    await wf.issue(id);
    await wf.close();
    wf = await reopen();
    const record = await wf.get(id);
    expect(record.state).to.equal("issued");
    expect(credentialIdIn(record.credentialJwt)).to.equal(record.credentialId!.toString());
    expect((await wf.audit(id)).filter((a) => a.from !== a.to).map((a) => a.to)).to.deep.equal([
      "requested", "approved", "identity_verified", "invited", "activated", "registering", "registered", "issued",
    ]);
    expect(await registrationsOf(record.holderRef)).to.have.length(1);
  });

  const steps: { step: IssueStep; stuckIn: string }[] = [
    { step: "intent-recorded", stuckIn: "registering" },
    { step: "registered-on-chain", stuckIn: "registering" },
    { step: "credential-id-recorded", stuckIn: "registered" },
    { step: "jwt-signed", stuckIn: "registered" },
  ];
  for (const { step, stuckIn } of steps) {
    it(`a crash after "${step}" leaves the request ${stuckIn}; reconcile() completes it with exactly one registration`, async () => {
      const id = "e-saram:REQ-0001";
      let wf = await reopen({ hooks: crashAt(step, id) });
      await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
      await env.toInvited(wf, id);
      await env.activateDevice(wf, id);
      let crashed: unknown;
      await wf.issue(id).catch((error) => (crashed = error));
      expect(crashed).to.be.instanceOf(Crash);
      await wf.close();

      wf = await reopen();
      expect((await wf.get(id)).state).to.equal(stuckIn);
      const report = await wf.reconcile();
      expect(report).to.deep.include({ completed: [id], pending: [], failed: [] });
      const record = await wf.get(id);
      expect(record.state).to.equal("issued");
      expect(record.credentialId).to.equal(makeCredentialId(CENTRAL_AGENCY, 0n));
      expect(credentialIdIn(record.credentialJwt)).to.equal(record.credentialId!.toString());
      const logs = await registrationsOf(record.holderRef);
      expect(logs).to.have.length(1);
      expect(logs[0]!.args.credentialId).to.equal(record.credentialId);
      expect(logs[0]!.args.credentialDigest).to.equal(record.bindingDigest);
      expect(parseCredentialJwt(record.credentialJwt).bindingDigest).to.equal(record.bindingDigest);
      expect(record.txHash).to.equal(logs[0]!.transactionHash);
      expect(await env.ledger.statusRegistry.isActive(record.credentialId!)).to.equal(true);
      const actions = (await wf.audit(id)).map((a) => a.action);
      if (step === "registered-on-chain") expect(actions).to.include("registration-recovered");
      if (step === "intent-recorded") expect(actions).to.include("registration-retry");
      // A second reconcile finds nothing to do.
      expect(await wf.reconcile()).to.deep.include({ completed: [], pending: [], failed: [] });
      expect(await env.ledger.statusRegistry.nextSequence(CENTRAL_AGENCY)).to.equal(1n);
    });
  }

  it("finishes an interrupted issuance only with the issuer key its registration was bound to", async () => {
    const id = "e-saram:REQ-0001";
    let wf = await crashDuringIssue("credential-id-recorded", id);
    await wf.close();
    const rotated = Wallet.createRandom();
    wf = await reopen({ extra: { issuer: issuerFromPrivateKey(env.chainId, rotated.privateKey) } });
    const report = await wf.reconcile();
    expect(report.completed).to.deep.equal([]);
    expect(report.failed).to.have.length(1);
    expect(report.failed[0]).to.deep.include({ id, code: "NOT_AUTHORISED" });
    expect(report.failed[0]!.message).to.match(/was registered for issuer key did:ethr:0x7a69:/);
    expect((await wf.get(id)).state).to.equal("registered");
    await wf.close();
    wf = await reopen();
    expect((await wf.reconcile()).completed).to.deep.equal([id]);
    expect(parseCredentialJwt((await wf.get(id)).credentialJwt).issuerAddress).to.equal(env.centralKey.address);
  });

  it("issue() on an interrupted request resumes it like reconcile(), without registering again", async () => {
    const id = "e-saram:REQ-0001";
    let wf = await crashDuringIssue("registered-on-chain", id);
    await wf.close();
    wf = await reopen();
    const record = await wf.issue(id);
    expect(record.state).to.equal("issued");
    expect(await registrationsOf(record.holderRef)).to.have.length(1);
  });

  it("a reissue whose registration was mined but not recorded is recovered with its superseded credential linked", async () => {
    let wf = await reopen();
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await env.toInvited(wf, "e-saram:REQ-0001");
    await env.activateDevice(wf, "e-saram:REQ-0001");
    const old = await wf.issue("e-saram:REQ-0001");
    await wf.close();
    const again = hrRow({ requestId: "REQ-0002", requestKind: "reissue", reissueReason: "app-deleted" });
    wf = await reopen({ hooks: crashAt("registered-on-chain", "e-saram:REQ-0002") });
    await wf.importRequests("e-saram", eSaramExport([again]), "hr-batch");
    await env.toInvited(wf, "e-saram:REQ-0002", again);
    await env.activateDevice(wf, "e-saram:REQ-0002");
    await wf.issue("e-saram:REQ-0002").catch((error) => {
      if (!(error instanceof Crash)) throw error;
    });
    await wf.close();
    wf = await reopen();
    await wf.reconcile();
    const reissued = await wf.get("e-saram:REQ-0002");
    expect(reissued.state).to.equal("issued");
    expect(reissued.supersededId).to.equal(old.credentialId);
    expect((await wf.get("e-saram:REQ-0001")).supersededBy).to.equal(reissued.credentialId);
    // The old registration log (same holder) is not mistaken for the new one.
    expect(reissued.credentialId).to.equal(makeCredentialId(CENTRAL_AGENCY, 1n));
    expect(await registrationsOf(old.holderRef)).to.have.length(2);
  });

  it("waits while the registration transaction is still pending, and records it once mined", async () => {
    const id = "e-saram:REQ-0001";
    let wf = await crashDuringIssue("intent-recorded", id);
    const { holderRef, bindingDigest } = await wf.get(id);
    await wf.close();
    // The dying process had broadcast its transaction; it is not mined yet.
    const provider = env.connection.provider;
    await provider.request({ method: "evm_setAutomine", params: [false] });
    await env.ledger.statusRegistry.connect(env.actors.registrar).register(holderRef, bindingDigest!);

    wf = await reopen();
    const waiting = await wf.reconcile();
    expect(waiting.completed).to.deep.equal([]);
    expect(waiting.pending).to.have.length(1);
    expect(waiting.pending[0]!.id).to.equal(id);
    expect(waiting.pending[0]!.reason).to.match(/^IN_FLIGHT/);
    expect((await wf.get(id)).state).to.equal("registering");
    const error = await wf.issue(id).catch((e: unknown) => e);
    expect(isCivilIdError(error, "INVALID_WORKFLOW_STATE")).to.equal(true);

    await provider.request({ method: "evm_mine", params: [] });
    await provider.request({ method: "evm_setAutomine", params: [true] });
    const done = await wf.reconcile();
    expect(done.completed).to.deep.equal([id]);
    expect(await registrationsOf(holderRef)).to.have.length(1);
    expect((await wf.get(id)).credentialId).to.equal(makeCredentialId(CENTRAL_AGENCY, 0n));
  });

  it("registers again when the intent's nonce was used by another transaction and nothing was mined for it", async () => {
    const a = "e-saram:REQ-0001";
    const b = "e-saram:REQ-0002";
    const rowB = hrRow({ requestId: "REQ-0002", personId: "8503031234567", name: "이영희", employeeRef: "E-2" });
    let wf = await reopen({ hooks: crashAt("intent-recorded", a) });
    await wf.importRequests("e-saram", eSaramExport([hrRow(), rowB]), "hr-batch");
    await env.toInvited(wf, a);
    await env.toInvited(wf, b, rowB);
    await env.activateDevice(wf, a);
    await env.activateDevice(wf, b);
    await wf.issue(a).catch((error) => {
      if (!(error instanceof Crash)) throw error;
    });
    await wf.issue(b); // uses the nonce that a's intent recorded
    await wf.close();
    wf = await reopen();
    expect((await wf.reconcile()).completed).to.deep.equal([a]);
    expect(await registrationsOf((await wf.get(a)).holderRef)).to.have.length(1);
    expect((await wf.get(a)).credentialId).to.equal(makeCredentialId(CENTRAL_AGENCY, 1n));
  });

  describe("atomic transitions", () => {
    function failOn(action: string): WorkflowHooks & { armed: boolean } {
      const hooks = {
        armed: true,
        beforeCommit(event: { action: string }) {
          if (hooks.armed && event.action === action) throw new Crash(`disk full during ${action}`);
        },
      };
      return hooks;
    }

    it("a failing transition leaves neither the state change nor an audit row", async () => {
      const id = "e-saram:REQ-0001";
      const hooks = failOn("approve");
      const wf = await reopen({ hooks });
      await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
      const before = await wf.audit(id);
      const crash = await wf.approve(id, "dept-head:7001").then(() => undefined, (e: unknown) => e);
      expect(crash).to.be.instanceOf(Crash);
      expect((crash as Error).message).to.include("disk full during approve");
      expect(await wf.get(id)).to.deep.include({ state: "requested", approver: undefined });
      expect(await wf.audit(id)).to.deep.equal(before);
      hooks.armed = false;
      expect((await wf.approve(id, "dept-head:7001")).state).to.equal("approved");
    });

    it("a failing import imports nothing and records nothing", async () => {
      const wf = await reopen({ hooks: failOn("import") });
      await wf.importRequests("e-saram", eSaramExport([hrRow(), hrRow({ requestId: "REQ-2", personId: "8503031234567" })]), "hr-batch")
        .then(() => expect.fail("should fail"), (e) => expect(e).to.be.instanceOf(Crash));
      expect(await wf.list()).to.deep.equal([]);
      expect(await wf.audit()).to.deep.equal([]);
    });

    it("a failing activation neither uses up the invitation nor binds the device", async () => {
      const id = "e-saram:REQ-0001";
      const hooks = failOn("activate");
      const wf = await reopen({ hooks });
      await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
      await env.toInvited(wf, id);
      await env.activateDevice(wf, id).then(() => expect.fail("should fail"), (e) => expect(e).to.be.instanceOf(Crash));
      expect(await wf.get(id)).to.deep.include({ state: "invited", subjectDid: undefined });
      hooks.armed = false;
      expect((await env.activateDevice(wf, id)).record.state).to.equal("activated");
    });

    it("a database failure right after the chain registration is recovered from the chain", async () => {
      const id = "e-saram:REQ-0001";
      const hooks = failOn("register");
      let wf = await reopen({ hooks });
      await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
      await env.toInvited(wf, id);
      await env.activateDevice(wf, id);
      await wf.issue(id).then(() => expect.fail("should fail"), (e) => expect(e).to.be.instanceOf(Crash));
      expect(await wf.get(id)).to.deep.include({ state: "registering", credentialId: undefined });
      await wf.close();
      wf = await reopen();
      expect((await wf.reconcile()).completed).to.deep.equal([id]);
      expect(await registrationsOf((await wf.get(id)).holderRef)).to.have.length(1);
    });
  });

  it("the audit trail is append-only and the database is bound to one organisation", async () => {
    const wf = await reopen();
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await wf.close();
    const file = path.join(env.dir, `workflow-${CENTRAL_AGENCY}.sqlite`);
    const db = new DatabaseSync(file);
    try {
      expect(() => db.exec("UPDATE audit SET actor = 'someone else'")).to.throw(/append-only/);
      expect(() => db.exec("DELETE FROM audit")).to.throw(/append-only/);
      const columns = (db.prepare("SELECT name FROM pragma_table_info('requests')").all() as { name: string }[]).map((c) => c.name);
      expect(columns).not.to.include("person_id");
      const stored = JSON.stringify(db.prepare("SELECT * FROM requests").all());
      expect(stored).not.to.include("9001011234567");
      expect(stored).not.to.include("900101-1234567");
      expect((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).to.equal("wal");
    } finally {
      db.close();
    }
    let refused: unknown;
    try {
      await reopen({ agency: LOCAL_GOV, db: `workflow-${CENTRAL_AGENCY}.sqlite` });
    } catch (error) {
      refused = error;
    }
    expect(isCivilIdError(refused, "INVALID_INPUT")).to.equal(true);
    expect((refused as Error).message).to.match(/belongs to agency_code 1741000, not 6110000/);
  });
});
