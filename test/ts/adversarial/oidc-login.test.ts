/**
 * The outside attacker against the login service's OpenID Provider (services/login/provider.ts), over real HTTP:
 * redirect_uri look-alikes, PKCE downgrade and a wrong verifier, authorization-code replay (RFC 6749 §4.1.2: the
 * replay also ends the access token the code bought), a code taken to another client or redirect URI, undecodable
 * Basic credentials, ID-token audience, an organisation the client does not admit, and a superseded credential.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet, type HDNodeWallet } from "ethers";
import { setGlobalConfig } from "@openid4vc/utils";
import { checkPresentationRequest, walletOpenid4vpClient } from "../../../sdk/relying-party/presentation-request.js";
import { buildLoginService, generateIdTokenKeyPem, loginConfigSchema } from "../../../services/login/service.js";
import { clientSecretHash } from "../../../services/login/provider.js";
import type { ServiceApp } from "../../../services/common/app.js";
import { LOCAL_GOV } from "../helpers/fixture.js";
import { verifierWorld } from "../services/verifier/helpers.js";

const REDIRECT = "http://127.0.0.1:9/mail/callback";
const BIZ_REDIRECT = "http://127.0.0.1:9/biz/callback";
const SECRET = "mail-client-secret-of-the-adversary-suite";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

describe("adversarial: the OpenID Provider of the login service", function () {
  let w: Awaited<ReturnType<typeof verifierWorld>>;
  let app: ServiceApp;
  let issuer: string;
  let dataDir: string;

  before(async function () {
    setGlobalConfig({ allowInsecureUrls: true }); // loopback http in this test
    w = await verifierWorld();
    const { key } = await w.listVerifier("정부 로그인", ["mail-login", "business-system-login"]);
    const config = loginConfigSchema.parse({
      verifierKey: key.privateKey,
      idTokenKeyPem: generateIdTokenKeyPem(),
      logLevel: "silent",
      clients: [
        { clientId: "gov-mail", secretHash: clientSecretHash(SECRET), name: "정부메일", redirectUris: [REDIRECT], use: "mail-login", claims: ["name", "organisation"] },
        // A public client (PKCE only) of a local government's business system: only LOCAL_GOV's servants log in.
        { clientId: "seoul-biz", name: "서울시 업무시스템", redirectUris: [BIZ_REDIRECT], use: "business-system-login", claims: ["name"], allowedAgencyCodes: [LOCAL_GOV] },
      ],
    });
    dataDir = mkdtempSync(path.join(tmpdir(), "mcid-adversarial-login-"));
    let base = "";
    const built = await buildLoginService({ config, provider: w.provider, chainId: w.chainId, deployment: w.ledger.deployment, dataDir, issuer: () => base, logLevel: "silent", now: () => w.now() });
    app = built.app;
    await app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    issuer = base;
  });
  after(async function () {
    await app?.close();
    await w?.cleanup();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    setGlobalConfig({ allowInsecureUrls: false });
  });

  function authorizeUrl(params: Record<string, string>): string {
    return `${issuer}/authorize?${new URLSearchParams({ response_type: "code", scope: "openid", state: "st", nonce: "nn", ...params }).toString()}`;
  }

  /** The browser starts a login; answers its cookie, PKCE verifier and the wallet link. */
  async function startLogin(clientId = "gov-mail", redirectUri = REDIRECT) {
    const verifier = randomBytes(32).toString("base64url");
    const page = await fetch(authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, code_challenge: s256(verifier), code_challenge_method: "S256" }), { redirect: "manual" });
    expect(page.status).to.equal(200);
    const cookie = page.headers.get("set-cookie")!.split(";")[0]!;
    const link = /id="wallet" href="([^"]+)"/.exec(await page.text())![1]!.replace(/&#38;/g, "&");
    return { verifier, cookie, link };
  }

  /** The phone answers the login's request; answers the verifier's HTTP response. */
  async function walletAnswers(link: string, holder: Wallet | HDNodeWallet, credential: string) {
    const checked = await checkPresentationRequest({ authorizationRequest: link, directory: w.directory, chainId: w.chainId });
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

  /** A whole login up to the redirect back to the client: the Location's parameters and the PKCE verifier. */
  async function loginToClient(holder: Wallet | HDNodeWallet, credential: string, clientId = "gov-mail", redirectUri = REDIRECT) {
    const login = await startLogin(clientId, redirectUri);
    const answered = await walletAnswers(login.link, holder, credential);
    expect(answered.status, await answered.clone().text()).to.equal(200);
    const { redirect_uri: back } = (await answered.json()) as { redirect_uri: string };
    const callback = await fetch(back, { redirect: "manual", headers: { cookie: login.cookie } });
    expect(callback.status).to.equal(303);
    const location = new URL(callback.headers.get("location")!);
    return { location, verifier: login.verifier };
  }

  async function token(form: Record<string, string>, authorization: string | null = basic("gov-mail", SECRET)) {
    const res = await fetch(`${issuer}/token`, {
      method: "POST", headers: { ...FORM, ...(authorization === null ? {} : { authorization }) }, body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  async function userinfo(accessToken: string) {
    return (await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
  }

  async function holderWithCredential(tag: string) {
    const holder = Wallet.createRandom();
    const issued = await w.issue(holder, `person-${tag}-${holder.address}`);
    return { holder, ...issued };
  }

  it("never redirects to a look-alike of the registered redirect_uri (400, no Location)", async () => {
    const lookAlikes = [
      `${REDIRECT}/`, `${REDIRECT}?next=https://evil.example`, `${REDIRECT}#x`, "HTTP://127.0.0.1:9/mail/callback", "http://127.0.0.1:9/mail/Callback",
      "http://127.0.0.1:9/mail/callback/../../evil", "http://127.0.0.1:9@evil.example/mail/callback", "http://127.0.0.1:9/mail/callbackx",
      "http://127.0.0.1:9/mail/%63allback", "http://127.0.0.1:9/mail/callback%00", " http://127.0.0.1:9/mail/callback", "http://127.0.0.1:09/mail/callback",
      BIZ_REDIRECT, // another client's URI
    ];
    for (const redirectUri of lookAlikes) {
      const res = await fetch(authorizeUrl({ client_id: "gov-mail", redirect_uri: redirectUri, code_challenge: s256("v".repeat(43)), code_challenge_method: "S256" }), { redirect: "manual" });
      expect(res.status, redirectUri).to.equal(400);
      expect(res.headers.get("location"), redirectUri).to.equal(null);
      expect(((await res.json()) as { error: string }).error).to.equal("invalid_request");
    }
  });

  it("refuses a PKCE downgrade (plain, no method, no challenge) by redirecting with invalid_request, and a malformed challenge with 400", async () => {
    const challenge = "v".repeat(43);
    const downgrades: Record<string, string>[] = [{ code_challenge: challenge, code_challenge_method: "plain" }, { code_challenge: challenge }, { code_challenge_method: "S256" }, {}];
    for (const params of downgrades) {
      const res = await fetch(authorizeUrl({ client_id: "gov-mail", redirect_uri: REDIRECT, ...params }), { redirect: "manual" });
      expect(res.status, JSON.stringify(params)).to.equal(303);
      const location = new URL(res.headers.get("location")!);
      expect(location.origin + location.pathname).to.equal(REDIRECT);
      expect(Object.fromEntries(location.searchParams)).to.deep.include({ error: "invalid_request", state: "st", iss: issuer });
    }
    const short = await fetch(authorizeUrl({ client_id: "gov-mail", redirect_uri: REDIRECT, code_challenge: "v".repeat(42), code_challenge_method: "S256" }), { redirect: "manual" });
    expect(short.status).to.equal(400);
  });

  it("a replayed code is refused and ends the access token it bought (RFC 6749 §4.1.2)", async () => {
    const { holder, jwt } = await holderWithCredential("replay");
    const { location, verifier } = await loginToClient(holder, jwt);
    const form = { grant_type: "authorization_code", code: location.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier };
    const first = await token(form);
    expect(first.status).to.equal(200);
    expect(await userinfo(first.body.access_token!)).to.equal(200);
    const replay = await token(form);
    expect(replay).to.deep.include({ status: 400 });
    expect(replay.body.error).to.equal("invalid_grant");
    expect(await userinfo(first.body.access_token!), "the access token of a replayed code is revoked").to.equal(401);
    // A third attempt changes nothing and still refuses.
    expect((await token(form)).body.error).to.equal("invalid_grant");
  });

  it("a code is bound to its client, its redirect_uri and its PKCE verifier (invalid_grant each)", async () => {
    const { holder, jwt } = await holderWithCredential("binding");
    for (const [what, change] of [
      ["another (public) client", { authorization: null, extra: { client_id: "seoul-biz" } }],
      ["another redirect_uri", { authorization: basic("gov-mail", SECRET), extra: { redirect_uri: `${REDIRECT}/` } }],
      ["another PKCE verifier", { authorization: basic("gov-mail", SECRET), extra: { code_verifier: randomBytes(32).toString("base64url") } }],
    ] as const) {
      const { location, verifier } = await loginToClient(holder, jwt);
      const form = { grant_type: "authorization_code", code: location.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier, ...change.extra };
      const res = await token(form, change.authorization);
      expect(res.status, what).to.equal(400);
      expect(res.body.error, what).to.equal("invalid_grant");
    }
  });

  it("the ID token's audience is the client, signed ES256 with the provider's published key; the public client needs no secret but PKCE", async () => {
    const { holder, jwt } = await holderWithCredential("audience");
    const { location, verifier } = await loginToClient(holder, jwt);
    const res = await token({ grant_type: "authorization_code", code: location.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(res.status).to.equal(200);
    const [header, payload] = res.body.id_token!.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>);
    expect(header!.alg).to.equal("ES256");
    expect(payload).to.deep.include({ iss: issuer, aud: "gov-mail", nonce: "nn" });
    expect(payload).to.not.have.any.keys("employee_ref", "department", "agency_code");
  });

  it("undecodable Basic credentials are a failed client authentication (401 invalid_client), never a server error", async () => {
    for (const authorization of [
      `Basic ${Buffer.from("%ZZ:secret").toString("base64")}`, `Basic ${Buffer.from("gov-mail:%E0%A4%A").toString("base64")}`,
      `Basic ${Buffer.from("gov-mail").toString("base64")}`, basic("gov-mail", `${SECRET}x`), basic("gov-mail", SECRET.slice(0, 10)), "Basic !!!",
    ]) {
      const res = await token({ grant_type: "authorization_code", code: "c", redirect_uri: REDIRECT, code_verifier: "v".repeat(43) }, authorization);
      expect(res.status, authorization).to.equal(401);
      expect(res.body.error, authorization).to.equal("invalid_client");
    }
    // Form-urlencoded per RFC 6749 §2.3.1: an encoded id and secret are decoded (then the unknown code: invalid_grant).
    const res = await token({ grant_type: "authorization_code", code: "c", redirect_uri: REDIRECT, code_verifier: "v".repeat(43) }, `Basic ${Buffer.from(`gov%2Dmail:${SECRET.replace(/-/g, "%2D")}`).toString("base64")}`);
    expect(res).to.deep.include({ status: 400 });
    expect(res.body.error).to.equal("invalid_grant");
  });

  it("a client that admits only one organisation turns away another's servant with access_denied, and issues no code", async () => {
    const { holder, jwt } = await holderWithCredential("other-org"); // the world's issuer is the central agency's
    const { location } = await loginToClient(holder, jwt, "seoul-biz", BIZ_REDIRECT);
    expect(location.origin + location.pathname).to.equal(BIZ_REDIRECT);
    expect(location.searchParams.get("error")).to.equal("access_denied");
    expect(location.searchParams.get("code")).to.equal(null);
  });

  it("a login in flight whose client was removed from the configuration by a restart is refused (400 invalid_client), never a server error", async () => {
    const { holder, jwt } = await holderWithCredential("removed-client");
    const login = await startLogin();
    const answered = await walletAnswers(login.link, holder, jwt);
    expect(answered.status, await answered.clone().text()).to.equal(200);
    const { redirect_uri: back } = (await answered.json()) as { redirect_uri: string };
    // The same data directory, restarted with a configuration that no longer lists gov-mail.
    const { key } = await w.listVerifier("정부 로그인 (재시작)", ["business-system-login"]);
    const config = loginConfigSchema.parse({
      verifierKey: key.privateKey, idTokenKeyPem: generateIdTokenKeyPem(), logLevel: "silent",
      clients: [{ clientId: "seoul-biz", name: "서울시 업무시스템", redirectUris: [BIZ_REDIRECT], use: "business-system-login", claims: ["name"] }],
    });
    const restarted = await buildLoginService({ config, provider: w.provider, chainId: w.chainId, deployment: w.ledger.deployment, dataDir, issuer: () => issuer, logLevel: "silent", now: () => w.now() });
    try {
      const callback = new URL(back);
      const res = await restarted.app.inject({ method: "GET", url: `${callback.pathname}${callback.search}`, headers: { cookie: login.cookie } });
      expect(res.statusCode, res.body).to.equal(400);
      expect(res.headers.location).to.equal(undefined);
      expect((res.json() as { error: string }).error).to.equal("invalid_client");
    } finally {
      await restarted.app.close();
    }
  });

  it("a superseded credential (the holder was reissued) cannot log in: the wallet's answer is refused CREDENTIAL_SUPERSEDED", async () => {
    const holder = Wallet.createRandom();
    const person = `person-superseded-${holder.address}`;
    const old = await w.issue(holder, person);
    await w.issue(Wallet.createRandom(), person); // reissue to the new phone supersedes the old credential
    const login = await startLogin();
    const answered = await walletAnswers(login.link, holder, old.jwt);
    expect(answered.status).to.equal(400);
    expect(((await answered.json()) as { reasons: string[] }).reasons).to.deep.equal(["CREDENTIAL_SUPERSEDED"]);
  });
});
