/**
 * The holder web wallet in a real Chromium (docs/WEB.md, "Holder wallet"): `serve --demo` in this process (embedded
 * chain, issuer, verifier, wallet service), one phone profile with a virtual platform authenticator.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { setGlobalConfig } from "@openid4vc/utils";
import { createHash, createPublicKey, verify as cryptoVerify } from "node:crypto";
import { mkdirSync, copyFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { demoHrExport } from "../../../services/issuer/demo.js";
import { startServe, type ServeHandle } from "../../../services/serve.js";
import { dcqlQueryForPolicy } from "../../../sdk/relying-party/dcql.js";
import { USE_PARAMETER } from "../../../sdk/relying-party/presentation-request.js";
import { verifierIdentity } from "../../../sdk/relying-party/verifier-key.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";
import { openProfile, type BrowserProfile } from "../helpers/browser.js";
import { REPO } from "../helpers/cli.js";
import { activate, addVirtualAuthenticator, confirmPresentation, enrolBiometrics, openRequest, openWallet, serviceWorkerReady, shownClaims, storedWallet } from "./wallet-driver.js";

const PIN = "740163";
const WRONG_PIN = "086421";
const DOC_IMAGES = path.join(REPO, "docs", "images");

interface Demo {
  credentialOfferUri: string;
  txCode: string;
  verifierTerminalToken: string;
}

function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("holder web wallet (PWA) in Chromium", function () {
  this.timeout(180_000);
  let serve: ServeHandle;
  let demo: Demo;
  let walletUrl: string;
  let verifierUrl: string;
  let profile: BrowserProfile;
  let authenticator: Awaited<ReturnType<typeof addVirtualAuthenticator>>;

  async function startPresentation(base = verifierUrl, token = demo.verifierTerminalToken): Promise<{ id: string; authorization_request: string }> {
    const response = await fetch(`${base}/presentations`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ use: "building-gate" }),
    });
    expect(response.status).to.equal(201);
    return (await response.json()) as { id: string; authorization_request: string };
  }

  // Screenshots land in .tmp/screenshots/; docs/images/ is refreshed only on request (MCID_UPDATE_DOC_IMAGES=1),
  // so a test run never leaves the tree dirty.
  async function keepScreenshot(name: string): Promise<void> {
    const file = await profile.screenshot(name);
    if (process.env.MCID_UPDATE_DOC_IMAGES !== "1") return;
    mkdirSync(DOC_IMAGES, { recursive: true });
    copyFileSync(file, path.join(DOC_IMAGES, `${name}.png`));
  }

  before(async function () {
    // The rogue terminal below listens on a loopback port of its own: the page may connect to any loopback port.
    serve = await startServe({ demo: true, logLevel: "silent", env: { MCID_WALLET__CONNECT_SOURCES: '["http://127.0.0.1:*"]' } });
    demo = serve.ready.demo as Demo;
    walletUrl = String(serve.ready.wallet);
    verifierUrl = String(serve.ready.verifier);
    profile = await openProfile();
    authenticator = await addVirtualAuthenticator(profile);
  });

  after(async function () {
    await profile?.close();
    await serve?.close();
    setGlobalConfig({ allowInsecureUrls: false });
  });

  it("the ready line's wallet link opens the PWA on its own origin, installable (manifest, service worker)", async function () {
    expect(walletUrl).to.match(/^http:\/\/localhost:\d+\/wallet\/#offer=/);
    expect(new URL(walletUrl).origin).to.not.equal(new URL(String(serve.ready.issuer)).origin);
    const manifest = (await (await fetch(new URL("manifest.webmanifest", walletUrl))).json()) as { display: string; icons: unknown[] };
    expect(manifest.display).to.equal("standalone");
    expect(manifest.icons).to.not.be.empty;
    const rpc = await fetch(new URL("/api/rpc", walletUrl), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendRawTransaction", params: ["0x00"] }) });
    expect(((await rpc.json()) as { error: { code: number } }).error.code).to.equal(-32601);
  });

  it("refuses a wrong activation code (the issuer's answer) and a trivial PIN (the library's rule) before activating", async function () {
    const wrong = await activate(profile, { walletUrl, offerUri: demo.credentialOfferUri, txCode: demo.txCode === "00000000" ? "11111111" : "00000000", pin: PIN });
    expect(wrong.ok).to.equal(false);
    if (!wrong.ok) expect(wrong.error.code).to.equal("invalid_grant");
    const trivial = await activate(profile, { walletUrl, offerUri: demo.credentialOfferUri, txCode: demo.txCode, pin: "123456" });
    expect(trivial.ok).to.equal(false);
    if (!trivial.ok) {
      expect(trivial.error.code).to.equal("WEAK_PIN");
      expect(trivial.error.text).to.match(/fixed step/);
    }
    await profile.screenshot("wallet-weak-pin");
  });

  it("activates and collects the demo credential with a non-extractable P-256 device key; a reload keeps it", async function () {
    const done = await activate(profile, { walletUrl, offerUri: demo.credentialOfferUri, txCode: demo.txCode, pin: PIN });
    expect(done).to.deep.equal({ ok: true });
    const claims = await shownClaims(profile.page);
    expect(claims.name).to.equal("홍길동");
    expect(claims.organisation).to.equal("행정안전부");
    const stored = await storedWallet(profile.page);
    expect(stored).to.not.equal(null);
    const key = { ...stored!.deviceKey!, did: stored!.did!, jwt: stored!.credentialJwt! };
    expect(key).to.deep.include({ extractable: false, type: "private" });
    expect(key.algorithm).to.deep.include({ name: "ECDSA", namedCurve: "P-256" });
    expect(key.did).to.match(/^did:jwk:/);
    expect((payloadOf(key.jwt).sub as string | undefined) ?? (payloadOf(key.jwt).vc as { credentialSubject: { id: string } }).credentialSubject.id).to.equal(key.did);
    await keepScreenshot("wallet-card");
    // Installable: Chromium itself finds nothing missing (manifest, icons, service worker with a fetch handler).
    // (The session stays attached: detaching a DevTools session also drops the virtual authenticator.)
    await serviceWorkerReady(profile.page);
    const cdp = await profile.context.newCDPSession(profile.page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    expect(installabilityErrors).to.deep.equal([]);
    await profile.page.reload();
    await profile.page.waitForSelector("#card");
    expect((await shownClaims(profile.page)).name).to.equal("홍길동");
  });

  it("presents to the listed verifier, unlocked by biometrics (WebAuthn, user verification): the verifier accepts", async function () {
    await enrolBiometrics(profile, PIN);
    // The virtual authenticator has PRF: the enrolment is bound to its secret, not only to its signature.
    expect((await storedWallet(profile.page))?.biometric).to.deep.equal({ prf: true });
    const started = await startPresentation();
    const opened = await openRequest(profile, walletUrl, started.authorization_request);
    expect(opened.ok, opened.ok ? "" : `${opened.error.code}: ${opened.error.text}`).to.equal(true);
    if (!opened.ok) return;
    // Who asks is the on-chain listing's name, and what it will see is the use's claims.
    expect(opened.shown.verifierName).to.equal("정부세종청사 출입·도서관 (demo)");
    expect(opened.shown.use).to.equal("building-gate");
    expect(opened.shown.claims).to.have.members(["name", "agencyCode", "organisation"]);
    await keepScreenshot("wallet-consent");
    const outcome = await confirmPresentation(profile, "biometric");
    expect(outcome).to.deep.equal({ kind: "accepted" });
    const status = (await (await fetch(`${verifierUrl}/presentations/${started.id}`, { headers: { authorization: `Bearer ${demo.verifierTerminalToken}` } })).json()) as { status: string; result?: { claims?: Record<string, unknown> } };
    expect(status.status).to.equal("accepted");
    expect(status.result?.claims).to.include({ name: "홍길동" });
    await profile.screenshot("wallet-accepted");
  });

  it("refuses an unlisted verifier's request with its reason, before showing anything to present", async function () {
    const rogue = await rogueVerifier(Number(serve.ready.chainId));
    try {
      const opened = await openRequest(profile, walletUrl, rogue.authorizationRequest);
      expect(opened.ok).to.equal(false);
      if (opened.ok) return;
      expect(opened.error.code, opened.error.text).to.equal("VERIFIER_NOT_LISTED");
      expect(opened.error.text).to.match(/not listed by the consortium/);
      expect(await profile.page.locator("#consent").count()).to.equal(0);
      await keepScreenshot("wallet-unlisted-verifier");
    } finally {
      await rogue.close();
    }
  });

  it("Korean first, English one tap away (kept across reloads)", async function () {
    const page = profile.page;
    await openWallet(page, walletUrl);
    expect(await page.innerText("header h1")).to.equal("모바일 공무원증");
    await page.click("#lang");
    expect(await page.innerText("header h1")).to.equal("Mobile civil-servant ID");
    expect(await page.innerText("#card dl")).to.include("Organisation");
    await page.reload();
    await page.waitForSelector("#card");
    expect(await page.getAttribute("html", "lang")).to.equal("en");
    await profile.screenshot("wallet-card-en");
    await page.click("#lang");
    expect(await page.innerText("header h1")).to.equal("모바일 공무원증");
  });

  it("signs a document: a detached signature over the document's digest by the device key, bound to the credential", async function () {
    const page = profile.page;
    await openWallet(page, walletUrl);
    await page.click("#sign");
    const document = Buffer.from("인사발령 통지서 2026-12-01\n", "utf8");
    await page.setInputFiles("#doc-file", { name: "notice.txt", mimeType: "text/plain", buffer: document });
    await page.fill("#doc-purpose", "결재");
    await page.fill("#sign-pin", PIN);
    await page.click("#sign-confirm");
    await page.waitForSelector("#signed");
    const signature = JSON.parse(await page.innerText("#docsig")) as { format: string; jwt: string; credential: string };
    expect(signature.format).to.equal("mobile-civil-id/document-signature");
    const [header, payload, sig] = signature.jwt.split(".") as [string, string, string];
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).to.deep.equal({ typ: "civil-id-docsig+jwt", alg: "ES256" });
    const claims = payloadOf(signature.jwt) as { iss: string; docsig: { document: { digest: string; size: number }; purpose: string } };
    expect(claims.docsig.document).to.deep.include({ digest: createHash("sha256").update(document).digest("hex"), size: document.length });
    expect(claims.docsig.purpose).to.equal("결재");
    const jwk = JSON.parse(Buffer.from(claims.iss.slice("did:jwk:".length), "base64url").toString()) as { kty: string; crv: string; x: string; y: string };
    const verified = cryptoVerify("sha256", Buffer.from(`${header}.${payload}`), { key: createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" }, Buffer.from(sig, "base64url"));
    expect(verified).to.equal(true);
  });

  it("offline: a reload still shows the credential, and a request it already holds gets a presentation built", async function () {
    const page = profile.page;
    await openWallet(page, walletUrl);
    await serviceWorkerReady(page);
    const started = await startPresentation();
    const opened = await openRequest(profile, walletUrl, started.authorization_request);
    expect(opened.ok).to.equal(true);
    await profile.context.setOffline(true);
    try {
      const outcome = await confirmPresentation(profile, { pin: PIN });
      expect(outcome.kind).to.equal("offline");
      if (outcome.kind !== "offline") return;
      const vp = payloadOf(outcome.presentation) as { aud: string; nonce: string; iss: string };
      expect(vp.aud).to.match(/^decentralized_identifier:did:ethr:/);
      expect(vp.nonce).to.be.a("string").and.not.empty;
      await page.reload();
      await page.waitForSelector("#card");
      expect((await shownClaims(page)).name).to.equal("홍길동");
      await page.waitForSelector("#app[data-ready]");
      expect(await page.locator("#offline").count()).to.equal(1);
      await keepScreenshot("wallet-offline");
    } finally {
      await profile.context.setOffline(false);
    }
  });

  it("an unverified biometric answer unlocks nothing; five wrong PINs lock the wallet and destroy the device key and the credential", async function () {
    const started = await startPresentation();
    const opened = await openRequest(profile, walletUrl, started.authorization_request);
    expect(opened.ok).to.equal(true);
    // An authenticator that cannot verify the user does not unlock the key (nothing is sent to the verifier).
    await authenticator.cdp.send("WebAuthn.setUserVerified", { authenticatorId: authenticator.authenticatorId, isUserVerified: false });
    const unverified = await confirmPresentation(profile, "biometric");
    expect(unverified.kind === "error" ? unverified.error.code : unverified.kind).to.equal("BIOMETRIC_REFUSED");
    const outcomes: string[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      const outcome = await confirmPresentation(profile, { pin: WRONG_PIN });
      outcomes.push(outcome.kind === "error" ? `${outcome.error.code}:${await profile.page.getAttribute("#attempts-left", "data-left")}` : outcome.kind);
    }
    expect(outcomes).to.deep.equal(["WRONG_PIN:4", "WRONG_PIN:3", "WRONG_PIN:2", "WRONG_PIN:1", "locked"]);
    const stored = await storedWallet(profile.page);
    const state = { deviceKey: stored?.deviceKey, credential: stored?.credentialJwt, locked: stored?.locked };
    expect(state).to.deep.equal({ deviceKey: null, credential: null, locked: true });
    await keepScreenshot("wallet-locked");
    await profile.page.reload();
    await profile.page.waitForSelector("#locked");
  });

  it("after the lockout, HR's new invitation re-activates the same browser: identity re-check, new key, new credential", async function () {
    const before = await storedWallet(profile.page);
    const invitation = await newInvitation(String(serve.ready.issuer), (serve.ready.demo as { staffTokens: Record<string, string> }).staffTokens);
    const done = await activate(profile, {
      walletUrl, offerUri: invitation.link, txCode: invitation.txCode, pin: PIN,
      identity: { name: "홍길동", employeeRef: invitation.employeeRef, code: invitation.recheckCode },
    });
    expect(done).to.deep.equal({ ok: true });
    const after = await storedWallet(profile.page);
    expect(after?.locked).to.equal(false);
    expect(after?.did).to.match(/^did:jwk:/).and.not.equal(before?.did);
    expect((await shownClaims(profile.page)).employeeRef).to.equal(invitation.employeeRef);
  });
});

/**
 * What an HR officer, a department head and the applicant do in the officer API (services/issuer/staff.ts) for a new
 * request: import, approve, first identity check, invitation. Answers the SMS link, its activation code, and a
 * reader of the re-check code the wallet's identity step texts (from the SMS outbox, as a carrier would).
 */
