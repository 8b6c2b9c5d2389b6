import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { E_SARAM_FORMAT } from "../../../../sdk/issuer/hr-import.js";
import { StatusClient } from "../../../../sdk/status/client.js";
import { sequenceOfCredential } from "../../../../sdk/chain/codes.js";
import { connectLedger } from "../../../../sdk/chain/contracts.js";
import { parseCredentialJwt, type DeviceKeyJwk } from "../../../../sdk/credential/index.js";
import { BASE_URL, PRE_AUTH, form, invited, preAuthorizedCode, recheckIdentity, startChain, startIssuer, type Chain, type IssuerHarness, type Offer } from "./harness.js";
import { newDevice, type TestDevice } from "./proofs.js";
import { Resolver } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { SigningKey, toBeHex } from "ethers";
import { buildStatusService } from "../../../../services/status/app.js";
import { StatusListPublisher } from "../../../../services/status/publisher.js";
import type { ServiceApp } from "../../../../services/common/index.js";
import { stockVerifier } from "../../status-list/stock-verifier.js";


async function token(h: IssuerHarness, code: string, txCode?: string) {
  return h.issuer.app.inject({ method: "POST", url: "/token", ...form({ grant_type: PRE_AUTH, "pre-authorized_code": code, ...(txCode === undefined ? {} : { tx_code: txCode }) }) });
}

async function accessToken(h: IssuerHarness, offer: Offer): Promise<string> {
  const r = await token(h, await preAuthorizedCode(h, offer), offer.txCode);
  expect(r.statusCode, r.body).to.equal(200);
  return r.json<{ access_token: string }>().access_token;
}

async function nonce(h: IssuerHarness): Promise<string> {
  return (await h.issuer.app.inject({ method: "POST", url: "/nonce" })).json<{ c_nonce: string }>().c_nonce;
}

async function credentialRequest(h: IssuerHarness, at: string, proofs: string[]) {
  return h.issuer.app.inject({ method: "POST", url: "/credential", headers: { authorization: `Bearer ${at}` }, payload: { credential_configuration_id: "CivilServantIdCredential", proofs: { jwt: proofs } } });
}

async function credential(h: IssuerHarness, at: string, device: TestDevice) {
  return credentialRequest(h, at, [device.proof({ nonce: await nonce(h), aud: BASE_URL })]);
}

