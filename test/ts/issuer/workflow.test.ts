import { expect } from "chai";
import { Wallet } from "ethers";
import { verifyCredential } from "did-jwt-vc";
import { CachingDidResolver } from "../../../sdk/did/resolver.js";
import {
  issuanceEnv, eSaramExport, insarangCsv, hrRow, CENTRAL_AGENCY, LOCAL_GOV, governedCall, type IssuanceEnv,
} from "../helpers/issuance.js";
import { CredentialState, makeCredentialId } from "../../../sdk/chain/codes.js";
import { StatusClient } from "../../../sdk/status/client.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { deviceKeyJwk, issuerFromPrivateKey, parseCredentialJwt } from "../../../sdk/credential/index.js";
import { activationMessage } from "../../../sdk/protocol/activation.js";
import { isCivilIdError, type ErrorCode } from "../../../sdk/errors.js";
import type { IssuanceWorkflow } from "../../../sdk/issuer/workflow.js";
import { postgresServer } from "../services/verifier/postgres.js";

async function rejects(promise: Promise<unknown> | (() => unknown), code: ErrorCode, pattern?: RegExp) {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    if (!isCivilIdError(error, code)) throw error;
    if (pattern) expect(error.message).to.match(pattern);
    return error;
  }
  throw new Error(`expected ${code}`);
}

const server: { pg?: Awaited<ReturnType<typeof postgresServer>> } = {};