async function newInvitation(issuer: string, tokens: Record<string, string>): Promise<{ link: string; txCode: string; employeeRef: string; recheckCode: () => Promise<string> }> {
  const agency = 1741000;
  const as = (role: string) => ({ authorization: `Bearer ${tokens[role]}`, "content-type": "application/json" });
  const post = async (path: string, role: string, body: unknown = {}) => {
    const response = await fetch(`${issuer}${path}`, { method: "POST", headers: as(role), body: JSON.stringify(body) });
    expect(response.status, `${path}: ${await response.clone().text()}`).to.be.lessThan(300);
    return (await response.json()) as Record<string, unknown>;
  };
  const sms = async (requestId: string, purpose: string) => {
    const response = await fetch(`${issuer}/staff/sms/undelivered?agency=${agency}`, { headers: as("admin") });
    const { messages } = (await response.json()) as { messages: Array<{ requestId: string; purpose: string; body: string }> };
    const found = messages.filter((m) => m.requestId === requestId && m.purpose === purpose).at(-1);
    if (found === undefined) throw new Error(`no ${purpose} SMS for ${requestId}`);
    return found.body;
  };
  const serial = 100_000 + Math.floor(Math.random() * 800_000);
  const imported = await post(`/staff/requests/${agency}/import`, "hr-officer", { source: "e-saram", content: demoHrExport(agency, "행정안전부", serial) });
  const id = (imported.created as string[])[0]!;
  const path = `/staff/requests/${agency}/${encodeURIComponent(id)}`;
  await post(`${path}/approve`, "approver");
  await post(`${path}/identity/start`, "hr-officer");
  const employeeRef = `DEMO-${String(serial).padStart(6, "0")}`;
  await post(`${path}/identity/verify`, "hr-officer", { name: "홍길동", employeeRef, code: /([0-9]{6})/.exec(await sms(id, "identity-code"))![1] });
  await post(`${path}/invite`, "hr-officer");
  const invitation = await sms(id, "invitation");
  return {
    link: /(https?:\/\/\S+)/.exec(invitation)![1]!,
    txCode: /활성화 코드 ([0-9]+)/.exec(invitation)![1]!,
    employeeRef,
    recheckCode: async () => /([0-9]{6})/.exec(await sms(id, "identity-code"))![1]!,
  };
}

