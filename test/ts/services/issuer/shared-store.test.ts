/**
 * Two issuer service instances (two fastify apps, as behind a load balancer) on one PostgreSQL database: every
 * single-use and counted rule holds across them — tx_code attempts, the pre-authorized code, approvals, the
 * issue transition, the officer console's passkey challenges. The server is MCID_TEST_PG_URL's, or one this test
 * starts (scripts/ci/postgres.sh): never skipped.
 */
import { expect } from "chai";
import { checkDeviceKeyJwk, holderDidForDeviceKey } from "../../../../sdk/credential/device-key.js";
import { isCivilIdError } from "../../../../sdk/errors.js";
import { E_SARAM_FORMAT } from "../../../../sdk/issuer/hr-import.js";
import { postgresServer } from "../verifier/postgres.js";
import { BASE_URL, PRE_AUTH, form, invited, preAuthorizedCode, startChain, startIssuer, type Chain, type IssuerHarness } from "./harness.js";
import { newDevice } from "./proofs.js";

const AGENCY = 1741000;

function token(h: IssuerHarness, code: string, txCode: string) {
  return h.issuer.app.inject({ method: "POST", url: "/token", ...form({ grant_type: PRE_AUTH, "pre-authorized_code": code, tx_code: txCode }) });
}

function wrong(txCode: string): string {
  return txCode.replace(/.$/, (d) => String((Number(d) + 1) % 10));
}

