import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { checkPresentationRequest } from "../../../../sdk/relying-party/presentation-request.js";
import { ReasonCode } from "../../../../sdk/chain/codes.js";
import { isCivilIdError } from "../../../../sdk/errors.js";
import { BASE_URL, FORM, directPost, injectFetch, verifierWorld } from "./helpers.js";
import { rejection } from "../../helpers/rejections.js";

type World = Awaited<ReturnType<typeof verifierWorld>>;

describe("verifier service: OpenID4VP 1.0 with listed verifier keys", function () {
  let w: World;
  before(async function () {
    w = await verifierWorld();
  });
  after(async function () {
    await w.cleanup();
  });

  async function gateSetup() {
    const { key } = await w.listVerifier("정부세종청사 출입관리", ["building-gate", "library-card"]);
    const gate = await w.startVerifier(key);
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    return { key, gate, holder, credential };
  }

  async function start(gate: Awaited<ReturnType<World["startVerifier"]>>, use = "building-gate", extra: Record<string, unknown> = {}) {
    const res = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use, ...extra } });
    expect(res.statusCode, res.body).to.equal(201);
    return res.json<{ id: string; authorization_request: string; request_uri: string; qr_svg: string }>();
  }

  it("a gate tap: QR request, the wallet checks the listing and shows the name, the verifier accepts, the terminal reads the result", async function () {
    const { gate, holder, credential } = await gateSetup();
    const created = await start(gate);
    expect(created.authorization_request).to.match(/^openid4vp:\/\/\?client_id=decentralized_identifier%3Adid%3Aethr%3A/);
    expect(created.authorization_request).to.contain("request_uri=");
    const qr = await gate.app.inject({ method: "GET", url: created.qr_svg });
    expect(qr.headers["content-type"]).to.match(/image\/svg\+xml/);
    expect(qr.body).to.match(/^<svg/);

    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    expect(checked.verifier.name).to.equal("정부세종청사 출입관리");
    expect(checked.use).to.equal("building-gate");
    expect(checked.requestedClaims).to.deep.equal(["name", "agencyCode", "organisation"]);
    expect(checked.responseUri).to.equal(`${BASE_URL}/openid4vp/response`);

    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const posted = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(posted.statusCode, posted.body).to.equal(200);
    expect(posted.json()).to.deep.equal({});
    const status = await gate.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: gate.auth });
    const outcome = status.json<{ status: string; result: { claims: Record<string, unknown> } }>();
    expect(outcome.status).to.equal("accepted");
    expect(outcome.result.claims).to.deep.equal({ name: "홍길동", agencyCode: 1741000, organisation: "행정안전부" });

    // The same direct_post again: refused, the transaction keeps its one answer.
    const replay = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(replay.statusCode).to.equal(400);
    expect(replay.json<{ error_description: string }>().error_description).to.match(/already answered: replay refused/);
    // The request object is gone once answered.
    expect((await gate.app.inject({ method: "GET", url: `/presentations/${created.id}/request` })).statusCode).to.equal(400);
  });

  it("the wallet refuses an unlisted verifier, a retired key, a use the key is not granted, and a query beyond its use", async function () {
    // Unlisted: a key nobody listed signs a perfectly formed request.
    const rogue = await w.startVerifier(Wallet.createRandom());
    const rogueRequest = await start(rogue);
    const unlisted = await rejection(checkPresentationRequest({ authorizationRequest: rogueRequest.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(rogue.app) }));
    expect(isCivilIdError(unlisted, "VERIFIER_NOT_LISTED"), unlisted.message).to.equal(true);

    // Listed for the library only, asking for the gate.
    const { key: libraryKey } = await w.listVerifier("국립세종도서관", ["library-card"]);
    const library = await w.startVerifier(libraryKey, { uses: ["building-gate", "library-card"] });
    const asGate = await start(library, "building-gate");
    const notAllowed = await rejection(checkPresentationRequest({ authorizationRequest: asGate.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(library.app) }));
    expect(isCivilIdError(notAllowed, "VERIFIER_USE_NOT_ALLOWED"), notAllowed.message).to.equal(true);
    expect(notAllowed.message).to.contain("국립세종도서관");
    const asLibrary = await start(library, "library-card");
    const ok = await checkPresentationRequest({ authorizationRequest: asLibrary.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(library.app) });
    expect(ok.requestedClaims).to.deep.equal(["name", "organisation"]);

    // Retired by its relying party's admin: refused from the next block on.
    await w.registry.retireVerifierKey(2, libraryKey.address).then((tx) => tx.wait());
    const again = await start(library, "library-card");
    const retired = await rejection(checkPresentationRequest({ authorizationRequest: again.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(library.app) }));
    expect(isCivilIdError(retired, "VERIFIER_NOT_LISTED"), retired.message).to.equal(true);
  });

  it("a relayed request stays bound to the listed gate: a presentation made for it is refused by another verifier", async function () {
    const { gate, holder, credential } = await gateSetup();
    const created = await start(gate);
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    // A second (listed) verifier receives the relayed presentation with its own state: wrong audience and nonce.
    const { key: otherKey } = await w.listVerifier("다른 출입관리", ["building-gate"]);
    const other = await w.startVerifier(otherKey);
    const own = await start(other);
    const wrong = await other.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, new URL(own.request_uri).pathname.split("/")[2]!) });
    expect(wrong.statusCode).to.equal(400);
    expect(wrong.json<{ reasons: string[] }>().reasons).to.deep.equal(["AUDIENCE_MISMATCH"]);
    // A presentation for the right verifier but another nonce.
    const stale = await w.present(holder, credential.jwt, "not-the-nonce", checked.verifier.clientId);
    const created2 = await start(gate);
    const res = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(stale, created2.id) });
    expect(res.json<{ reasons: string[] }>().reasons).to.deep.equal(["CHALLENGE_MISMATCH"]);
  });

  it("a credential locked on chain is refused at the gate from the next block on", async function () {
    const { gate, holder, credential } = await gateSetup();
    const created = await start(gate);
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    const helpDesk = w.ledger.statusRegistry.connect(w.actors.helpDesk);
    await (await helpDesk.lock(credential.credentialId, ReasonCode.LOST_DEVICE)).wait();
    await w.syncClock();
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const res = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(res.statusCode).to.equal(400);
    expect(res.json<{ reasons: string[] }>().reasons).to.deep.equal(["CREDENTIAL_LOCKED"]);
    const status = await gate.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: gate.auth });
    expect(status.json<{ status: string }>().status).to.equal("refused");
  });

  it("same-device login: the answer is released once, only for the response code of the redirect", async function () {
    const { key } = await w.listVerifier("정부원격근무 메일", ["mail-login"]);
    const mail = await w.startVerifier(key, { uses: ["mail-login"] });
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    const created = await start(mail, "mail-login", { flow: "same-device", redirect_uri: "https://mail.example.go.kr/login/callback?session=abc" });
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(mail.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const posted = await mail.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(posted.statusCode, posted.body).to.equal(200);
    const redirect = new URL(posted.json<{ redirect_uri: string }>().redirect_uri);
    expect(redirect.origin + redirect.pathname).to.equal("https://mail.example.go.kr/login/callback");
    const code = redirect.searchParams.get("response_code")!;
    // Without the code the result is not released (status says answered, no claims).
    const status = await mail.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: mail.auth });
    expect(status.json()).to.deep.equal({ id: created.id, use: "mail-login", status: "accepted" });
    const wrongCode = await mail.app.inject({ method: "POST", url: `/presentations/${created.id}/redeem`, headers: mail.auth, payload: { response_code: "A".repeat(22) } });
    expect(wrongCode.statusCode).to.equal(400);
    const redeemed = await mail.app.inject({ method: "POST", url: `/presentations/${created.id}/redeem`, headers: mail.auth, payload: { response_code: code } });
    expect(redeemed.json<{ result: { claims: { employeeRef: string } } }>().result.claims.employeeRef).to.be.a("string");
    const twice = await mail.app.inject({ method: "POST", url: `/presentations/${created.id}/redeem`, headers: mail.auth, payload: { response_code: code } });
    expect(twice.json<{ error_description: string }>().error_description).to.match(/already used/);
  });

  it("a restart mid-flow loses nothing: the request started before is answered after, once", async function () {
    const { key } = await w.listVerifier("정부세종청사 출입관리 (재시작)", ["building-gate"]);
    const file = path.join(mkdtempSync(path.join(tmpdir(), "mcid-restart-")), "verifier.sqlite");
    const before = await w.startVerifier(key, { uses: ["building-gate"], store: { kind: "sqlite", file } });
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    const created = await start(before);
    await before.app.close();
    const after = await w.startVerifier(key, { uses: ["building-gate"], store: { kind: "sqlite", file }, terminals: [] });
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(after.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const posted = await after.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, created.id) });
    expect(posted.statusCode, posted.body).to.equal(200);
    const replay = await after.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, created.id) });
    expect(replay.statusCode).to.equal(400);
    rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it("refuses malformed, oversize and unauthenticated requests with the one error body", async function () {
    const { gate } = await gateSetup();
    const noAuth = await gate.app.inject({ method: "POST", url: "/presentations", payload: { use: "building-gate" } });
    expect(noAuth.statusCode).to.equal(401);
    const badUse = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use: "teleport" } });
    expect([badUse.statusCode, badUse.json<{ error: string }>().error]).to.deep.equal([400, "invalid_request"]);
    const notServed = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use: "mail-login" } });
    expect(notServed.statusCode).to.equal(400);
    const sameDeviceNoRedirect = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use: "building-gate", flow: "same-device" } });
    expect(sameDeviceNoRedirect.statusCode).to.equal(400);
    const created = await start(gate);
    const notJson = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: new URLSearchParams({ vp_token: "{nope", state: created.id }).toString() });
    expect(notJson.statusCode).to.equal(400);
    const notDcql = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: new URLSearchParams({ vp_token: JSON.stringify({ other: ["x.y.z"] }), state: created.id }).toString() });
    expect([notDcql.statusCode, notDcql.json<{ error: string }>().error]).to.deep.equal([400, "invalid_request"]);
    const garbage = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("not-a-jwt", created.id) });
    expect(garbage.json<{ reasons: string[] }>().reasons).to.deep.equal(["MALFORMED_PRESENTATION"]);
    // Garbage from whoever read the QR code does not close the request: the holder can still answer it.
    const stillPending = await gate.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: gate.auth });
    expect(stillPending.json<{ status: string }>().status).to.equal("pending");
    const unknownState = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("a.b.c", "B".repeat(22)) });
    expect(unknownState.statusCode).to.equal(404);
    const extra = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("a.b.c", created.id) + "&admin=1" });
    expect(extra.statusCode).to.equal(400);
    const oversize = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("x".repeat(70 * 1024), created.id) });
    expect([oversize.statusCode, oversize.json<{ error: string }>().error]).to.deep.equal([413, "payload_too_large"]);
    const json = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: { "content-type": "text/plain" }, payload: "vp_token=x" });
    expect(json.statusCode).to.equal(415);
    const badId = await gate.app.inject({ method: "GET", url: "/presentations/..%2F..%2Fetc/request" });
    expect(badId.statusCode).to.equal(400);
    const openapi = await gate.app.inject({ method: "GET", url: "/openapi.json" });
    expect(Object.keys(openapi.json<{ paths: Record<string, unknown> }>().paths)).to.include.members(["/presentations", "/openid4vp/response", "/presentations/{id}/request"]);
  });
});
