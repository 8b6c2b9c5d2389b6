import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { E_SARAM_FORMAT } from "../../../sdk/issuer/hr-import.js";
import { connectLedger } from "../../../sdk/chain/contracts.js";
import { StatusClient } from "../../../sdk/status/client.js";
import { normaliseEnrolmentCode, relyingPartyFor } from "../../../services/issuer/passkeys.js";
import { startServe } from "../../../services/serve.js";
import { recheckIdentity } from "../services/issuer/harness.js";
import { newDevice } from "../services/issuer/proofs.js";
import {
  addVirtualAuthenticator, approve, enrol, enrolAndSignIn, invite, launchChromium, officerPage, openRequest, reportLost, revoke, screenshot, sessionFetch, signIn, signInAsDemoRole,
  startOfficerWorld, unlock, verifyIdentity, type OfficerWorld, type VirtualAuthenticator,
} from "./officer-driver.js";

const AGENCY = 1741000;

/** The slice of the browser's WebAuthn API the tests call inside the page (the test files have no DOM types). */
interface WebAuthnNavigator {
  credentials: { get(options: unknown): Promise<{ toJSON(): unknown }>; create(options: unknown): Promise<unknown> };
}
const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const PERSON_ID = "8203031234567";

function hrExport(requestId: string, personId: string, employeeRef: string): string {
  return JSON.stringify({
    format: E_SARAM_FORMAT, exportedAt: new Date().toISOString(),
    requests: [{ requestId, personId, name: "김민원", agencyCode: String(AGENCY), organisationName: "행정안전부", department: "디지털정부국", position: "주무관", employeeRef, mobile: "010-5555-6666", requestKind: "new", requestedAt: new Date().toISOString() }],
  });
}