describe("services/issuer: two instances sharing one PostgreSQL database", function () {
  this.timeout(180_000);
  let chain: Chain;
  let server: Awaited<ReturnType<typeof postgresServer>>;
  let a: IssuerHarness;
  let b: IssuerHarness;
  before(async () => {
    server = await postgresServer();
    const url = await server.databaseUrl();
    chain = await startChain();
    a = await startIssuer(chain, { store: { kind: "postgres", url } });
    b = await startIssuer(chain, { store: { kind: "postgres", url } });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await chain?.close();
    await server?.stop();
  });

  it("counts tx_code attempts in the database: wrong codes at either instance add up, the fifth locks the link for both", async () => {
    const offer = await invited(a);
    const code = await preAuthorizedCode(a, offer);
    for (const [i, h] of [a, b, a, b].entries()) {
      const r = await token(h, code, wrong(offer.txCode));
      expect(r.statusCode, r.body).to.equal(400);
      expect(r.json<{ error_description: string }>().error_description).to.match(new RegExp(`${4 - i} attempt\\(s\\) left`));
    }
    const fifth = await token(b, code, wrong(offer.txCode));
    expect(fifth.json<{ error_description: string }>().error_description).to.match(/no attempts left/);
    // The right code, at either instance, no longer opens it.
    for (const h of [a, b]) {
      const r = await token(h, code, offer.txCode);
      expect(r.statusCode).to.equal(400);
      expect(r.json<{ error: string }>().error).to.equal("invalid_grant");
    }
    const [invitation] = await a.issuer.agencies.get(AGENCY).workflow.audit(offer.requestId).then((trail) => trail.filter((e) => e.action === "activation-refused"));
    expect(invitation?.details).to.deep.include({ reason: "WRONG_CODE" });
  });

  it("a pre-authorized code redeemed at one instance is refused at the other, and a request is issued once when both issue it at the same moment", async () => {
    const offer = await invited(b);
    const code = await preAuthorizedCode(a, offer);
    const first = await token(a, code, offer.txCode);
    expect(first.statusCode, first.body).to.equal(200);
    const again = await token(b, code, offer.txCode);
    expect(again.statusCode).to.equal(400);
    expect(again.json<{ error: string; error_description: string }>()).to.deep.include({ error: "invalid_grant" });
    expect(again.json<{ error_description: string }>().error_description).to.match(/already used/);

    // The device proven at instance A; both instances then run the issue transition at once.
    const wfA = a.issuer.agencies.get(AGENCY).workflow;
    const wfB = b.issuer.agencies.get(AGENCY).workflow;
    const link = await wfA.invitationOfLink(new URL(`${BASE_URL}${offer.path}`).searchParams.get("token")!).catch(() => undefined);
    expect(link, "the link is spent once the device is bound, not before").not.to.equal(undefined);
    const deviceKey = checkDeviceKeyJwk(newDevice().publicJwk);
    await wfA.activateProvenDevice({ requestId: offer.requestId, invitationId: link!.invitationId, did: holderDidForDeviceKey(chain.chainId, deviceKey), deviceKey, proof: "test" });
    expect((await wfB.get(offer.requestId)).state).to.equal("activated");
    const outcomes = await Promise.allSettled([wfA.issue(offer.requestId, "instance-a"), wfB.issue(offer.requestId, "instance-b")]);
    const issued = outcomes.filter((o) => o.status === "fulfilled");
    expect(issued.length, JSON.stringify(outcomes.map((o) => (o.status === "rejected" ? String(o.reason) : "ok")))).to.be.at.least(1);
    for (const o of outcomes) if (o.status === "rejected") expect(isCivilIdError(o.reason, "INVALID_WORKFLOW_STATE"), String(o.reason)).to.equal(true);
    // One registration on chain, one signed credential, whichever instance won each step.
    const trail = await wfB.audit(offer.requestId);
    expect(trail.filter((e) => e.action === "registration-intent")).to.have.length(1);
    expect(trail.filter((e) => e.action === "register" || e.action === "registration-recovered")).to.have.length(1);
    expect(trail.filter((e) => e.action === "issue")).to.have.length(1);
    const record = await wfA.get(offer.requestId);
    expect(record.state).to.equal("issued");
    for (const o of issued) expect((o as PromiseFulfilledResult<{ credentialId: bigint | undefined }>).value.credentialId).to.equal(record.credentialId);
  });

  it("an approval at one instance is seen by the other, and of two approvals racing exactly one moves the request", async () => {
    const hr = (n: number) => JSON.stringify({
      format: E_SARAM_FORMAT, exportedAt: new Date().toISOString(),
      requests: [{
        requestId: `ES-SHARED-${n}`, personId: `80010${n}1234567`.slice(0, 13), name: "김공유", agencyCode: String(AGENCY), organisationName: a.issuer.agencies.get(AGENCY).name,
        department: "디지털정부혁신실", position: "행정주사", employeeRef: `SHARED-${n}`, mobile: "010-3456-7890", requestKind: "new", requestedAt: new Date().toISOString(),
      }],
    });
    const wfA = a.issuer.agencies.get(AGENCY).workflow;
    const wfB = b.issuer.agencies.get(AGENCY).workflow;
    const [one] = (await wfA.importRequests("e-saram", hr(1), "hr-sync")).created;
    await wfB.approve(one!, "dept-head:b");
    expect(await wfA.get(one!)).to.deep.include({ state: "approved", approver: "dept-head:b" });

    const [two] = (await wfB.importRequests("e-saram", hr(2), "hr-sync")).created;
    const outcomes = await Promise.allSettled([wfA.approve(two!, "dept-head:a"), wfB.approve(two!, "dept-head:b")]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).to.have.length(1);
    const refused = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    expect(isCivilIdError(refused.reason, "INVALID_WORKFLOW_STATE"), String(refused.reason)).to.equal(true);
    expect((await wfA.audit(two!)).filter((e) => e.action === "approve")).to.have.length(1);
  });

  it("a passkey sign-in challenge issued at one instance is spent at the other, once", async () => {
    const headers = { origin: new URL(BASE_URL).origin.replace("127.0.0.1", "localhost") };
    const options = await a.issuer.app.inject({ method: "POST", url: "/staff/session/options", headers });
    expect(options.statusCode, options.body).to.equal(200);
    const challenge = options.json<{ challenge: string }>().challenge;
    const assertion = {
      id: "AAAAAAAAAAAAAAAAAAAAAA", rawId: "AAAAAAAAAAAAAAAAAAAAAA", type: "public-key", clientExtensionResults: {},
      response: {
        clientDataJSON: Buffer.from(JSON.stringify({ type: "webauthn.get", challenge, origin: headers.origin })).toString("base64url"),
        authenticatorData: "AAAA", signature: "AAAA",
      },
    };
    // Instance B spends the challenge (the assertion is worth one try there, whatever the outcome) ...
    const atB = await b.issuer.app.inject({ method: "POST", url: "/staff/session", headers, payload: { response: assertion } });
    expect(atB.statusCode, atB.body).to.equal(401);
    expect(atB.json<{ error_description: string }>().error_description).to.match(/not enrolled/);
    // ... so instance A, which issued it, refuses it as used.
    const atA = await a.issuer.app.inject({ method: "POST", url: "/staff/session", headers, payload: { response: assertion } });
    expect(atA.statusCode).to.equal(401);
    expect(atA.json<{ error_description: string }>().error_description).to.match(/unknown, used or expired/);
  });
});
