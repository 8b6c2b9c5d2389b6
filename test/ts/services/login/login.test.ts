import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet, type HDNodeWallet } from "ethers";
import * as oidc from "openid-client";
import { setGlobalConfig } from "@openid4vc/utils";
import { checkPresentationRequest, walletOpenid4vpClient } from "../../../../sdk/relying-party/presentation-request.js";
import { ReasonCode } from "../../../../sdk/chain/codes.js";
import { buildLoginService, generateIdTokenKeyPem, loginConfigSchema } from "../../../../services/login/service.js";
import { clientSecretHash } from "../../../../services/login/provider.js";
import { verifierWorld } from "../verifier/helpers.js";
import type { ServiceApp } from "../../../../services/common/app.js";

const REDIRECT = "http://127.0.0.1:9/mail/callback";
const SECRET = "mail-client-secret-of-the-test";

describe("login service: an unmodified openid-client relying party logs a public servant in with the mobile ID", function () {
  let w: Awaited<ReturnType<typeof verifierWorld>>;
  let app: ServiceApp;
  let issuer: string;
  let dataDir: string;
  /** Moves the login service's clock (not the chain's) forward, to expire an access token. */
  let clockOffsetMs = 0;
  before(async function () {
    setGlobalConfig({ allowInsecureUrls: true }); // loopback http in this test
    w = await verifierWorld();
    const { key } = await w.listVerifier("정부원격근무 메일", ["mail-login"]);
    const config = loginConfigSchema.parse({
      verifierKey: key.privateKey,
      idTokenKeyPem: generateIdTokenKeyPem(),
      logLevel: "silent",
      clients: [{ clientId: "gov-mail", secretHash: clientSecretHash(SECRET), name: "정부메일", redirectUris: [REDIRECT], use: "mail-login", claims: ["name", "organisation", "department"] }],
    });
    dataDir = mkdtempSync(path.join(tmpdir(), "mcid-login-"));
    let base = "";
    const built = await buildLoginService({ config, provider: w.provider, chainId: w.chainId, deployment: w.ledger.deployment, dataDir, issuer: () => base, logLevel: "silent", now: () => w.now() + clockOffsetMs });
    app = built.app;
    await app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    issuer = base;
  });
  after(async function () {
    await app?.close();
    await w?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    setGlobalConfig({ allowInsecureUrls: false });
  });

  /** The browser: follows the login until the wallet link, keeping the login cookie. */
  async function startLogin(config: oidc.Configuration) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: "openid", state, nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
    });
    const page = await fetch(url, { redirect: "manual" });
    expect(page.status).to.equal(200);
    const cookie = page.headers.get("set-cookie")!.split(";")[0]!;
    const html = await page.text();
    const link = /id="wallet" href="([^"]+)"/.exec(html)![1]!.replace(/&#38;/g, "&");
    return { verifier, state, nonce, cookie, link };
  }

  /** The phone: checks the request against the listing, presents, and returns the redirect it was given. */
  async function walletAnswers(link: string, holder: Wallet | HDNodeWallet, credential: string) {
    const checked = await checkPresentationRequest({ authorizationRequest: link, directory: w.directory, chainId: w.chainId });
    expect(checked.verifier.name).to.equal("정부원격근무 메일");
    const vp = await w.present(holder, credential, checked.nonce, checked.verifier.clientId);
    const client = walletOpenid4vpClient(w.chainId);
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: checked.resolved.authorizationRequestPayload,
      authorizationResponsePayload: { vp_token: { [checked.credentialQueryId]: [vp] } },
    });
    const submitted = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: checked.resolved.authorizationRequestPayload as { response_uri: string },
      authorizationResponsePayload: { ...response.authorizationResponsePayload, ...(checked.state === undefined ? {} : { state: checked.state }) },
    });
    return submitted.response;
  }

  it("logs in: discovery, PKCE, same-device presentation, code, ID token with only the registered claims", async function () {
    const config = await oidc.discovery(new URL(issuer), "gov-mail", SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const holder = Wallet.createRandom();
    const { jwt } = await w.issue(holder, `person-${holder.address}`);
    const login = await startLogin(config);
    const answered = await walletAnswers(login.link, holder, jwt);
    expect(answered.status, await answered.clone().text()).to.equal(200);
    const { redirect_uri: back } = (await answered.json()) as { redirect_uri: string };
    // The browser returns with the response code and its cookie; the provider redirects to the client with a code.
    const callback = await fetch(back, { redirect: "manual", headers: { cookie: login.cookie } });
    expect(callback.status).to.equal(303);
    const location = new URL(callback.headers.get("location")!);
    const tokens = await oidc.authorizationCodeGrant(config, location, { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce });
    const claims = tokens.claims()!;
    expect(claims.iss).to.equal(issuer);
    expect(claims.aud).to.equal("gov-mail");
    expect(claims.name).to.equal("홍길동");
    expect(claims.organisation).to.equal("행정안전부");
    expect(claims.department).to.equal("디지털정부국");
    expect(claims).to.not.have.property("employee_ref"); // disclosed by the use, but not registered for this client
    expect(claims.sub).to.match(/^[A-Za-z0-9_-]{43}$/);
    // Userinfo: the library's own call with the bearer access token; the same released claims, nothing more.
    expect(config.serverMetadata().userinfo_endpoint).to.equal(`${issuer}/userinfo`);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).to.deep.equal({ sub: claims.sub, name: "홍길동", organisation: "행정안전부", department: "디지털정부국" });
    // The library's own subject check: userinfo for another subject than the ID token's is refused client-side.
    const otherSubject = await oidc.fetchUserInfo(config, tokens.access_token, "someone-else").then(() => undefined, (e: unknown) => e as Error & { code?: string; cause?: Error });
    expect(otherSubject?.code).to.equal("OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED");
    expect(otherSubject?.cause?.message).to.match(/"sub"/);
    // Refusals: no token, a token that was never issued, a malformed header, an expired token (RFC 6750 challenges).
    const none = await fetch(`${issuer}/userinfo`);
    expect(none.status).to.equal(401);
    expect(none.headers.get("www-authenticate")).to.match(/^Bearer realm="userinfo"/);
    const forged = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${"A".repeat(43)}` } });
    expect(forged.status).to.equal(401);
    expect(forged.headers.get("www-authenticate")).to.match(/error="invalid_token"/);
    const malformed = await fetch(`${issuer}/userinfo`, { method: "POST", headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } });
    expect(malformed.status).to.equal(401);
    expect(((await malformed.json()) as { error: string }).error).to.equal("invalid_request");
    const viaPost = await fetch(`${issuer}/userinfo`, { method: "POST", headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(viaPost.status).to.equal(200);
    clockOffsetMs = 301_000;
    try {
      const expired = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(expired.status).to.equal(401);
    } finally {
      clockOffsetMs = 0;
    }
    // The code works once.
    const again = await oidc.authorizationCodeGrant(config, location, { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce }).then(() => undefined, (e: unknown) => e as Error);
    expect(String((again as { error?: string } | undefined)?.error ?? again?.message)).to.match(/invalid_grant/);
  });

  it("session fixation: a victim's presentation on an attacker's login cannot be completed by another browser", async function () {
    const config = await oidc.discovery(new URL(issuer), "gov-mail", SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const victim = Wallet.createRandom();
    const { jwt } = await w.issue(victim, `person-${victim.address}`);
    const attackerLogin = await startLogin(config);
    const answered = await walletAnswers(attackerLogin.link, victim, jwt);
    const { redirect_uri: back } = (await answered.json()) as { redirect_uri: string };
    // The victim's browser (no attacker cookie) follows the redirect: refused, and the code is not issued.
    const otherBrowser = await fetch(back, { redirect: "manual" });
    expect(otherBrowser.status).to.equal(403);
  });

  it("a locked credential cannot log in; bad clients and redirect URIs are refused without redirecting", async function () {
    const config = await oidc.discovery(new URL(issuer), "gov-mail", SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
    const holder = Wallet.createRandom();
    const { jwt, credentialId } = await w.issue(holder, `person-${holder.address}`);
    await (await w.ledger.statusRegistry.connect(w.actors.helpDesk).lock(credentialId, ReasonCode.LOST_DEVICE)).wait();
    await w.syncClock();
    const login = await startLogin(config);
    const answered = await walletAnswers(login.link, holder, jwt);
    expect(answered.status).to.equal(400);
    expect(((await answered.json()) as { reasons: string[] }).reasons).to.deep.equal(["CREDENTIAL_LOCKED"]);

    const unknownClient = await fetch(`${issuer}/authorize?response_type=code&client_id=nope&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=openid`, { redirect: "manual" });
    expect(unknownClient.status).to.equal(400);
    const badRedirect = await fetch(`${issuer}/authorize?response_type=code&client_id=gov-mail&redirect_uri=${encodeURIComponent("https://evil.example/cb")}&scope=openid`, { redirect: "manual" });
    expect(badRedirect.status).to.equal(400);
    const noPkce = await fetch(`${issuer}/authorize?response_type=code&client_id=gov-mail&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=openid&state=s`, { redirect: "manual" });
    expect(noPkce.status).to.equal(303);
    expect(new URL(noPkce.headers.get("location")!).searchParams.get("error")).to.equal("invalid_request");
    const badSecret = await fetch(`${issuer}/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from("gov-mail:wrong").toString("base64")}` },
      body: new URLSearchParams({ grant_type: "authorization_code", code: "x", redirect_uri: REDIRECT, code_verifier: "v".repeat(43) }).toString(),
    });
    expect(badSecret.status).to.equal(401);
  });
});