describe("web/officer: the issuing-officer console in Chromium (passkeys, roles, chain actions)", function () {
  this.timeout(180_000);
  let world: OfficerWorld;
  let browser: Browser;
  const officers: Record<"admin" | "hr" | "approver" | "helpDesk", { context: BrowserContext; page: Page }> = {} as never;
  let requestId: string;
  let credentialId: string;
  let adminAuthenticator: VirtualAuthenticator;

  const bearer = (role: keyof OfficerWorld["tokens"]) => ({ authorization: `Bearer ${world.tokens[role]}` });
  const outboxCode = async (id: string, purpose: string, pattern: RegExp) => {
    const res = await world.issuer.app.inject({ method: "GET", url: `/staff/sms/undelivered?agency=${AGENCY}`, headers: bearer("admin") });
    const body = res.json<{ messages: { requestId: string; purpose: string; body: string }[] }>().messages.filter((m) => m.requestId === id && m.purpose === purpose).at(-1)!.body;
    return pattern.exec(body)![1]!;
  };
  const status = () => new StatusClient(connectLedger(world.chain.deployment, world.chain.provider).statusRegistry);

  /** The service's clock runs ahead of the wall clock by this much (session and enrolment expiry). */
  let ahead = 0;

  before(async () => {
    world = await startOfficerWorld({ clock: () => Date.now() + ahead });
    browser = await launchChromium();
    for (const key of ["admin", "hr", "approver", "helpDesk"] as const) officers[key] = await officerPage(browser);
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });

  it("enrols a passkey with a one-time code and signs in by passkey: HttpOnly SameSite=Strict session, the code spent", async () => {
    const { page, context } = officers.admin;
    const authenticator = (adminAuthenticator = await addVirtualAuthenticator(page));
    const { code } = await world.issuer.officer.passkeys.issueEnrolmentCode("t-admin", "test:bootstrap");
    await page.goto(world.consoleUrl);
    await page.locator("#signin").waitFor();
    await screenshot(page, "officer-signin");
    await enrol(page, world.consoleUrl, code);
    expect(await authenticator.credentials()).to.have.length(1);
    await signIn(page, world.consoleUrl);
    await page.locator("#queue, #queue-empty").first().waitFor();
    expect(await page.locator("#who").textContent()).to.contain("t-admin");

    const cookie = (await context.cookies()).find((c) => c.name === "mcid_staff")!;
    expect(cookie, "session cookie").to.not.equal(undefined);
    expect(cookie).to.include({ httpOnly: true, sameSite: "Strict", path: "/" });
    const session = await sessionFetch(page, "GET", "/staff/session");
    expect(session.body).to.deep.include({ via: "passkey" });
    expect((session.body.member as { id: string }).id).to.equal("t-admin");

    // The code is spent: enrolling with it again is refused by the API.
    const again = await world.issuer.app.inject({ method: "POST", url: "/staff/passkeys/register/options", payload: { code } });
    expect(again.statusCode).to.equal(401);
  });

  it("an administrator issues enrolment codes in the console; each officer enrols and signs in on their own device", async () => {
    const { page } = officers.admin;
    await page.locator('nav [data-view="staff"]').click();
    await page.locator('tr[data-member="t-approver"] button').click();
    const code = (await page.locator("#issued-code").textContent())!;
    expect(code).to.match(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    await screenshot(page, "officer-staff");
    await addVirtualAuthenticator(officers.approver.page);
    await enrol(officers.approver.page, world.consoleUrl, code);
    await signIn(officers.approver.page, world.consoleUrl);
    await enrolAndSignIn(officers.hr.page, world, "t-hr-officer");
    await enrolAndSignIn(officers.helpDesk.page, world, "t-help-desk");
    // A session is not a bearer token: the API refuses a made-up cookie.
    const forged = await world.issuer.app.inject({ method: "GET", url: "/staff/requests", headers: { cookie: `mcid_staff=${"A".repeat(43)}` } });
    expect(forged.statusCode).to.equal(401);
  });

  it("HR imports a request; the department head approves it in the console", async () => {
    const { page } = officers.hr;
    await page.locator('nav [data-view="import"]').click();
    await page.locator("#import-content").fill(hrExport("ES-OFFICER-0001", PERSON_ID, "MOIS-7001"));
    await page.locator("#import-form button[type=submit]").click();
    await page.locator("#import-report dd").first().waitFor();
    requestId = (await page.locator("#import-report dd").first().textContent())!.trim();
    expect(requestId).to.equal("e-saram:ES-OFFICER-0001");

    await approve(officers.approver.page, AGENCY, requestId);
    await screenshot(officers.approver.page, "officer-approved");
    const record = await world.issuer.app.inject({ method: "GET", url: `/staff/requests/${AGENCY}/${requestId}`, headers: bearer("help-desk") });
    expect(record.json()).to.include({ state: "approved", approver: "staff:t-approver" });
  });

  it("HR verifies the applicant's identity and sends the invitation; the SMS outbox shows it redacted; the phone collects the credential", async () => {
    const { page } = officers.hr;
    await verifyIdentity(page, AGENCY, requestId, () => outboxCode(requestId, "identity-code", /([0-9]{6})/), { name: "김민원", employeeRef: "MOIS-7001" });
    await invite(page, AGENCY, requestId);
    await page.locator('#sms tr[data-sms="invitation"]').waitFor();
    expect(await page.locator('#sms tr[data-sms="invitation"]').textContent()).to.contain("REDACTED");
    await screenshot(page, "officer-invited");

    // The holder's phone (OpenID4VCI over the service, as a wallet does it).
    const invitation = await outboxCode(requestId, "invitation", /(https?:\/\/\S+)/);
    const txCode = await outboxCode(requestId, "invitation", /활성화 코드 ([0-9]+)/);
    const url = new URL(invitation);
    const h = { issuer: world.issuer } as unknown as Parameters<typeof recheckIdentity>[0];
    await recheckIdentity(h, AGENCY, requestId, url.searchParams.get("token")!, { name: "김민원", employeeRef: "MOIS-7001" });
    const offer = (await world.issuer.app.inject({ method: "GET", url: url.pathname + url.search })).json<{ grants: Record<string, { "pre-authorized_code": string }> }>();
    const token = await world.issuer.app.inject({ method: "POST", url: "/token", headers: { "content-type": "application/x-www-form-urlencoded" }, payload: new URLSearchParams({ grant_type: PRE_AUTH, "pre-authorized_code": offer.grants[PRE_AUTH]!["pre-authorized_code"], tx_code: txCode }).toString() });
    const nonce = (await world.issuer.app.inject({ method: "POST", url: "/nonce" })).json<{ c_nonce: string }>().c_nonce;
    const issued = await world.issuer.app.inject({ method: "POST", url: "/credential", headers: { authorization: `Bearer ${token.json<{ access_token: string }>().access_token}` }, payload: { credential_configuration_id: "CivilServantIdCredential", proofs: { jwt: [newDevice().proof({ nonce, aud: world.baseUrl })] } } });
    expect(issued.statusCode, issued.body).to.equal(200);
    credentialId = (await world.issuer.app.inject({ method: "GET", url: `/staff/requests/${AGENCY}/${requestId}`, headers: bearer("help-desk") })).json<{ credentialId: string }>().credentialId;
    expect((await status().status(BigInt(credentialId))).stateName).to.equal("active");
  });

  it("the help desk reports the phone lost: locked on chain at once, in the block the console shows", async () => {
    const { page } = officers.helpDesk;
    const locked = await reportLost(page, AGENCY, requestId);
    await screenshot(page, "officer-locked");
    const receipt = await world.chain.provider.getTransactionReceipt(locked.txHash);
    expect(receipt!.blockNumber).to.equal(locked.blockNumber);
    const onChain = await status().status(BigInt(credentialId));
    expect(onChain.stateName).to.equal("locked");
    expect(onChain.reason).to.equal("LOST_DEVICE");
  });

  it("roles are the API's: the help desk's session may not unlock or approve, even calling the API directly; changes need the CSRF token and the console's origin", async () => {
    const { page } = officers.helpDesk;
    // The help desk sees the unlock form (the page does not decide permissions) and the API refuses it.
    await openRequest(page, AGENCY, requestId);
    await page.locator("#unlock-button").click();
    await page.locator("#notice.error").waitFor();
    expect(await page.locator("#notice").textContent()).to.contain("403");

    const imported = await world.issuer.app.inject({ method: "POST", url: `/staff/requests/${AGENCY}/import`, headers: bearer("hr-officer"), payload: { source: "e-saram", content: hrExport("ES-OFFICER-0002", "9001011234568", "MOIS-7002") } });
    const second = imported.json<{ created: string[] }>().created[0]!;
    const refused = await sessionFetch(page, "POST", `/staff/requests/${AGENCY}/${second}/approve`);
    expect(refused.status).to.equal(403);
    expect(refused.body.error).to.equal("insufficient_scope");
    const noCsrf = await sessionFetch(officers.approver.page, "POST", `/staff/requests/${AGENCY}/${second}/approve`, undefined, { csrf: false });
    expect(noCsrf.status).to.equal(403);
    // The approver's own cookie and CSRF token, sent from another origin: refused.
    const csrf = (await sessionFetch(officers.approver.page, "GET", "/staff/session")).body.csrfToken as string;
    const cookie = (await officers.approver.context.cookies()).find((c) => c.name === "mcid_staff")!.value;
    const foreign = await world.issuer.app.inject({ method: "POST", url: `/staff/requests/${AGENCY}/${second}/approve`, headers: { cookie: `mcid_staff=${cookie}`, origin: "https://evil.example", "x-csrf-token": csrf } });
    expect(foreign.statusCode).to.equal(403);
    const still = await world.issuer.app.inject({ method: "GET", url: `/staff/requests/${AGENCY}/${second}`, headers: bearer("admin") });
    expect(still.json()).to.include({ state: "requested" });
    expect((await status().status(BigInt(credentialId))).stateName).to.equal("locked");
  });

  it("the administrator unlocks (phone found), HR files a reissue, the administrator revokes with a reason; the audit trail shows every step by whom", async () => {
    const admin = officers.admin.page;
    const unlocked = await unlock(admin, AGENCY, requestId, "found-device");
    expect((await world.chain.provider.getTransactionReceipt(unlocked.txHash))!.blockNumber).to.equal(unlocked.blockNumber);
    expect((await status().status(BigInt(credentialId))).stateName).to.equal("active");

    const hr = officers.hr.page;
    await openRequest(hr, AGENCY, requestId);
    await hr.locator("#reissue-reason").selectOption("device-replaced");
    await hr.locator("#reissue-hr-id").fill("ES-OFFICER-0001R");
    await hr.locator("#reissue-person").fill("9999999999999");
    await hr.locator("#reissue-button").click();
    await hr.locator("#notice.error").waitFor(); // not the holder's resident number
    await hr.locator("#reissue-person").fill(PERSON_ID);
    await hr.locator("#reissue-button").click();
    await hr.locator("#notice.ok").waitFor();
    expect(await hr.locator("#notice").textContent()).to.contain("e-saram:ES-OFFICER-0001R");
    const reissue = await world.issuer.app.inject({ method: "GET", url: `/staff/requests/${AGENCY}/${encodeURIComponent("e-saram:ES-OFFICER-0001R")}`, headers: bearer("admin") });
    expect(reissue.json()).to.include({ kind: "reissue", reissueReason: "device-replaced", state: "requested" });

    const revoked = await revoke(admin, AGENCY, requestId, "left-service", "퇴직");
    expect((await world.chain.provider.getTransactionReceipt(revoked.txHash))!.blockNumber).to.equal(revoked.blockNumber);
    const onChain = await status().status(BigInt(credentialId));
    expect(onChain).to.include({ stateName: "revoked", reason: "LEFT_SERVICE" });
    await screenshot(admin, "officer-revoked");

    const rows = await admin.locator("#audit tbody tr").evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute("data-action")}:${tr.getAttribute("data-actor")}`));
    expect(rows).to.include.members([
      "import:staff:t-hr-officer", "approve:staff:t-approver", "verify-identity:staff:t-hr-officer", "invite:staff:t-hr-officer",
      "credential-lock:staff:t-help-desk", "credential-unlock:staff:t-admin", "reissue-requested:staff:t-hr-officer", "credential-revoke:staff:t-admin",
    ]);
    expect(rows.indexOf("credential-lock:staff:t-help-desk")).to.be.lessThan(rows.indexOf("credential-unlock:staff:t-admin"));
  });

  it("shows the organisation: accreditation, issuer key and status operators as the chain has them; English on request", async () => {
    const { page } = officers.helpDesk;
    await page.locator('nav [data-view="org"]').click();
    const card = page.locator(`[data-organisation="${AGENCY}"]`);
    await card.waitFor();
    expect(await card.locator('[data-state="active"]').count()).to.be.greaterThan(0);
    expect(await card.locator('tr[data-operator="help-desk"]').textContent()).to.match(/잠금 전용/);
    expect(await card.locator('tr[data-operator="status-officer"]').textContent()).to.match(/등록·상태 관리/);
    await screenshot(page, "officer-organisation");
    await page.locator("#lang").click();
    await page.locator("h1", { hasText: "issuing console" }).waitFor();
    expect(await page.locator("html").getAttribute("lang")).to.equal("en");
    await card.locator('tr[data-operator="help-desk"]', { hasText: "lock only" }).waitFor(); // the view re-renders in English
    await page.locator("#lang").click();
    await page.locator("h1", { hasText: "발급 관리" }).waitFor();
  });

  it("refuses a replayed assertion and a passkey that was never enrolled", async () => {
    const assert = (page: Page, challengeFromServer: boolean) =>
      page.evaluate(async (fromServer) => {
        // No named helpers in here: the test transpiler would wrap them in a function the page does not have.
        let challenge = crypto.getRandomValues(new Uint8Array(32));
        if (fromServer) {
          const options = (await (await fetch("/staff/session/options", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json()) as { challenge: string };
          const b64 = options.challenge.replace(/-/g, "+").replace(/_/g, "/");
          challenge = Uint8Array.from(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
        }
        const credential = await (navigator as unknown as WebAuthnNavigator).credentials.get({ publicKey: { challenge, rpId: "localhost", userVerification: "required" } });
        return credential.toJSON();
      }, challengeFromServer);
    const post = (page: Page, response: unknown) => sessionFetch(page, "POST", "/staff/session", { response }, { csrf: false });

    const { page } = officers.helpDesk;
    const assertion = await assert(page, true);
    expect((await post(page, assertion)).status).to.equal(200);
    const replay = await post(page, assertion);
    expect(replay.status).to.equal(401);
    expect(String(replay.body.error_description)).to.contain("used");
    const selfMade = await post(page, await assert(page, false));
    expect(selfMade.status).to.equal(401);

    // A passkey of this relying party that no administrator enrolled (created on another device).
    const stranger = await officerPage(browser);
    try {
      await addVirtualAuthenticator(stranger.page);
      await stranger.page.goto(world.consoleUrl);
      await stranger.page.locator("#signin").waitFor();
      await stranger.page.evaluate(async () => {
        await (navigator as unknown as WebAuthnNavigator).credentials.create({
          publicKey: {
            challenge: crypto.getRandomValues(new Uint8Array(32)), rp: { id: "localhost", name: "elsewhere" },
            user: { id: crypto.getRandomValues(new Uint8Array(16)), name: "intruder", displayName: "intruder" },
            pubKeyCredParams: [{ type: "public-key", alg: -7 }], authenticatorSelection: { residentKey: "required", userVerification: "required" },
          },
        });
      });
      const foreign = await post(stranger.page, await assert(stranger.page, true));
      expect(foreign.status).to.equal(401);
      expect(String(foreign.body.error_description)).to.contain("not enrolled");
      await stranger.page.locator("#signin").click();
      await stranger.page.locator("#notice.error").waitFor();
      expect(await stranger.page.locator("#nav").isHidden()).to.equal(true);
    } finally {
      await stranger.context.close();
    }
  });

  it("signing out ends the session on the server", async () => {
    const { page, context } = officers.approver;
    const cookie = (await context.cookies()).find((c) => c.name === "mcid_staff")!.value;
    await page.locator("#signout").click();
    await page.locator("#signin").waitFor();
    expect((await context.cookies()).find((c) => c.name === "mcid_staff")).to.equal(undefined);
    const old = await world.issuer.app.inject({ method: "GET", url: "/staff/requests", headers: { cookie: `mcid_staff=${cookie}` } });
    expect(old.statusCode).to.equal(401);
  });

  it("ends an idle session after 15 minutes (the console asks to sign in again) and refuses an enrolment code after a day", async () => {
    const { page } = officers.hr;
    expect((await sessionFetch(page, "GET", "/staff/session")).status).to.equal(200);
    const { code } = await world.issuer.officer.passkeys.issueEnrolmentCode("t-approver", "test:admin");
    ahead = 16 * 60_000;
    expect((await sessionFetch(page, "GET", "/staff/requests")).status).to.equal(401);
    await page.locator("#refresh").click();
    await page.locator("#signin").waitFor();
    expect(await page.locator("#notice").textContent()).to.equal("로그인이 만료되었습니다. 다시 로그인하세요.");
    await signIn(page, world.consoleUrl); // the passkey still works: a fresh session
    ahead = 25 * 3600_000;
    const late = await world.issuer.app.inject({ method: "POST", url: "/staff/passkeys/register/options", payload: { code } });
    expect(late.statusCode).to.equal(401);
    ahead = 0;
  });

  it("an officer adds a passkey for a new device without a code and removes a lost one: its sessions end and it signs in no more", async () => {
    const { page } = officers.admin;
    await page.goto(world.consoleUrl); // the idle session of the test above has ended
    await signIn(page, world.consoleUrl);
    // This device keeps only the passkey it is about to make; the old one stays on the lost device.
    const [onDevice] = await adminAuthenticator.credentials();
    await adminAuthenticator.cdp.send("WebAuthn.removeCredential", { authenticatorId: adminAuthenticator.authenticatorId, credentialId: onDevice!.credentialId });
    const [old] = (await sessionFetch(page, "GET", "/staff/passkeys")).body.passkeys as { credentialId: string }[];
    await page.locator('nav [data-view="passkeys"]').click();
    await page.locator(`tr[data-passkey="${old!.credentialId}"]`).waitFor();
    await page.locator("#add-passkey").click();
    await page.locator("#passkeys tbody tr").nth(1).waitFor();
    const [created] = await adminAuthenticator.credentials();
    expect(created, "a credential on the new device").to.not.equal(undefined);
    // The old device is lost: remove its passkey (the current session is the old passkey's, so it ends too).
    await page.locator(`tr[data-passkey="${old!.credentialId}"] button`).click();
    await page.locator("#signin").waitFor();
    expect(await page.locator("#notice").textContent()).to.equal("로그인이 만료되었습니다. 다시 로그인하세요.");
    const passkeys = (await world.issuer.app.inject({ method: "GET", url: "/staff/passkeys", headers: bearer("admin") })).json<{ passkeys: { credentialId: string }[] }>().passkeys;
    expect(passkeys.map((p) => p.credentialId)).to.deep.equal([created!.credentialId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")]);
    await signIn(page, world.consoleUrl); // with the new device's passkey
    expect(await page.locator("#who").textContent()).to.contain("t-admin");
  });
  it("keeps the console's own routes to their roles and refuses malformed sign-in input (API, no page)", async () => {
    const call = (method: "GET" | "POST", url: string, role: keyof OfficerWorld["tokens"] | undefined, payload?: Record<string, unknown>) =>
      world.issuer.app.inject({ method, url, ...(role === undefined ? {} : { headers: bearer(role) }), ...(payload === undefined ? {} : { payload }) });
    for (const role of ["hr-officer", "approver", "help-desk"] as const) {
      expect((await call("POST", "/staff/enrolments", role, { staffId: "t-admin" })).statusCode, role).to.equal(403);
      expect((await call("GET", "/staff/members", role)).statusCode, role).to.equal(403);
      expect((await call("GET", "/staff/passkeys?staffId=t-admin", role)).statusCode, role).to.equal(403);
    }
    expect((await call("POST", `/staff/requests/${AGENCY}/${encodeURIComponent(requestId)}/reissue`, "help-desk", { reason: "lost-device", hrRequestId: "ES-X-1", personId: PERSON_ID })).statusCode).to.equal(403);
    expect((await call("POST", "/staff/enrolments", "admin", { staffId: "nobody" })).statusCode).to.equal(404);
    expect((await call("GET", "/staff/organisations", undefined)).statusCode).to.equal(401);
    expect((await call("POST", "/staff/passkeys/register/options", undefined, { code: "AAAAA-AAAAA-AAAAA-AAAAA" })).statusCode).to.equal(401);
    expect((await call("POST", "/staff/passkeys/register/options", undefined, {})).statusCode).to.equal(401); // no code, not signed in
    const garbage = await call("POST", "/staff/session", undefined, { response: { id: "A".repeat(22), rawId: "A".repeat(22), type: "public-key", response: { clientDataJSON: "bm90IGpzb24" }, clientExtensionResults: {} } });
    expect(garbage.statusCode).to.equal(400);
    expect(relyingPartyFor("http://127.0.0.1:4010")).to.deep.equal({ id: "localhost", name: "mobile-civil-id issuing console", origins: ["http://localhost:4010"], secure: false });
    expect(relyingPartyFor("https://issuer.mois.go.kr")).to.include({ id: "issuer.mois.go.kr", secure: true }).and.have.deep.property("origins", ["https://issuer.mois.go.kr"]);
    expect(normaliseEnrolmentCode(" abcd0-efghj-kmnpq-rstvw ")).to.equal("ABCD0-EFGHJ-KMNPQ-RSTVW");
    expect(normaliseEnrolmentCode("0O1IL")).to.equal("00111");
    const crossSite = await world.issuer.app.inject({ method: "POST", url: "/staff/session/options", headers: { origin: "https://evil.example" }, payload: {} });
    expect(crossSite.statusCode).to.equal(403);
    const members = (await call("GET", "/staff/members", "admin")).json<{ members: { id: string; passkeys: number }[] }>().members;
    expect(members.find((m) => m.id === "t-help-desk")!.passkeys).to.equal(1);
    // The bearer token and a passkey session are the same member: the admin lists its own passkey.
    expect((await call("GET", "/staff/passkeys", "admin")).json<{ passkeys: unknown[] }>().passkeys).to.have.length(1);
  });
});

describe("npm run serve --demo: the officer console for a newcomer", function () {
  this.timeout(180_000);
  let served: Awaited<ReturnType<typeof startServe>> | undefined;
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    await served?.close();
  });

  it("prints the console URL under `officer` and an enrolment link per demo role that signs the newcomer in by passkey", async () => {
    served = await startServe({ demo: true, only: ["issuer"], env: {}, logLevel: "error" });
    const officer = served.ready.officer as string;
    expect(officer).to.match(/^http:\/\/localhost:[0-9]+\/officer\/$/);
    const enrolment = (served.ready.demo as { officerEnrolment: Record<string, { staffId: string; code: string; link: string }> }).officerEnrolment;
    expect(Object.keys(enrolment)).to.have.members(["hr-officer", "approver", "help-desk", "admin"]);
    const helpDesk = enrolment["help-desk"]!;
    expect(helpDesk.link).to.equal(`${officer}#enrol=${helpDesk.code}`);

    browser = await launchChromium();
    const { page } = await officerPage(browser);
    await addVirtualAuthenticator(page);
    await page.goto(helpDesk.link);
    expect(await page.locator("#enrol-code").inputValue()).to.equal(helpDesk.code);
    await page.locator("#enrol").click();
    await page.locator("#notice.ok").waitFor();
    expect(page.url()).to.equal(officer); // the spent code leaves the address bar
    await signIn(page, officer);
    expect(await page.locator("#who").textContent()).to.contain("demo-help-desk");
    // The demo request seeded by serve is in the queue.
    const requestId = (served.ready.demo as { requestId: string }).requestId;
    await page.locator(`tr[data-request$="/${requestId}"]`).waitFor();

    // The whole-life suite's shortcut: another role of the same run, from the ready line alone.
    const second = await officerPage(browser);
    expect(await signInAsDemoRole(second.page, served.ready, "approver")).to.equal(officer);
    expect(await second.page.locator("#who").textContent()).to.contain("demo-approver");
  });
});