function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("services/issuer: OpenID4VCI 1.0 pre-authorized code flow", function () {
  this.timeout(60_000);
  let chain: Chain;
  let h: IssuerHarness;
  // The status service beside the issuer, as `npm run serve` wires them: credentials point at its lists.
  let statusApp: ServiceApp;
  let publisher: StatusListPublisher;
  let statusBase = "";
  before(async () => {
    chain = await startChain();
    publisher = new StatusListPublisher({
      ledger: connectLedger(chain.deployment, chain.provider), provider: chain.provider, baseUri: () => statusBase,
      signers: new Map(chain.demo.organisations.map((o) => [o.code, new SigningKey(o.issuerPrivateKey)])),
    });
    statusApp = await buildStatusService({ publisher, app: { logger: false } });
    await statusApp.listen({ host: "127.0.0.1", port: 0 });
    statusBase = `http://127.0.0.1:${(statusApp.server.address() as { port: number }).port}`;
    h = await startIssuer(chain, { statusListBaseUrl: statusBase });
  });
  after(async () => {
    await h?.close();
    await statusApp?.close();
    await chain?.close();
  });

  it("publishes issuer and authorization-server metadata with the profile we support, and the OpenAPI document", async () => {
    type Metadata = Record<string, unknown> & { credential_configurations_supported: Record<string, { format: string; proof_types_supported: { jwt: { proof_signing_alg_values_supported: string[] } } }> };
    const md = (await h.issuer.app.inject({ method: "GET", url: "/.well-known/openid-credential-issuer" })).json<Metadata>();
    expect(md).to.include({ credential_issuer: BASE_URL, credential_endpoint: `${BASE_URL}/credential`, nonce_endpoint: `${BASE_URL}/nonce`, deferred_credential_endpoint: `${BASE_URL}/deferred-credential`, notification_endpoint: `${BASE_URL}/notification` });
    const config = md.credential_configurations_supported.CivilServantIdCredential!;
    expect(config.format).to.equal("jwt_vc_json");
    expect(config.proof_types_supported.jwt.proof_signing_alg_values_supported).to.deep.equal(["ES256K", "ES256"]);
    const as = (await h.issuer.app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })).json<Record<string, unknown>>();
    expect(as).to.include({ issuer: BASE_URL, token_endpoint: `${BASE_URL}/token`, "pre-authorized_grant_anonymous_access_supported": true });
    const paths = Object.keys((await h.issuer.app.inject({ method: "GET", url: "/openapi.json" })).json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).to.include.members(["/credential-offer", "/token", "/nonce", "/credential", "/deferred-credential", "/notification", "/staff/requests", "/staff/credentials/{credentialId}/lock"]);
  });

  it("issues a credential bound to the proof's device key, in the 1.0 credentials array, and records the wallet's notification", async () => {
    const offer = await invited(h);
    const offerJson = (await h.issuer.app.inject({ method: "GET", url: offer.path })).json<{ credential_configuration_ids: string[]; grants: Record<string, { tx_code: Record<string, unknown> }> }>();
    expect(offerJson.credential_configuration_ids).to.deep.equal(["CivilServantIdCredential"]);
    expect(offerJson.grants[PRE_AUTH]!.tx_code).to.include({ input_mode: "numeric", length: 8 });
    const at = await accessToken(h, offer);
    const device = newDevice();
    const r = await credential(h, at, device);
    expect(r.statusCode, r.body).to.equal(200);
    const body = r.json<{ credentials: { credential: string }[]; notification_id: string }>();
    expect(body.credentials).to.have.length(1);
    const vc = payloadOf(body.credentials[0]!.credential) as { sub: string; vc: { credentialSubject: { deviceKey: Record<string, string> } } };
    expect(vc.vc.credentialSubject.deviceKey).to.include({ x: device.publicJwk.x, y: device.publicJwk.y });
    const record = await h.issuer.agencies.get(1741000).workflow.get(offer.requestId);
    expect(record.state).to.equal("issued");
    expect(record.subjectDid).to.equal(vc.sub);
    const note = await h.issuer.app.inject({ method: "POST", url: "/notification", headers: { authorization: `Bearer ${at}` }, payload: { notification_id: body.notification_id, event: "credential_accepted" } });
    expect(note.statusCode, note.body).to.equal(204);
    expect((await h.issuer.store.events(1741000, offer.requestId)).map((e) => e.action)).to.include("wallet-credential-accepted");
    // Asking again with the same key hands back the same credential; another key is refused.
    const again = await credential(h, at, device);
    expect(again.json<{ credentials: { credential: string }[] }>().credentials[0]!.credential).to.equal(body.credentials[0]!.credential);
    const other = await credential(h, at, newDevice());
    expect(other.statusCode).to.equal(400);
    expect(other.json()).to.include({ error: "credential_request_denied" });
    const wrongNote = await h.issuer.app.inject({ method: "POST", url: "/notification", headers: { authorization: `Bearer ${at}` }, payload: { notification_id: "nope", event: "credential_accepted" } });
    expect(wrongNote.json()).to.include({ error: "invalid_notification_id" });
  });

  it("the credential carries the standard status claim beside its on-chain reference; a stock peer verifier refuses it once locked", async () => {
    const offer = await invited(h);
    const r = await credential(h, await accessToken(h, offer), newDevice());
    expect(r.statusCode, r.body).to.equal(200);
    const jwt = r.json<{ credentials: { credential: string }[] }>().credentials[0]!.credential;
    const record = await h.issuer.agencies.get(1741000).workflow.get(offer.requestId);
    const parsed = parseCredentialJwt(jwt);
    expect(parsed.credentialId).to.equal(record.credentialId);
    expect(parsed.statusList).to.deep.equal({ status_list: { idx: Number(sequenceOfCredential(record.credentialId!)), uri: `${statusBase}/status-lists/1741000` } });
    expect(payloadOf(jwt).status).to.deep.equal(parsed.statusList);
    const resolver = new Resolver(getResolver({ networks: [{ name: toBeHex(BigInt(chain.chainId)), chainId: chain.chainId, registry: chain.deployment.didRegistry, provider: chain.provider as never }] }) as never);
    const overHttp = async (uri: string) => {
      const response = await fetch(uri);
      expect(response.status).to.equal(200);
      return response.text();
    };
    await publisher.refresh();
    expect(await stockVerifier(jwt, resolver, overHttp)).to.equal("accept");
    // Lost phone: the help desk locks through the officer API; the next list marks the entry suspended (2).
    const locked = await h.issuer.app.inject({
      method: "POST", url: `/staff/credentials/${record.credentialId}/lock`, headers: { authorization: `Bearer ${h.tokens["help-desk"]}` },
      payload: { reason: "lost-device", requestId: offer.requestId },
    });
    expect(locked.statusCode, locked.body).to.equal(200);
    await publisher.refresh();
    expect(await stockVerifier(jwt, resolver, overHttp)).to.equal("refuse: status 2");
  });

  it("binds an ES256 (P-256) proof's key under its did:jwk: the credential carries the P-256 device key and its digest is the one registered", async () => {
    const offer = await invited(h);
    const at = await accessToken(h, offer);
    const device = newDevice("P-256");
    const r = await credential(h, at, device);
    expect(r.statusCode, r.body).to.equal(200);
    const jwt = r.json<{ credentials: { credential: string }[] }>().credentials[0]!.credential;
    const vc = payloadOf(jwt) as { sub: string; vc: { credentialSubject: { deviceKey: Record<string, string> } } };
    const didJwk = `did:jwk:${Buffer.from(JSON.stringify({ crv: "P-256", kty: "EC", x: device.publicJwk.x, y: device.publicJwk.y })).toString("base64url")}`;
    expect(vc.sub).to.equal(didJwk);
    expect(vc.vc.credentialSubject.deviceKey).to.deep.equal({ kty: "EC", crv: "P-256", x: device.publicJwk.x, y: device.publicJwk.y });
    const record = await h.issuer.agencies.get(1741000).workflow.get(offer.requestId);
    expect(record).to.include({ state: "issued", subjectDid: didJwk });
    const parsed = parseCredentialJwt(jwt);
    expect(parsed).to.include({ subjectDid: didJwk, subjectAddress: undefined, deviceAlgorithm: "ES256", bindingDigest: record.bindingDigest });
    const audit = await h.issuer.agencies.get(1741000).workflow.audit(offer.requestId);
    expect(audit.map((e) => e.action)).to.include.members(["activation-code-accepted", "activate"]);
    expect(audit.find((e) => e.action === "activate")!.details).to.include({ proof: "openid4vci-jwt-proof ES256", subjectDid: didJwk });
    // The same P-256 key cannot be bound to a second request.
    const second = await invited(h);
    const refused = await credential(h, await accessToken(h, second), device);
    expect(refused.json()).to.include({ error: "credential_request_denied" });
    expect((await h.issuer.agencies.get(1741000).workflow.get(second.requestId)).state).to.equal("invited");
  });

  it("releases the offer only after the holder's identity re-check; wrong evidence is counted and refused", async () => {
    const wf = h.issuer.agencies.get(1741000).workflow;
    const id = (await wf.importRequests("e-saram", JSON.stringify({
      format: E_SARAM_FORMAT, exportedAt: new Date().toISOString(),
      requests: [{ requestId: "ES-RECHECK-1", personId: "6601011234567", name: "박확인", agencyCode: "1741000", organisationName: "행정안전부", department: "감사관실", position: "주무관", employeeRef: "MOIS-6601", mobile: "010-5555-6666", requestKind: "new", requestedAt: new Date().toISOString() }],
    }), "test")).created[0]!;
    await wf.approve(id, "test:head");
    await wf.startIdentityVerification(id);
    await wf.verifyIdentity(id, { name: "박확인", employeeRef: "MOIS-6601", code: /([0-9]{6})/.exec((await wf.undeliveredSms()).filter((m) => m.requestId === id).at(-1)!.body)![1]! });
    await wf.invite(id);
    const link = new URL(/(https?:\/\/\S+)/.exec((await wf.undeliveredSms()).filter((m) => m.requestId === id && m.purpose === "invitation").at(-1)!.body)![1]!);
    const token = link.searchParams.get("token")!;
    const before = await h.issuer.app.inject({ method: "GET", url: link.pathname + link.search });
    expect(before.statusCode).to.equal(403);
    expect(before.json()).to.include({ error: "access_denied" });
    expect((await h.issuer.app.inject({ method: "POST", url: "/credential-offer/identity/verify", payload: { token, name: "박확인", employeeRef: "MOIS-6601", code: "123456" } })).json()).to.include({ error: "access_denied" });
    expect((await h.issuer.app.inject({ method: "POST", url: "/credential-offer/identity", payload: { token } })).statusCode).to.equal(200);
    const wrong = await h.issuer.app.inject({ method: "POST", url: "/credential-offer/identity/verify", payload: { token, name: "다른사람", employeeRef: "MOIS-6601", code: "123456" } });
    expect(wrong.statusCode).to.equal(403);
    expect(wrong.json<{ error_description: string }>().error_description).to.match(/attempt/);
    expect((await h.issuer.app.inject({ method: "GET", url: link.pathname + link.search })).statusCode).to.equal(403);
    const code = /([0-9]{6})/.exec((await wf.undeliveredSms()).filter((m) => m.requestId === id && m.purpose === "identity-code").at(-1)!.body)![1]!;
    const ok = await h.issuer.app.inject({ method: "POST", url: "/credential-offer/identity/verify", payload: { token, name: "박확인", employeeRef: "MOIS-6601", code } });
    expect(ok.statusCode, ok.body).to.equal(200);
    expect(ok.json<{ credential_offer_uri: string }>().credential_offer_uri).to.equal(`${BASE_URL}${link.pathname}${link.search}`);
    expect((await h.issuer.app.inject({ method: "GET", url: link.pathname + link.search })).statusCode).to.equal(200);
    expect((await wf.audit(id)).map((e) => e.action)).to.include.members(["identity-recheck-started", "identity-recheck-failed", "identity-rechecked"]);
  });

  it("refuses unknown, malformed and spent offer links; the link works once", async () => {
    const unknown = await h.issuer.app.inject({ method: "GET", url: `/credential-offer?token=${randomBytes(32).toString("base64url")}` });
    expect(unknown.statusCode).to.equal(404);
    expect(unknown.json()).to.include({ error: "invalid_request" });
    const malformed = await h.issuer.app.inject({ method: "GET", url: "/credential-offer?token=abc" });
    expect(malformed.statusCode).to.equal(400);
    const offer = await invited(h);
    await accessToken(h, offer);
    const spent = await h.issuer.app.inject({ method: "GET", url: offer.path });
    expect(spent.statusCode).to.equal(410);
  });

  it("pre-authorized codes are single use, expire, need the tx_code, and a second code of the same link dies when one is redeemed", async () => {
    const offer = await invited(h);
    const first = await preAuthorizedCode(h, offer);
    const second = await preAuthorizedCode(h, offer);
    expect((await token(h, first)).json()).to.include({ error: "invalid_request" }); // no tx_code
    expect((await token(h, randomBytes(32).toString("base64url"), offer.txCode)).json()).to.include({ error: "invalid_grant" });
    expect((await token(h, first, offer.txCode)).statusCode).to.equal(200);
    const reused = await token(h, first, offer.txCode);
    expect(reused.statusCode).to.equal(400);
    expect(reused.json()).to.include({ error: "invalid_grant" });
    expect((await token(h, second, offer.txCode)).json()).to.include({ error: "invalid_grant" });
    const unsupported = await h.issuer.app.inject({ method: "POST", url: "/token", ...form({ grant_type: "authorization_code", code: "x", redirect_uri: "https://a" }) });
    expect(unsupported.statusCode).to.equal(400);
  });

  it("a pre-authorized code expires after its lifetime", async () => {
    const short = await startIssuer(chain, { openid4vci: { preAuthorizedCodeTtlSeconds: 30 } }, { baseUrl: BASE_URL });
    try {
      const offer = await invited(short);
      const code = await preAuthorizedCode(short, offer);
      const realNow = Date.now;
      Date.now = () => realNow() + 31_000;
      try {
        const expired = await token(short, code, offer.txCode);
        expect(expired.json<{ error_description: string }>().error_description, expired.body).to.match(/expired/);
      } finally {
        Date.now = realNow;
      }
    } finally {
      await short.close();
    }
  });

  it("five wrong tx_codes lock the invitation out, counted in the workflow database: even the right code is then refused", async () => {
    const offer = await invited(h);
    const code = await preAuthorizedCode(h, offer);
    const wrong = offer.txCode === "00000000" ? "11111111" : "00000000";
    const descriptions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await token(h, code, wrong);
      expect(r.statusCode).to.equal(400);
      expect(r.json()).to.include({ error: "invalid_grant" });
      descriptions.push(r.json<{ error_description: string }>().error_description);
    }
    expect(descriptions[0]).to.match(/4 attempt/);
    expect(descriptions[4]).to.match(/no attempts left/);
    const right = await token(h, code, offer.txCode);
    expect(right.json()).to.include({ error: "invalid_grant" });
    expect((await h.issuer.app.inject({ method: "GET", url: offer.path })).statusCode).to.equal(410);
    const refusals = (await h.issuer.agencies.get(1741000).workflow.audit(offer.requestId)).filter((e) => e.action === "activation-refused");
    expect(refusals.length).to.be.at.least(5);
  });

  it("refuses proofs with a nonce not issued, reused or for another audience, a forged signature, an unsupported key, and bad access tokens", async () => {
    const offer = await invited(h);
    const at = await accessToken(h, offer);
    const device = newDevice();
    const notIssued = await credentialRequest(h, at, [device.proof({ nonce: randomBytes(32).toString("base64url"), aud: BASE_URL })]);
    expect(notIssued.json()).to.include({ error: "invalid_nonce" });
    const n = await nonce(h);
    const wrongAudience = await credentialRequest(h, at, [device.proof({ nonce: n, aud: "https://other-issuer.example" })]);
    expect(wrongAudience.statusCode).to.equal(400);
    expect(wrongAudience.json<{ error: string }>().error).to.match(/invalid_proof|invalid_request/);
    const forged = await credentialRequest(h, at, [device.proof({ nonce: await nonce(h), aud: BASE_URL }, { signWith: newDevice().privateKey })]);
    expect(forged.statusCode).to.equal(400);
    // A header algorithm that is not the key's curve (ES256 over a secp256k1 key) is refused.
    const curveMismatch = await credentialRequest(h, at, [device.proof({ nonce: await nonce(h), aud: BASE_URL }, { alg: "ES256" })]);
    expect(curveMismatch.statusCode).to.equal(400);
    expect(curveMismatch.json<{ error: string }>().error).to.match(/invalid_proof|invalid_request/);
    const two = await credentialRequest(h, at, [device.proof({ nonce: await nonce(h), aud: BASE_URL }), device.proof({ nonce: await nonce(h), aud: BASE_URL })]);
    expect(two.json()).to.include({ error: "invalid_proof" });
    const used = await nonce(h);
    expect((await credentialRequest(h, at, [device.proof({ nonce: used, aud: BASE_URL })])).statusCode).to.equal(200);
    const replay = await credentialRequest(h, at, [device.proof({ nonce: used, aud: BASE_URL })]);
    expect(replay.json()).to.include({ error: "invalid_nonce" });
    const noToken = await h.issuer.app.inject({ method: "POST", url: "/credential", payload: { credential_configuration_id: "CivilServantIdCredential" } });
    expect(noToken.statusCode).to.equal(401);
    expect(noToken.json()).to.include({ error: "invalid_token" });
    const badToken = await credentialRequest(h, randomBytes(32).toString("base64url"), [device.proof({ nonce: await nonce(h), aud: BASE_URL })]);
    expect(badToken.statusCode).to.equal(401);
  });

  it("refuses oversize and malformed bodies with the one error body", async () => {
    const huge = await h.issuer.app.inject({ method: "POST", url: "/credential", headers: { authorization: "Bearer x", "content-type": "application/json" }, payload: JSON.stringify({ proofs: { jwt: ["a".repeat(70_000)] } }) });
    expect(huge.statusCode).to.equal(413);
    const broken = await h.issuer.app.inject({ method: "POST", url: "/notification", headers: { "content-type": "application/json" }, payload: "{not json" });
    expect(broken.statusCode).to.equal(400);
    expect(broken.json()).to.include({ error: "invalid_request" });
    const badEvent = await h.issuer.app.inject({ method: "POST", url: "/notification", payload: { notification_id: "x", event: "credential_eaten" } });
    expect(badEvent.statusCode).to.equal(400);
  });

  it("rate-limits the token endpoint per client address", async () => {
    let last = 0;
    for (let i = 0; i < 31; i++) last = (await h.issuer.app.inject({ method: "POST", url: "/token", remoteAddress: "10.9.9.9", ...form({ grant_type: PRE_AUTH, "pre-authorized_code": "x" }) })).statusCode;
    expect(last).to.equal(429);
  });

  it("reissue: a new credential for the same holder supersedes the old one on chain (one device per holder)", async () => {
    const exportOf = (requestId: string, kind: "new" | "reissue") =>
      JSON.stringify({
        format: E_SARAM_FORMAT, exportedAt: new Date().toISOString(),
        requests: [{ requestId, personId: "7701011234567", name: "김재발", agencyCode: "1741000", organisationName: "행정안전부", department: "정보보호과", position: "주무관", employeeRef: "MOIS-7701", mobile: "010-1111-2222", requestKind: kind, ...(kind === "reissue" ? { reissueReason: "lost-device" } : {}), requestedAt: new Date().toISOString() }],
      });
    const wf = h.issuer.agencies.get(1741000).workflow;
    const issueThrough = async (requestId: string, kind: "new" | "reissue") => {
      const id = (await wf.importRequests("e-saram", exportOf(requestId, kind), "test")).created[0]!;
      await wf.approve(id, "test:head");
      await wf.startIdentityVerification(id);
      const otp = /([0-9]{6})/.exec((await wf.undeliveredSms()).filter((m) => m.requestId === id).at(-1)!.body)![1]!;
      await wf.verifyIdentity(id, { name: "김재발", employeeRef: "MOIS-7701", code: otp });
      await wf.invite(id);
      const sms = (await wf.undeliveredSms()).filter((m) => m.requestId === id && m.purpose === "invitation").at(-1)!.body;
      const url = new URL(/(https?:\/\/\S+)/.exec(sms)![1]!);
      await recheckIdentity(h, 1741000, id, url.searchParams.get("token")!, { name: "김재발", employeeRef: "MOIS-7701" });
      const offer = { path: url.pathname + url.search, txCode: /활성화 코드 ([0-9]+)/.exec(sms)![1]!, requestId: id };
      const r = await credential(h, await accessToken(h, offer), newDevice());
      expect(r.statusCode, r.body).to.equal(200);
      return await wf.get(id);
    };
    const first = await issueThrough("ES-REISSUE-1", "new");
    const second = await issueThrough("ES-REISSUE-2", "reissue");
    expect(second.supersededId).to.equal(first.credentialId);
    const status = await new StatusClient(connectLedger(chain.deployment, chain.provider).statusRegistry).status(first.credentialId!);
    expect(status.stateName).to.equal("revoked");
    expect(status.reason).to.equal("SUPERSEDED_BY_REISSUE");
  });
});