// The whole workflow suite on both backends: SQLite (embedded) and PostgreSQL (shared by instances).
describe("issuer/workflow on SQLite and on PostgreSQL", function () {
  before(async function () {
    this.timeout(600_000);
    server.pg = await postgresServer();
  });
  after(async () => {
    await server.pg?.stop();
  });

  for (const backend of ["sqlite", "postgres"] as const) {
    describe(`issuer/workflow (${backend}): issuance from HR request to credential`, function () {
      this.timeout(60_000);
      let env: IssuanceEnv;
      let wf: IssuanceWorkflow;
      beforeEach(async () => {
        env = await issuanceEnv(backend === "postgres" ? { postgresUrl: await server.pg!.databaseUrl() } : {});
        wf = await env.workflow();
      });
      afterEach(async () => {
        await wf.close();
        env.cleanup();
      });

      it("central agency: e-사람 JSON → approved → identity → invited → activated → issued, with a full audit trail", async () => {
        const row = hrRow();
        const report = await wf.importRequests("e-saram", eSaramExport([row]), "hr-batch");
        expect(report).to.deep.include({ rows: 1, created: ["e-saram:REQ-0001"], duplicates: [], refused: [], conflicts: [] });
        const id = "e-saram:REQ-0001";
        const requested = await wf.get(id);
        expect(requested).to.deep.include({ state: "requested", name: "홍길동", mobile: "+821012345678", agencyCode: CENTRAL_AGENCY, kind: "new" });
        expect(requested.holderRef).to.equal(holderReference(env.holderSecret, "9001011234567"));
        expect(requested.requestedAt).to.equal("2026-01-05T00:00:00.000Z");

        expect((await wf.approve(id, "dept-head:7001")).approver).to.equal("dept-head:7001");
        const started = await wf.startIdentityVerification(id, "hr-desk");
        expect(started.sms?.delivered).to.equal(true);
        const otp = env.sms.otp(id);
        expect(otp).to.match(/^[0-9]{6}$/);
        expect((await wf.verifyIdentity(id, { name: "홍 길동", employeeRef: "E-20240001", code: otp })).state).to.equal("identity_verified");

        const invitation = await wf.invite(id, "hr-desk");
        expect(invitation.sms.delivered).to.equal(true);
        const { token, code } = env.sms.invitation(id);
        expect(code).to.match(/^[0-9]{8}$/);
        // Only keyed hashes of the secrets are stored; delivered SMS keep only their redacted text.
        const outbox = await wf.outbox(id);
        expect(outbox.map((m) => m.status)).to.deep.equal(["sent", "sent"]);
        expect(outbox.every((m) => m.body === null)).to.equal(true);
        expect(JSON.stringify(outbox)).not.to.include(token);
        expect(JSON.stringify(outbox)).not.to.include(code);
        expect(JSON.stringify(await wf.audit(id))).not.to.include(token);

        const { record: activated, did, device } = await env.activateDevice(wf, id);
        expect(activated).to.deep.include({ state: "activated", subjectDid: did });
        expect(activated.devicePublicKey).to.equal(device.signingKey.publicKey);

        const issued = await wf.issue(id);
        expect(issued.state).to.equal("issued");
        expect(issued.credentialId).to.equal(makeCredentialId(CENTRAL_AGENCY, 0n));
        expect(issued.supersededId).to.equal(undefined);
        const parsed = parseCredentialJwt(issued.credentialJwt);
        expect(parsed.credentialId).to.equal(issued.credentialId);
        expect(parsed.status.statusRegistry).to.equal(env.ledger.deployment.statusRegistry);
        expect(parsed.subjectDid).to.equal(did);
        expect(parsed.issuerAddress).to.equal(env.centralKey.address);
        expect(parsed.claims).to.deep.equal({
          name: "홍길동", agencyCode: CENTRAL_AGENCY, organisation: "행정안전부", department: "디지털정부국", position: "행정사무관", employeeRef: "E-20240001",
        });
        expect(parsed.deviceKey).to.deep.equal(deviceKeyJwk(device.signingKey.publicKey));
        expect(parsed.issuedAt).to.equal(Math.floor(env.clock.ms / 1000));
        expect(parsed.validFrom).to.equal(parsed.issuedAt);
        expect(parsed.validUntil - parsed.validFrom).to.equal(1095 * 86400);
        // The content the JWT carries is the content registered on chain.
        expect(parsed.bindingDigest).to.equal(issued.bindingDigest);
        const [registered] = await env.ledger.statusRegistry.queryFilter(env.ledger.statusRegistry.filters.CredentialRegistered(issued.credentialId));
        expect(registered!.args.credentialDigest).to.equal(issued.bindingDigest);
        // The JWT's signature verifies against the issuer DID.
        const resolver = new CachingDidResolver({ provider: env.ethers.provider, chainId: env.chainId, registry: env.ledger.deployment.didRegistry });
        const verified = await verifyCredential(issued.credentialJwt!, resolver);
        expect(verified.issuer).to.equal(didForAddress(env.chainId, env.centralKey.address));
        // On chain: Active, bound to the holder reference and to this subject DID.
        const status = new StatusClient(env.ledger.statusRegistry);
        expect((await status.status(issued.credentialId!)).stateName).to.equal("active");
        expect(await env.ledger.statusRegistry.latestCredentialOf(issued.holderRef)).to.equal(issued.credentialId);

        const trail = await wf.audit(id);
        expect(trail.map((e) => [e.action, e.from ?? null, e.to ?? null, e.actor])).to.deep.equal([
          ["import", null, "requested", "hr-batch"],
          ["approve", "requested", "approved", "dept-head:7001"],
          ["identity-verification-started", "approved", "approved", "hr-desk"],
          ["sms-sent", "approved", "approved", "system"],
          ["verify-identity", "approved", "identity_verified", "applicant"],
          ["invite", "identity_verified", "invited", "hr-desk"],
          ["sms-sent", "invited", "invited", "system"],
          ["activate", "invited", "activated", "device"],
          ["registration-intent", "activated", "registering", "system"],
          ["register", "registering", "registered", "system"],
          ["issue", "registered", "issued", "system"],
        ]);
        expect(trail.find((e) => e.action === "register")!.details).to.deep.include({ credentialId: issued.credentialId!.toString(), supersededId: null });
        expect((await wf.audit()).map((e) => e.action)).to.deep.equal(["import"]);
      });

      it("local government: 인사랑 CSV → issued with the local organisation's issuer key and credential id", async () => {
        await wf.close();
        wf = await env.workflow({ agency: LOCAL_GOV });
        const row = hrRow({ requestId: "IS-77", name: "김, \"철수\"", personId: "8002022345678", organisationName: "서울특별시" }, LOCAL_GOV);
        const report = await wf.importRequests("insarang", insarangCsv([row]), "insarang-sync");
        expect(report.created).to.deep.equal(["insarang:IS-77"]);
        const id = "insarang:IS-77";
        expect((await wf.get(id)).name).to.equal('김, "철수"');
        await env.toInvited(wf, id, row);
        await env.activateDevice(wf, id);
        const issued = await wf.issue(id);
        expect(issued.credentialId).to.equal(makeCredentialId(LOCAL_GOV, 0n));
        const parsed = parseCredentialJwt(issued.credentialJwt);
        expect(parsed.issuerAddress).to.equal(env.localKey.address);
        expect(parsed.claims).to.deep.include({ organisation: "서울특별시", agencyCode: LOCAL_GOV, name: '김, "철수"' });
        expect(parsed.bindingDigest).to.equal(issued.bindingDigest);
        expect(await env.ledger.statusRegistry.isActive(issued.credentialId!)).to.equal(true);
      });

      describe("organisation participation", () => {
        it("refuses and records requests of a suspended organisation (ORGANISATION_NOT_PARTICIPATING)", async () => {
          const reg = env.ledger.issuerRegistry;
          await (await governedCall(env, await reg.getAddress(), reg.interface.encodeFunctionData("suspend", [CENTRAL_AGENCY]))).wait();
          const report = await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          expect(report.created).to.deep.equal([]);
          expect(report.refused).to.have.length(1);
          expect(report.refused[0]).to.deep.include({ id: "e-saram:REQ-0001", row: 1, code: "ORGANISATION_NOT_PARTICIPATING" });
          expect(report.refused[0]!.reason).to.match(/^SUSPENDED: organisation 1741000/);
          const record = await wf.get("e-saram:REQ-0001");
          expect(record.state).to.equal("refused");
          expect(record.refusal?.code).to.equal("ORGANISATION_NOT_PARTICIPATING");
          expect((await wf.audit("e-saram:REQ-0001")).map((e) => e.action)).to.deep.equal(["import-refused-request"]);
          await rejects(() => wf.approve("e-saram:REQ-0001", "dept-head:7001"), "INVALID_WORKFLOW_STATE", /is refused; approve needs requested\. Next step: none/);
          // Refused is final: a re-import of the same request is a duplicate that stays refused, even once reinstated.
          await (await governedCall(env, await reg.getAddress(), reg.interface.encodeFunctionData("reinstate", [CENTRAL_AGENCY]))).wait();
          const again = await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          expect(again.duplicates).to.deep.equal(["e-saram:REQ-0001"]);
          expect((await wf.get("e-saram:REQ-0001")).state).to.equal("refused");
        });

        it("refuses a whole export whose rows name the organisation otherwise than the issuer registry (row and field named)", async () => {
          const reg = env.ledger.issuerRegistry;
          await (await governedCall(env, await reg.getAddress(), reg.interface.encodeFunctionData("setOrganisationName", [CENTRAL_AGENCY, "행정안전부"]))).wait();
          const rows = [hrRow({ requestId: "REQ-NAME-1", personId: "7001011234567" }), hrRow({ requestId: "REQ-NAME-2", personId: "7002021234567", organisationName: "국가정보원" })];
          await rejects(() => wf.importRequests("e-saram", eSaramExport(rows), "hr-batch"), "INVALID_INPUT", /row 2 organisationName: "국가정보원" is not the issuer registry's official name of organisation 1741000/);
          await rejects(() => wf.get("e-saram:REQ-NAME-1"), "REQUEST_NOT_FOUND");
          // The registry's name, in any Unicode composition, is accepted.
          const report = await wf.importRequests("e-saram", eSaramExport([hrRow({ requestId: "REQ-NAME-3", personId: "7003031234567", organisationName: "행정안전부".normalize("NFD") })]), "hr-batch");
          expect(report.created).to.deep.equal(["e-saram:REQ-NAME-3"]);
        });

        it("refuses requests for an organisation that was never accredited", async () => {
          await wf.close();
          wf = await env.workflow({ agency: 1234567 });
          const report = await wf.importRequests("e-saram", eSaramExport([hrRow({}, 1234567)]), "hr-batch");
          expect(report.refused[0]?.code).to.equal("ORGANISATION_NOT_PARTICIPATING");
          expect(report.refused[0]?.reason).to.match(/^NOT_ACCREDITED/);
        });

        it("refuses a source that does not match the organisation's kind on chain", async () => {
          const central = await wf.importRequests("insarang", insarangCsv([hrRow()]), "hr-batch");
          expect(central.refused[0]?.reason).to.match(/^SOURCE_KIND_MISMATCH: organisation 1741000 is accredited as CentralAgency/);
          await wf.close();
          wf = await env.workflow({ agency: LOCAL_GOV });
          const local = await wf.importRequests("e-saram", eSaramExport([hrRow({}, LOCAL_GOV)]), "hr-batch");
          expect(local.refused[0]?.reason).to.match(/^SOURCE_KIND_MISMATCH: organisation 6110000 is accredited as LocalGovernment/);
          expect((await wf.get("e-saram:REQ-0001")).state).to.equal("refused");
        });

        it("refuses to issue once the organisation was suspended after approval, and records it", async () => {
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          const id = "e-saram:REQ-0001";
          await env.toInvited(wf, id);
          await env.activateDevice(wf, id);
          const reg = env.ledger.issuerRegistry;
          await (await governedCall(env, await reg.getAddress(), reg.interface.encodeFunctionData("suspend", [CENTRAL_AGENCY]))).wait();
          await rejects(wf.issue(id), "ORGANISATION_NOT_PARTICIPATING");
          expect((await wf.get(id)).state).to.equal("activated");
          expect((await wf.audit(id)).at(-1)).to.deep.include({ action: "issue-refused", from: "activated", to: "activated" });
          expect(await env.ledger.statusRegistry.nextSequence(CENTRAL_AGENCY)).to.equal(0n);
        });

        it("refuses a row for another organisation than the one this server issues for (whole file, audited)", async () => {
          await wf.importRequests("e-saram", eSaramExport([hrRow({ requestId: "REQ-FIRST", personId: "7001011234567" })]), "hr-batch");
          const error = await rejects(wf.importRequests("e-saram", eSaramExport([hrRow(), hrRow({ requestId: "REQ-2" }, LOCAL_GOV)]), "hr-batch"), "INVALID_INPUT", /row 2 agencyCode: 6110000 is not served/);
          expect(error.details?.errors).to.deep.equal([{ row: 2, field: "agencyCode", reason: "6110000 is not served by this issuing server (1741000)" }]);
          expect((await wf.list()).map((r) => r.id)).to.deep.equal(["e-saram:REQ-FIRST"]);
          const refused = (await wf.audit()).at(-1)!;
          expect(refused.action).to.equal("import-refused");
          expect(refused.details).to.deep.include({ source: "e-saram", problems: 1 });
        });
      });

      describe("import", () => {
        it("is idempotent: the same export twice creates nothing new; changed content under the same id is a conflict", async () => {
          const rows = [hrRow(), hrRow({ requestId: "REQ-0002", personId: "8503031234567", name: "이영희", employeeRef: "E-2" })];
          const first = await wf.importRequests("e-saram", eSaramExport(rows), "hr-batch");
          expect(first.created).to.deep.equal(["e-saram:REQ-0001", "e-saram:REQ-0002"]);
          await wf.approve("e-saram:REQ-0001", "dept-head:7001");
          const second = await wf.importRequests("e-saram", eSaramExport(rows), "hr-batch");
          expect(second).to.deep.include({ created: [], duplicates: ["e-saram:REQ-0001", "e-saram:REQ-0002"], conflicts: [] });
          expect((await wf.get("e-saram:REQ-0001")).state).to.equal("approved");
          expect(await wf.list()).to.have.length(2);
          const changed = await wf.importRequests("e-saram", eSaramExport([hrRow({ mobile: "010-9999-0000" })]), "hr-batch");
          expect(changed.conflicts).to.deep.equal([{ id: "e-saram:REQ-0001", row: 1 }]);
          expect((await wf.get("e-saram:REQ-0001")).mobile).to.equal("+821012345678");
          expect((await wf.audit("e-saram:REQ-0001")).at(-1)?.action).to.equal("import-conflict");
          // The same request id from the other HR source is another request.
          expect(await wf.list({ source: "e-saram" })).to.have.length(2);
        });

        it("refuses (and records) a second request for a holder whose earlier request is still in progress", async () => {
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          const report = await wf.importRequests("e-saram", eSaramExport([hrRow({ requestId: "REQ-0009" })]), "hr-batch");
          expect(report.refused[0]).to.deep.include({ id: "e-saram:REQ-0009", code: "DUPLICATE_REQUEST" });
          expect(report.refused[0]!.reason).to.match(/^HOLDER_HAS_OPEN_REQUEST: e-saram:REQ-0001/);
          // Once the first one is cancelled, a new request for the same person is accepted.
          await wf.cancel("e-saram:REQ-0001", "hr-desk", "duplicate");
          const later = await wf.importRequests("e-saram", eSaramExport([hrRow({ requestId: "REQ-0010" })]), "hr-batch");
          expect(later.created).to.deep.equal(["e-saram:REQ-0010"]);
        });

        it("refuses an invalid file as a whole, listing each row, field and reason, and records the refusal", async () => {
          const csv = insarangCsv([hrRow(), hrRow({ requestId: "B 2", mobile: "02-123-4567" }), hrRow({ requestId: "C3", requestKind: "reissue" })]);
          const error = await rejects(wf.importRequests("e-saram", csv, "hr-batch"), "INVALID_INPUT", /not valid JSON/);
          expect(error.details?.errors).to.deep.equal([{ row: 0, field: "", reason: "not valid JSON" }]);
          await wf.close();
          wf = await env.workflow({ agency: LOCAL_GOV });
          // The database exists once an import succeeded (a refused first import creates none): refusals are audited in it.
          await wf.importRequests("insarang", insarangCsv([hrRow({ requestId: "L-OK", personId: "7001011234567" }, LOCAL_GOV)]), "hr-batch");
          const csvErr = await rejects(
            wf.importRequests("insarang", insarangCsv([
              hrRow({}, LOCAL_GOV),
              hrRow({ requestId: "B 2", mobile: "02-123-4567" }, LOCAL_GOV),
              hrRow({ requestId: "C3", requestKind: "reissue" }, LOCAL_GOV),
            ]), "hr-batch"),
            "INVALID_INPUT",
            /nothing was imported \(3 problems\)/,
          );
          expect(csvErr.details?.errors).to.deep.equal([
            { row: 3, field: "requestId", reason: "must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit" },
            { row: 3, field: "mobile", reason: "must be a Korean mobile number (010-1234-5678 or +82 10-1234-5678)" },
            { row: 4, field: "reissueReason", reason: "is required for a reissue (lost-device, pin-lockout, app-deleted, device-replaced)" },
          ]);
          expect((await wf.list()).map((r) => r.id)).to.deep.equal(["insarang:L-OK"]);
          expect((await wf.audit()).map((e) => e.action)).to.deep.equal(["import", "import-refused"]);
        });
      });

      describe("approval", () => {
        beforeEach(async () => {
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
        });

        it("rejection needs a reason, records the approver and is final", async () => {
          const id = "e-saram:REQ-0001";
          await rejects(() => wf.reject(id, "dept-head:7001", "   "), "INVALID_INPUT", /reason is required/);
          await rejects(() => wf.approve(id, ""), "INVALID_INPUT", /actor/);
          expect((await wf.get(id)).state).to.equal("requested");
          const rejected = await wf.reject(id, "dept-head:7001", "not in this department");
          expect(rejected).to.deep.include({ state: "rejected", approver: "dept-head:7001", rejectionReason: "not in this department" });
          expect((await wf.audit(id)).at(-1)).to.deep.include({ action: "reject", from: "requested", to: "rejected", actor: "dept-head:7001" });
          const error = await rejects(() => wf.approve(id, "dept-head:7001"), "INVALID_WORKFLOW_STATE");
          expect(error.details).to.deep.include({ state: "rejected", allowed: ["requested"] });
          expect((await wf.list({ state: "rejected" })).map((r) => r.id)).to.deep.equal([id]);
        });

        it("refuses every step out of order with the current state and the allowed next step", async () => {
          const id = "e-saram:REQ-0001";
          await rejects(wf.invite(id), "INVALID_WORKFLOW_STATE", /is requested; invite needs identity_verified or invited\. Next step: approve or reject/);
          await rejects(wf.issue(id), "INVALID_WORKFLOW_STATE", /is requested; issue needs activated or registering or registered/);
          await rejects(wf.startIdentityVerification(id), "INVALID_WORKFLOW_STATE", /startIdentityVerification needs approved/);
          await wf.approve(id, "dept-head:7001");
          await rejects(() => wf.approve(id, "dept-head:7001"), "INVALID_WORKFLOW_STATE", /is approved; approve needs requested\. Next step: verify the applicant's identity/);
          await rejects(wf.invite(id), "INVALID_WORKFLOW_STATE", /Next step: verify the applicant's identity/);
          await rejects(() => wf.get("e-saram:NOPE"), "REQUEST_NOT_FOUND");
          await rejects(() => wf.approve("e-saram:NOPE", "dept-head:7001"), "REQUEST_NOT_FOUND");
        });
      });

      describe("identity verification", () => {
        const id = "e-saram:REQ-0001";
        beforeEach(async () => {
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          await wf.approve(id, "dept-head:7001");
        });

        it("refuses a wrong code or a name / employee ref not matching the HR record, counting attempts", async () => {
          await rejects(wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: "000000" }), "IDENTITY_NOT_VERIFIED", /start a new|startIdentityVerification/);
          await wf.startIdentityVerification(id);
          const otp = env.sms.otp(id);
          const wrong = otp === "123456" ? "654321" : "123456";
          let e = await rejects(wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: wrong }), "IDENTITY_NOT_VERIFIED");
          expect(e.details).to.deep.equal({ reason: "WRONG_CODE", attemptsLeft: 4 });
          e = await rejects(wf.verifyIdentity(id, { name: "홍길순", employeeRef: "E-20240001", code: otp }), "IDENTITY_NOT_VERIFIED");
          expect(e.details).to.deep.equal({ reason: "HR_RECORD_MISMATCH", attemptsLeft: 3 });
          e = await rejects(wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20249999", code: otp }), "IDENTITY_NOT_VERIFIED");
          expect(e.details).to.deep.equal({ reason: "HR_RECORD_MISMATCH", attemptsLeft: 2 });
          e = await rejects(wf.verifyIdentity(id, "garbage"), "IDENTITY_NOT_VERIFIED");
          expect(e.details).to.deep.equal({ reason: "MALFORMED_EVIDENCE", attemptsLeft: 1 });
          expect((await wf.get(id)).state).to.equal("approved");
          expect((await wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: otp })).state).to.equal("identity_verified");
          expect((await wf.audit(id)).filter((a) => a.action === "identity-check-failed").map((a) => a.details.reason))
            .to.deep.equal(["WRONG_CODE", "HR_RECORD_MISMATCH", "HR_RECORD_MISMATCH", "MALFORMED_EVIDENCE"]);
          // The code is stored only as a keyed hash.
          expect(JSON.stringify(await wf.audit(id))).not.to.include(otp);
        });

        it("a code expires; exhausting every session's attempts fails the request for good", async () => {
          await wf.startIdentityVerification(id);
          env.clock.advance(301);
          const expired = await rejects(wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: env.sms.otp(id) }), "IDENTITY_NOT_VERIFIED", /expired/);
          expect(expired.details).to.deep.equal({ reason: "EXPIRED", attemptsLeft: 0 });
          for (let session = 2; session <= 3; session++) {
            await wf.startIdentityVerification(id);
            const otp = env.sms.otp(id);
            const wrong = otp === "111111" ? "222222" : "111111";
            for (let i = 0; i < 5; i++) await rejects(wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: wrong }), "IDENTITY_NOT_VERIFIED");
            if (session === 2) {
              // The right code no longer helps once its attempts are used up.
              await rejects(wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: otp }), "IDENTITY_NOT_VERIFIED", /startIdentityVerification/);
            }
          }
          expect((await wf.get(id)).state).to.equal("identity_failed");
          expect((await wf.audit(id)).at(-1)).to.deep.include({ action: "identity-failed", from: "approved", to: "identity_failed" });
          await rejects(wf.startIdentityVerification(id), "INVALID_WORKFLOW_STATE", /is identity_failed/);
        });

        it("caps the number of codes sent per request", async () => {
          for (let i = 0; i < 3; i++) await wf.startIdentityVerification(id);
          await rejects(wf.startIdentityVerification(id), "IDENTITY_NOT_VERIFIED", /used all 3 identity verification sessions/);
          expect(env.sms.sent.filter((m) => m.purpose === "identity-code")).to.have.length(3);
          // Replaced sessions did not fail the request; the last one still works.
          expect((await wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: env.sms.otp(id) })).state).to.equal("identity_verified");
        });

        it("a new code replaces the previous one", async () => {
          await wf.startIdentityVerification(id);
          const first = env.sms.otp(id);
          await wf.startIdentityVerification(id);
          const second = env.sms.otp(id);
          if (first !== second) {
            await rejects(wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: first }), "IDENTITY_NOT_VERIFIED");
          }
          expect((await wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: second })).state).to.equal("identity_verified");
        });
      });

      describe("invitation and activation", () => {
        const id = "e-saram:REQ-0001";
        beforeEach(async () => {
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          await env.toInvited(wf, id);
        });

        async function attempt(overrides: { code?: string; signWith?: { signMessage(m: string): Promise<string> }; did?: string; publicKey?: string; token?: string } = {}) {
          const device = Wallet.createRandom();
          const { token, code } = env.sms.invitation(id);
          const challenge = await wf.activationChallenge(token);
          const did = overrides.did ?? didForAddress(env.chainId, device.address);
          const signature = await (overrides.signWith ?? device).signMessage(activationMessage(challenge, did));
          return await wf.activate({ token: overrides.token ?? token, code: overrides.code ?? code, did, publicKey: overrides.publicKey ?? device.signingKey.publicKey, signature });
        }

        it("refuses a wrong code, a signature by another key and a key that is not the DID's, then locks the link", async () => {
          const { code, token: firstToken } = env.sms.invitation(id);
          const firstChallenge = (await wf.activationChallenge(firstToken)).challenge;
          const wrongCode = code === "12345678" ? "87654321" : "12345678";
          let e = await rejects(attempt({ code: wrongCode }), "ACTIVATION_FAILED");
          expect(e.details).to.deep.equal({ reason: "WRONG_CODE", attemptsLeft: 4 });
          e = await rejects(attempt({ signWith: Wallet.createRandom() }), "ACTIVATION_FAILED");
          expect(e.details).to.deep.equal({ reason: "BAD_SIGNATURE", attemptsLeft: 3 });
          e = await rejects(attempt({ publicKey: Wallet.createRandom().signingKey.publicKey }), "ACTIVATION_FAILED");
          expect(e.details).to.deep.equal({ reason: "KEY_NOT_OF_DID", attemptsLeft: 2 });
          e = await rejects(attempt({ did: didForAddress(1, Wallet.createRandom().address) }), "ACTIVATION_FAILED");
          expect(e.details).to.deep.equal({ reason: "WRONG_CHAIN", attemptsLeft: 1 });
          e = await rejects(attempt({ code: wrongCode }), "ACTIVATION_FAILED", /no attempts left/);
          expect(e.details).to.deep.equal({ reason: "WRONG_CODE", attemptsLeft: 0 });
          await rejects(attempt(), "INVITATION_INVALID", /Too many failed activation attempts/);
          // Even a correct code and signature are refused on a locked link.
          const { token } = env.sms.invitation(id);
          const device = Wallet.createRandom();
          const did = didForAddress(env.chainId, device.address);
          const message = activationMessage({ chainId: env.chainId, requestId: id, challenge: firstChallenge }, did);
          const signature = await device.signMessage(message);
          await rejects(() => wf.activate({ token, code, did, publicKey: device.signingKey.publicKey, signature }), "INVITATION_INVALID", /Too many/);
          expect((await wf.get(id)).state).to.equal("invited");
          expect((await wf.audit(id)).filter((a) => a.action === "activation-refused").map((a) => a.details.reason))
            .to.deep.equal(["WRONG_CODE", "BAD_SIGNATURE", "KEY_NOT_OF_DID", "WRONG_CHAIN", "WRONG_CODE", "NO_ATTEMPTS_LEFT", "NO_ATTEMPTS_LEFT"]);
          // A new invitation makes activation possible again.
          await wf.invite(id);
          expect((await attempt()).state).to.equal("activated");
        });

        it("an invitation link works once, expires, and is replaced by a new invitation", async () => {
          const old = env.sms.invitation(id);
          await wf.invite(id, "hr-desk");
          await rejects(() => wf.activationChallenge(old.token), "INVITATION_INVALID", /replaced/);
          env.clock.advance(72 * 3600);
          await rejects(attempt(), "INVITATION_INVALID", /expired/);
          expect((await wf.audit(id)).at(-1)).to.deep.include({ action: "activation-refused", from: "invited", to: "invited", actor: "device" });
          expect((await wf.audit(id)).at(-1)?.details.reason).to.equal("EXPIRED");
          await wf.invite(id, "hr-desk");
          const fresh = env.sms.invitation(id);
          expect((await attempt()).state).to.equal("activated");
          const reused = await rejects(attempt({ token: fresh.token }), "INVITATION_INVALID", /already used/);
          expect(reused.details?.reason).to.equal("USED");
          await rejects(() => wf.activationChallenge("x".repeat(43)), "INVITATION_INVALID", /not valid/);
          await rejects(wf.invite(id), "INVALID_WORKFLOW_STATE", /is activated; invite needs/);
        });

        it("an undelivered SMS stays in the outbox and is delivered later; an expired one is dropped unsent", async () => {
          env.sms.failNext = 1;
          const invitation = await wf.invite(id);
          expect(invitation.sms).to.deep.include({ delivered: false, error: "carrier unavailable" });
          const pending = (await wf.outbox(id)).at(-1)!;
          expect(pending.status).to.equal("failed");
          expect(pending.body).to.match(/활성화 코드/);
          const delivered = await wf.reconcile();
          expect(delivered.sms).to.deep.equal({ delivered: 1, failed: 0, expired: 0 });
          expect((await wf.outbox(id)).at(-1)).to.deep.include({ status: "sent", body: null, attempts: 2 });
          env.sms.failNext = 1;
          await wf.invite(id);
          env.clock.advance(72 * 3600 + 1);
          expect((await wf.deliverOutbox())).to.deep.equal({ delivered: 0, failed: 0, expired: 1 });
          expect((await wf.outbox(id)).at(-1)).to.deep.include({ status: "expired", body: null });
        });
      });

      describe("cancellation, listing and configuration", () => {
        it("cancel ends a request before registration: its link stops working and undelivered SMS text is erased", async () => {
          const id = "e-saram:REQ-0001";
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          await env.toInvited(wf, id);
          const { token } = env.sms.invitation(id);
          env.sms.failNext = 1;
          await wf.invite(id);
          expect((await wf.outbox(id)).at(-1)?.status).to.equal("failed");
          await rejects(() => wf.cancel(id, "hr-desk", ""), "INVALID_INPUT", /reason is required/);
          const cancelled = await wf.cancel(id, "hr-desk", "phone lost before activation");
          expect(cancelled.state).to.equal("cancelled");
          expect((await wf.audit(id)).at(-1)).to.deep.include({ action: "cancel", from: "invited", to: "cancelled", actor: "hr-desk" });
          expect((await wf.outbox(id)).at(-1)).to.deep.include({ status: "expired", body: null });
          const refused = await rejects(() => wf.activationChallenge(token), "INVITATION_INVALID");
          expect(refused.details?.reason).to.equal("REPLACED");
          expect((await wf.reconcile()).sms).to.deep.equal({ delivered: 0, failed: 0, expired: 0 });
          await rejects(() => wf.cancel(id, "hr-desk", "again"), "INVALID_WORKFLOW_STATE", /is cancelled; cancel needs requested or approved/);
        });

        it("lists by state and source with paging", async () => {
          const rows = ["A", "B", "C"].map((r, i) => hrRow({ requestId: r, personId: `90010112345${i}0`, employeeRef: `E-${i}` }));
          await wf.importRequests("e-saram", eSaramExport(rows), "hr-batch");
          await wf.approve("e-saram:B", "dept-head:7001");
          expect((await wf.list()).map((r) => r.id)).to.deep.equal(["e-saram:A", "e-saram:B", "e-saram:C"]);
          expect((await wf.list({ state: "requested" })).map((r) => r.id)).to.deep.equal(["e-saram:A", "e-saram:C"]);
          expect((await wf.list({ state: ["approved", "issued"] })).map((r) => r.id)).to.deep.equal(["e-saram:B"]);
          expect((await wf.list({ limit: 1, offset: 1 })).map((r) => r.id)).to.deep.equal(["e-saram:B"]);
          expect(await wf.list({ source: "insarang" })).to.deep.equal([]);
          expect((await wf.get("e-saram:B")).nextStep).to.match(/^verify the applicant's identity/);
          await rejects(() => wf.list({ limit: 0 }), "INVALID_INPUT");
        });

        it("refuses to issue with an issuer key the registry no longer trusts, before registering", async () => {
          const id = "e-saram:REQ-0001";
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          await env.toInvited(wf, id);
          await env.activateDevice(wf, id);
          await (await env.ledger.issuerRegistry.connect(env.actors.orgAdmin).retireIssuerKey(CENTRAL_AGENCY, env.centralKey.address, false)).wait();
          await rejects(wf.issue(id), "NOT_AUTHORISED", /is not a trusted issuer key of 1741000/);
          expect((await wf.get(id)).state).to.equal("activated");
          expect((await wf.audit(id)).at(-1)?.details.code).to.equal("NOT_AUTHORISED");
          expect(await env.ledger.statusRegistry.nextSequence(CENTRAL_AGENCY)).to.equal(0n);
        });

        it("refuses an inconsistent configuration", async () => {
          const bad = async (extra: Parameters<IssuanceEnv["workflow"]>[0], code: ErrorCode, pattern: RegExp) => {
            let error: unknown;
            try {
              await (await env.workflow({ db: "bad.sqlite", ...extra })).close();
            } catch (e) {
              error = e;
            }
            expect(isCivilIdError(error, code), String(error)).to.equal(true);
            expect((error as Error).message).to.match(pattern);
          };
          await bad({ extra: { chainId: 1 } }, "CHAIN_ID_MISMATCH", /differs from the deployment's chain/);
          await bad({ extra: { issuer: issuerFromPrivateKey(1, env.centralKey.privateKey) } }, "CHAIN_ID_MISMATCH", /is not on chain/);
          await bad({ extra: { holderSecret: new Uint8Array(16) } }, "INVALID_INPUT", /holder secret must be at least 32 bytes/);
          await bad({ extra: { invitation: { baseUrl: "http://id.example.go.kr/activate" } } }, "INVALID_INPUT", /must use https/);
          await bad({ extra: { invitation: { baseUrl: "https://id.example.go.kr/a", ttlSeconds: 10 } } }, "INVALID_INPUT", /ttlSeconds/);
          await bad({ extra: { ledger: { ...env.ledger, statusRegistry: env.ledger.statusRegistry.connect(env.ethers.provider) } } }, "INVALID_INPUT", /Registrar signer/);
          await bad({ agency: 123 }, "INVALID_AGENCY_CODE", /7-digit/);
        });
      });

      describe("reissue", () => {
        it("a reissue (lost phone) supersedes the earlier credential on chain and links both records", async () => {
          const first = hrRow();
          await wf.importRequests("e-saram", eSaramExport([first]), "hr-batch");
          const oldId = "e-saram:REQ-0001";
          await env.toInvited(wf, oldId);
          const { device: oldDevice } = await env.activateDevice(wf, oldId);
          const old = await wf.issue(oldId);

          const again = hrRow({ requestId: "REQ-0002", requestKind: "reissue", reissueReason: "lost-device", requestedAt: "2026-01-06T09:00:00+09:00" });
          await wf.importRequests("e-saram", eSaramExport([again]), "hr-batch");
          const newId = "e-saram:REQ-0002";
          expect(await wf.get(newId)).to.deep.include({ kind: "reissue", reissueReason: "lost-device", holderRef: old.holderRef });
          await env.toInvited(wf, newId, again);
          // The old device key cannot be bound again: a reissue needs a fresh device key.
          const reused = await rejects(env.activateDevice(wf, newId, oldDevice), "ACTIVATION_FAILED");
          expect(reused.details?.reason).to.equal("DID_ALREADY_USED");
          await env.activateDevice(wf, newId);
          const reissued = await wf.issue(newId);

          expect(reissued.supersededId).to.equal(old.credentialId);
          expect(reissued.credentialId).to.equal(makeCredentialId(CENTRAL_AGENCY, 1n));
          expect((await wf.get(oldId)).supersededBy).to.equal(reissued.credentialId);
          expect((await wf.audit(oldId)).at(-1)).to.deep.include({ action: "superseded" });
          const status = new StatusClient(env.ledger.statusRegistry);
          const before = await status.status(old.credentialId!);
          expect(before.state).to.equal(CredentialState.Revoked);
          expect(before.reason).to.equal("SUPERSEDED_BY_REISSUE");
          expect((await status.status(reissued.credentialId!)).stateName).to.equal("active");
        });

        it("writes the reissue request of an issued request's holder as the HR export HR files, checking the person", async () => {
          const first = hrRow();
          await wf.importRequests("e-saram", eSaramExport([first]), "hr-batch");
          const oldId = "e-saram:REQ-0001";
          await rejects(() => wf.reissueExport(oldId, { reason: "lost-device", hrRequestId: "REQ-0002", personId: first.personId }), "INVALID_WORKFLOW_STATE", /is requested, not issued/);
          await env.toInvited(wf, oldId);
          await env.activateDevice(wf, oldId);
          await wf.issue(oldId);
          await rejects(() => wf.reissueExport(oldId, { reason: "lost-device", hrRequestId: "REQ-0002", personId: "7001011234567" }), "INVALID_INPUT", /not the holder of e-saram:REQ-0001/);
          await rejects(() => wf.reissueExport(oldId, { reason: "stolen" as never, hrRequestId: "REQ-0002", personId: first.personId }), "INVALID_INPUT", /must be one of lost-device/);
          await rejects(() => wf.reissueExport(oldId, { reason: "lost-device", hrRequestId: "bad id", personId: first.personId }), "INVALID_INPUT", /requestId/);
          const exported = await wf.reissueExport(oldId, { reason: "pin-lockout", hrRequestId: "REQ-0002", personId: first.personId });
          expect(exported).to.deep.include({ source: "e-saram", requestId: "e-saram:REQ-0002" });
          const report = await wf.importRequests(exported.source, exported.text, "hr-batch");
          expect(report.created).to.deep.equal(["e-saram:REQ-0002"]);
          expect(await wf.get("e-saram:REQ-0002")).to.deep.include({ kind: "reissue", reissueReason: "pin-lockout", holderRef: (await wf.get(oldId)).holderRef, name: first.name });
        });

        it("a contract refusal (holder active at another organisation) returns the request to activated and records why", async () => {
          await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
          await env.toInvited(wf, "e-saram:REQ-0001");
          await env.activateDevice(wf, "e-saram:REQ-0001");
          await wf.issue("e-saram:REQ-0001");
          const local = await env.workflow({ agency: LOCAL_GOV });
          try {
            const moved = hrRow({ requestId: "IS-1", organisationName: "서울특별시" }, LOCAL_GOV);
            await local.importRequests("insarang", insarangCsv([moved]), "insarang-sync");
            await env.toInvited(local, "insarang:IS-1", moved);
            await env.activateDevice(local, "insarang:IS-1");
            await rejects(local.issue("insarang:IS-1"), "CONTRACT_REVERTED", /HolderActiveElsewhere/);
            expect((await local.get("insarang:IS-1")).state).to.equal("activated");
            const trail = (await local.audit("insarang:IS-1")).slice(-2);
            expect(trail.map((a) => [a.action, a.from, a.to])).to.deep.equal([
              ["registration-intent", "activated", "registering"],
              ["registration-refused", "registering", "activated"],
            ]);
            expect(trail[1]!.details.error).to.equal("HolderActiveElsewhere");
          } finally {
            await local.close();
          }
        });
      });
    });
  }
});