/**
 * A terminal that is not on the consortium's listing: it signs a well-formed request object with its own key and
 * serves it (with CORS, as an attacker would) — the wallet must refuse it on the listing alone.
 */
async function rogueVerifier(chainId: number): Promise<{ authorizationRequest: string; close(): Promise<void> }> {
  const key = Wallet.createRandom();
  const identity = verifierIdentity(chainId, key.address);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on("request", (request, response) => {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${b64({ alg: "ES256K", typ: "oauth-authz-req+jwt", kid: identity.kid })}.${b64({
      response_type: "vp_token", client_id: identity.clientId, response_mode: "direct_post", response_uri: `${base}/response`,
      nonce: "n-rogue-0123456789", state: "s-rogue-0123456789", dcql_query: dcqlQueryForPolicy(POLICIES.buildingGate), [USE_PARAMETER]: "building-gate",
      iat: now, exp: now + 120, aud: "https://self-issued.me/v2",
    })}`;
    const signature = key.signingKey.sign(createHash("sha256").update(input).digest());
    const jwt = `${input}.${Buffer.from(signature.r.slice(2) + signature.s.slice(2), "hex").toString("base64url")}`;
    response.writeHead(request.url === "/request" ? 200 : 404, { "content-type": "application/oauth-authz-req+jwt", "access-control-allow-origin": "*" });
    response.end(request.url === "/request" ? jwt : "");
  });
  const authorizationRequest = `openid4vp://?${new URLSearchParams({ client_id: identity.clientId, request_uri: `${base}/request` }).toString()}`;
  return { authorizationRequest, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