describe("services/issuer: restarts mid-flow lose or duplicate nothing", function () {
  this.timeout(90_000);
  let chain: Chain;
  before(async () => {
    chain = await startChain();
  });
  after(async () => {
    await chain.close();
  });

  it("restart between the token and the credential request: the access token and nonce survive", async () => {
    const h = await startIssuer(chain);
    try {
      const offer = await invited(h);
      const at = await accessToken(h, offer);
      const n = await nonce(h);
      await h.restart();
      const device = newDevice();
      const r = await credentialRequest(h, at, [device.proof({ nonce: n, aud: BASE_URL })]);
      expect(r.statusCode, r.body).to.equal(200);
      expect((await h.issuer.agencies.get(1741000).workflow.get(offer.requestId)).state).to.equal("issued");
    } finally {
      await h.close();
    }
  });

  it("restart while deferred, after a crash between registration and recording it: one registration, the credential is delivered", async () => {
    let crash = true;
    const hooks = {
      afterIssueStep(step: string) {
        if (crash && step === "registered-on-chain") throw new Error("simulated crash after the registration was mined");
      },
    };
    const h = await startIssuer(chain, { openid4vci: { credentialWaitMs: 0 } }, { hooks });
    try {
      const offer = await invited(h);
      const at = await accessToken(h, offer);
      const device = newDevice();
      const first = await credential(h, at, device);
      expect(first.statusCode, first.body).to.equal(202);
      const transactionId = first.json<{ transaction_id: string; interval: number }>().transaction_id;
      expect(first.json<{ interval: number }>().interval).to.be.a("number");
      await h.issuer.openid4vci.drain();
      expect((await h.issuer.agencies.get(1741000).workflow.get(offer.requestId)).state).to.equal("registering");
      crash = false;
      await h.restart({ hooks });
      let body: { credentials?: { credential: string }[]; transaction_id?: string } = {};
      for (let i = 0; i < 20 && body.credentials === undefined; i++) {
        const r = await h.issuer.app.inject({ method: "POST", url: "/deferred-credential", headers: { authorization: `Bearer ${at}` }, payload: { transaction_id: transactionId } });
        expect([200, 202]).to.include(r.statusCode);
        body = r.json();
      }
      expect(body.credentials).to.have.length(1);
      const record = await h.issuer.agencies.get(1741000).workflow.get(offer.requestId);
      expect(record.state).to.equal("issued");
      const audit = (await h.issuer.agencies.get(1741000).workflow.audit(offer.requestId)).map((e) => e.action);
      expect(audit).to.include("registration-recovered");
      expect(audit.filter((a) => a === "register")).to.have.length(0);
      const wrong = await h.issuer.app.inject({ method: "POST", url: "/deferred-credential", headers: { authorization: `Bearer ${at}` }, payload: { transaction_id: randomBytes(32).toString("base64url") } });
      expect(wrong.json()).to.include({ error: "invalid_transaction_id" });
    } finally {
      await h.close();
    }
  });
});

describe("services/issuer: the workflow binds no device without the invitation's code", function () {
  this.timeout(60_000);
  it("activateProvenDevice refuses an invitation whose tx_code was never accepted", async () => {
    const chain = await startChain();
    const h = await startIssuer(chain);
    try {
      const offer = await invited(h);
      const wf = h.issuer.agencies.get(1741000).workflow;
      const link = await wf.invitationOfLink(new URL(`${BASE_URL}${offer.path}`).searchParams.get("token")!);
      const refused = await wf.activateProvenDevice({ requestId: link.requestId, invitationId: link.invitationId, did: "did:ethr:0x7a69:0x0000000000000000000000000000000000000001", deviceKey: newDevice().publicJwk as unknown as DeviceKeyJwk, proof: "test" })
        .then(() => "resolved", (e: unknown) => (e instanceof Error ? e.message : String(e)));
      expect(refused).to.match(/not accepted/);
      expect((await wf.get(link.requestId)).state).to.equal("invited");
    } finally {
      await h.close();
      await chain.close();
    }
  });
});
