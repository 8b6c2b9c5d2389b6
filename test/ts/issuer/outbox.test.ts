import { expect } from "chai";
import { Wallet } from "ethers";
import { activationMessage } from "../../../sdk/protocol/activation.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { issuanceEnv, eSaramExport, hrRow, type IssuanceEnv } from "../helpers/issuance.js";
import type { IssuanceWorkflow } from "../../../sdk/issuer/workflow.js";

describe("issuer/workflow: undelivered SMS for an operator or a carrier integration", function () {
  this.timeout(60_000);
  let env: IssuanceEnv;
  let wf: IssuanceWorkflow;
  beforeEach(async () => {
    env = await issuanceEnv();
    wf = await env.workflow();
  });
  afterEach(async () => {
    await wf.close();
    env.cleanup();
  });

  it("lists the messages still waiting, with their text, across requests and oldest first; delivered and expired ones drop out", async () => {
    await wf.importRequests("e-saram", eSaramExport([hrRow(), hrRow({ requestId: "REQ-0002", personId: "8001011234567", mobile: "010-9999-8888" })]), "hr-batch");
    const [a, b] = ["e-saram:REQ-0001", "e-saram:REQ-0002"];
    await wf.approve(a, "dept-head:7001");
    await wf.approve(b, "dept-head:7001");
    expect(await wf.undeliveredSms()).to.deep.equal([]);

    env.sms.failNext = 2;
    await wf.startIdentityVerification(b);
    await wf.startIdentityVerification(a);
    const waiting = await wf.undeliveredSms();
    expect(waiting.map((m) => [m.requestId, m.purpose, m.to, m.status, m.attempts, m.lastError])).to.deep.equal([
      [b, "identity-code", "+821099998888", "failed", 1, "carrier unavailable"],
      [a, "identity-code", "+821012345678", "failed", 1, "carrier unavailable"],
    ]);
    expect(waiting[0]!.body).to.match(/본인확인 코드 [0-9]{6}/);
    expect(Date.parse(waiting[0]!.expiresAt) - Date.parse(waiting[0]!.createdAt)).to.equal(300_000);

    // Delivered later: it drops out and its text is erased.
    await wf.deliverOutbox();
    expect(await wf.undeliveredSms()).to.deep.equal([]);

    // A code that expired before delivery is not worth handing over.
    env.sms.failNext = 1;
    await wf.startIdentityVerification(a);
    expect(await wf.undeliveredSms()).to.have.length(1);
    env.clock.advance(300);
    expect(await wf.undeliveredSms()).to.deep.equal([]);
  });

  it("an invitation still waiting when the device activates is dropped unsent: its link no longer works", async () => {
    const id = "e-saram:REQ-0001";
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await wf.approve(id, "dept-head:7001");
    await wf.startIdentityVerification(id);
    await wf.verifyIdentity(id, { name: "홍길동", employeeRef: "E-20240001", code: env.sms.otp(id) });
    env.sms.failNext = 1;
    await wf.invite(id);
    const [waiting] = await wf.undeliveredSms();
    expect(waiting).to.deep.include({ requestId: id, purpose: "invitation", status: "failed" });
    // The operator hands the text over; the device activates with it.
    const token = /[?&]token=([A-Za-z0-9_-]{43})/.exec(waiting!.body)![1]!;
    const code = /활성화 코드 ([0-9]+)/.exec(waiting!.body)![1]!;
    const device = Wallet.createRandom();
    const did = didForAddress(env.chainId, device.address);
    const signature = await device.signMessage(activationMessage(await wf.activationChallenge(token), did));
    expect((await wf.activate({ token, code, did, publicKey: device.signingKey.publicKey, signature })).state).to.equal("activated");
    expect(await wf.undeliveredSms()).to.deep.equal([]);
    expect((await wf.outbox(id)).at(-1)).to.deep.include({ purpose: "invitation", status: "expired", body: null });
    expect((await wf.deliverOutbox())).to.deep.equal({ delivered: 0, failed: 0, expired: 0 });
  });
});
