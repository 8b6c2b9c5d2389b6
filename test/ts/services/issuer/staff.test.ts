import { expect } from "chai";
import { E_SARAM_FORMAT } from "../../../../sdk/issuer/hr-import.js";
import { generateBearerToken, hashBearerToken } from "../../../../services/common/index.js";
import { BASE_URL, recheckIdentity, startChain, startIssuer, type Chain, type IssuerHarness } from "./harness.js";
import { newDevice } from "./proofs.js";

const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

function hrExport(requestId: string, personId: string): string {
  return JSON.stringify({
    format: E_SARAM_FORMAT, exportedAt: new Date().toISOString(),
    requests: [{ requestId, personId, name: "이직원", agencyCode: "1741000", organisationName: "행정안전부", department: "인사과", position: "주무관", employeeRef: `MOIS-${requestId.slice(-4)}`, mobile: "010-3333-4444", requestKind: "new", requestedAt: new Date().toISOString() }],
  });
}

describe("services/issuer: the issuing-officer API", function () {
  this.timeout(60_000);
  let chain: Chain;
  let h: IssuerHarness;
  const seoulOnly = generateBearerToken();
  before(async () => {
    chain = await startChain();
    h = await startIssuer(chain);
  });
  after(async () => {
    await h.close();
    await chain.close();
  });
  const as = (role: keyof IssuerHarness["tokens"] | string) => ({ authorization: `Bearer ${role in h.tokens ? h.tokens[role as keyof IssuerHarness["tokens"]] : role}` });
  const call = (method: "GET" | "POST", url: string, role: string, payload?: unknown) =>
    h.issuer.app.inject({ method, url, headers: as(role), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

  it("takes a request from HR import to an issued credential, each step by its role, and keeps the audit trail with the staff ids", async () => {
    const imported = await call("POST", "/staff/requests/1741000/import", "hr-officer", { source: "e-saram", content: hrExport("ES-STAFF-0001", "8001011234567") });
    expect(imported.statusCode, imported.body).to.equal(200);
    const id = imported.json<{ created: string[] }>().created[0]!;
    const queue = await call("GET", "/staff/requests?agency=1741000&state=requested", "approver");
    expect(queue.json<{ requests: { id: string }[] }>().requests.map((r) => r.id)).to.include(id);
    expect((await call("POST", `/staff/requests/1741000/${id}/approve`, "approver")).json()).to.include({ state: "approved" });
    expect((await call("POST", `/staff/requests/1741000/${id}/identity/start`, "hr-officer")).statusCode).to.equal(200);
    const waiting = await call("GET", "/staff/sms/undelivered?agency=1741000", "admin");
    const otp = /([0-9]{6})/.exec(waiting.json<{ messages: { requestId: string; purpose: string; body: string }[] }>().messages.filter((m) => m.requestId === id).at(-1)!.body)![1]!;
    const verified = await call("POST", `/staff/requests/1741000/${id}/identity/verify`, "hr-officer", { name: "이직원", employeeRef: "MOIS-0001", code: otp });
    expect(verified.json()).to.include({ state: "identity_verified" });
    expect((await call("POST", `/staff/requests/1741000/${id}/invite`, "hr-officer")).json()).to.include({ state: "invited" });
    const sms = (await call("GET", `/staff/requests/1741000/${id}/sms`, "help-desk")).json<{ messages: { purpose: string; text: string }[] }>().messages;
    const invitationText = sms.find((m) => m.purpose === "invitation")!.text;
    expect(invitationText).to.contain("REDACTED").and.not.match(/코드 [0-9]{8}/);

    // The holder's wallet: offer link and tx_code from the outbox (the carrier's view), then OpenID4VCI.
    const invitation = (await call("GET", "/staff/sms/undelivered?agency=1741000", "admin")).json<{ messages: { requestId: string; purpose: string; body: string }[] }>().messages.filter((m) => m.requestId === id && m.purpose === "invitation").at(-1)!.body;
    const url = new URL(/(https?:\/\/\S+)/.exec(invitation)![1]!);
    await recheckIdentity(h, 1741000, id, url.searchParams.get("token")!, { name: "이직원", employeeRef: "MOIS-0001" });
    const offer = (await h.issuer.app.inject({ method: "GET", url: url.pathname + url.search })).json<{ grants: Record<string, { "pre-authorized_code": string }> }>();
    const token = await h.issuer.app.inject({ method: "POST", url: "/token", headers: { "content-type": "application/x-www-form-urlencoded" }, payload: new URLSearchParams({ grant_type: PRE_AUTH, "pre-authorized_code": offer.grants[PRE_AUTH]!["pre-authorized_code"], tx_code: /활성화 코드 ([0-9]+)/.exec(invitation)![1]! }).toString() });
    const at = token.json<{ access_token: string }>().access_token;
    const nonce = (await h.issuer.app.inject({ method: "POST", url: "/nonce" })).json<{ c_nonce: string }>().c_nonce;
    const issued = await h.issuer.app.inject({ method: "POST", url: "/credential", headers: { authorization: `Bearer ${at}` }, payload: { credential_configuration_id: "CivilServantIdCredential", proofs: { jwt: [newDevice().proof({ nonce, aud: BASE_URL })] } } });
    expect(issued.statusCode, issued.body).to.equal(200);
    const record = (await call("GET", `/staff/requests/1741000/${id}`, "help-desk")).json<{ state: string; credentialId: string }>();
    expect(record.state).to.equal("issued");
    expect(record).not.to.have.property("credentialJwt");

    // Lost phone: the help desk locks at once; the admin unlocks, then revokes with a reason.
    const locked = await call("POST", `/staff/credentials/${record.credentialId}/lock`, "help-desk", { reason: "lost-device", requestId: id });
    expect(locked.statusCode, locked.body).to.equal(200);
    expect(locked.json()).to.include({ state: "locked", reason: "LOST_DEVICE" });
    expect((await call("GET", `/staff/credentials/${record.credentialId}`, "approver")).json()).to.include({ state: "locked" });
    expect((await call("POST", `/staff/credentials/${record.credentialId}/unlock`, "help-desk", { reason: "found-device" })).statusCode).to.equal(403);
    expect((await call("POST", `/staff/credentials/${record.credentialId}/unlock`, "admin", { reason: "found-device", requestId: id })).json()).to.include({ state: "active" });
    const badReason = await call("POST", `/staff/credentials/${record.credentialId}/revoke`, "admin", { reason: "superseded-by-reissue" });
    expect(badReason.statusCode).to.equal(400);
    expect((await call("POST", `/staff/credentials/${record.credentialId}/revoke`, "admin", { reason: "left-service", requestId: id, note: "퇴직" })).json()).to.include({ state: "revoked", reason: "LEFT_SERVICE" });

    const audit = (await call("GET", `/staff/requests/1741000/${id}/audit`, "approver")).json<{ entries: { actor: string; action: string; origin: string }[] }>().entries;
    const actions = audit.map((e) => `${e.origin}:${e.action}:${e.actor}`);
    expect(actions).to.include.members([
      "workflow:approve:staff:t-approver", "workflow:invite:staff:t-hr-officer", "workflow:activate:wallet", "workflow:issue:openid4vci",
      "service:credential-lock:staff:t-help-desk", "service:credential-unlock:staff:t-admin", "service:credential-revoke:staff:t-admin",
    ]);
    expect(JSON.stringify(audit)).not.to.contain(otp);
  });

  it("refuses without a staff token, with an unknown one, and with the wrong role for each kind of action", async () => {
    const imported = await call("POST", "/staff/requests/1741000/import", "hr-officer", { source: "e-saram", content: hrExport("ES-STAFF-0002", "8002021234567") });
    const id = imported.json<{ created: string[] }>().created[0]!;
    const none = await h.issuer.app.inject({ method: "GET", url: "/staff/requests" });
    expect(none.statusCode).to.equal(401);
    expect(none.json()).to.include({ error: "invalid_token" });
    expect((await call("GET", "/staff/requests", generateBearerToken())).statusCode).to.equal(401);
    const refusals: [string, "GET" | "POST", string, string, unknown?][] = [
      ["hr-officer cannot approve", "POST", `/staff/requests/1741000/${id}/approve`, "hr-officer"],
      ["help-desk cannot import", "POST", "/staff/requests/1741000/import", "help-desk", { source: "e-saram", content: "{}" }],
      ["approver cannot invite", "POST", `/staff/requests/1741000/${id}/invite`, "approver"],
      ["approver cannot lock", "POST", "/staff/credentials/1914249743958016000/lock", "approver", { reason: "lost-device" }],
      ["help-desk cannot revoke", "POST", "/staff/credentials/1914249743958016000/revoke", "help-desk", { reason: "left-service" }],
      ["hr-officer cannot read the plain SMS outbox", "GET", "/staff/sms/undelivered?agency=1741000", "hr-officer"],
      ["only admin reconciles", "POST", "/staff/reconcile", "approver"],
    ];
    for (const [what, method, url, role, payload] of refusals) {
      const r = await call(method, url, role, payload);
      expect(r.statusCode, what).to.equal(403);
      expect(r.json(), what).to.include({ error: "insufficient_scope" });
    }
    expect((await call("GET", `/staff/requests/1741000/${id}`, "hr-officer")).json()).to.include({ state: "requested" });
    const reject = await call("POST", `/staff/requests/1741000/${id}/reject`, "approver", {});
    expect(reject.statusCode).to.equal(400);
    expect(reject.json()).to.include({ error: "invalid_request" });
    const wrongState = await call("POST", `/staff/requests/1741000/${id}/invite`, "hr-officer");
    expect(wrongState.statusCode).to.equal(409);
    expect((await call("GET", "/staff/requests/1741000/nope", "approver")).statusCode).to.equal(404);
  });

  it("keeps a staff member to their organisations", async () => {
    const scoped = await startIssuer(chain, { staff: [{ id: "seoul-hr", roles: ["hr-officer", "approver"], tokenHash: hashBearerToken(seoulOnly), agencies: [6110000] }] });
    try {
      const other = await scoped.issuer.app.inject({ method: "GET", url: "/staff/requests?agency=1741000", headers: { authorization: `Bearer ${seoulOnly}` } });
      expect(other.statusCode).to.equal(403);
      const own = await scoped.issuer.app.inject({ method: "GET", url: "/staff/requests", headers: { authorization: `Bearer ${seoulOnly}` } });
      expect(own.statusCode).to.equal(200);
    } finally {
      await scoped.close();
    }
  });
});
