/**
 * The whole life of one mobile civil-servant ID, in real browsers (docs/WEB.md, "Whole life"): `serve --demo` in
 * this process (embedded chain, issuer with the officer console, verifier with the gate kiosk, wallet service).
 * Browsers: one Chromium with a context per officer (department head, HR officer, help desk: each signed in by
 * passkey from the demo's enrolment links) and for the 1080p gate kiosk; two phone profiles (the first phone, and
 * the replacement after it was lost). Only the HR system's sync and the SMS carrier are machines on HTTP: the HR
 * export is posted to the staff API, and the SMS outbox is read as the carrier integration reads it.
 *
 * officer approves → SMS link → the PWA activates and collects → the gate shows green → the help desk reports the
 * phone lost → the gate shows red from the next block → reissue on the second phone → the first phone is refused
 * as superseded.
 */
import { expect } from "chai";
import { setGlobalConfig } from "@openid4vc/utils";
import { startServe, type ServeHandle } from "../../../services/serve.js";
import { openProfile, type BrowserProfile } from "../helpers/browser.js";
import { currentQr, verdictOf } from "./gate-driver.js";
import type { Browser, Page } from "playwright-core";
import { OfficerDesk } from "./officer-desk.js";
import { approve, invite, launchChromium, officerPage, openRequest, reportLost, screenshot, signInAsDemoRole, verifyIdentity } from "./officer-driver.js";
import { activate, present, shownClaims } from "./wallet-driver.js";

const PIN_A = "740163";
const PIN_B = "385027";
const PERSON = { personId: "850505-2345678", name: "김민원", employeeRef: "E-20260077", mobile: "010-2222-3333", department: "디지털정부국", position: "행정주사" };

interface Demo {
  agencyCode: number;
  requestId: string;
  staffTokens: Record<string, string>;
}

describe("whole life of a mobile ID in real browsers: approval → activation → gate → lost → reissue → superseded", function () {
  this.timeout(300_000);
  let serve: ServeHandle;
  let desk: OfficerDesk;
  let walletUrl: string;
  let gateUrl: string;
  let browser: Browser;
  let kiosk: Page;
  const officers: Record<"approver" | "hr-officer" | "help-desk", Page> = {} as never;
  let agency: number;
  let phoneA: BrowserProfile;
  let phoneB: BrowserProfile | undefined;
  let organisation: string;
  let firstRequest: string;
  let firstCredential: string;

  before(async function () {
    serve = await startServe({ demo: true, logLevel: "silent", env: {} });
    const demo = serve.ready.demo as Demo;
    agency = demo.agencyCode;
    desk = new OfficerDesk(String(serve.ready.issuer), demo.agencyCode, demo.staffTokens);
    organisation = (await desk.request(demo.requestId)).organisationName;
    walletUrl = String(serve.ready.wallet);
    // The ready line's gate URL (one-time pairing code in the fragment); verdicts held 3 s.
    gateUrl = String(serve.ready.gate).replace("/gate/#", "/gate/?hold=3#");
    browser = await launchChromium();
    // Each officer registers a passkey from the demo's enrolment link, then signs in with it.
    for (const role of ["approver", "hr-officer", "help-desk"] as const) {
      const { page } = await officerPage(browser);
      await signInAsDemoRole(page, serve.ready, role);
      officers[role] = page;
    }
    const kioskContext = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: "ko-KR" });
    kiosk = await kioskContext.newPage();
    phoneA = await openProfile();
  });

  after(async function () {
    await phoneB?.close();
    await phoneA?.close();
    await browser?.close();
    await serve?.close();
    setGlobalConfig({ allowInsecureUrls: false });
  });

  /** Officer side, in the console: the department head approves, the HR officer verifies identity and invites. */
  async function officersIssue(id: string) {
    await approve(officers.approver, agency, id);
    await verifyIdentity(officers["hr-officer"], agency, id, () => desk.latestCode(id), { name: PERSON.name, employeeRef: PERSON.employeeRef });
    await invite(officers["hr-officer"], agency, id);
    return { id, ...(await desk.invitation(id)) };
  }

  /** Phone side: the SMS link opens the PWA; identity re-check in the app; activation code and PIN; the card. */
  async function phoneActivates(phone: BrowserProfile, requestId: string, sms: { link: string; txCode: string }, pin: string) {
    const done = await activate(phone, {
      walletUrl, offerUri: sms.link, txCode: sms.txCode, pin,
      identity: { name: PERSON.name, employeeRef: PERSON.employeeRef, code: () => desk.latestCode(requestId) },
    });
    expect(done, JSON.stringify(done)).to.deep.equal({ ok: true });
    expect((await shownClaims(phone.page)).name).to.equal(PERSON.name);
  }

  /** One tap at the gate: the kiosk's QR handed to the phone's wallet, which unlocks with the PIN and presents. */
  async function tapAtGate(phone: BrowserProfile, pin: string) {
    const qr = await currentQr(kiosk);
    return verdictOf(kiosk, () => present(phone, { walletUrl, authorizationRequest: qr.request, unlock: { pin } }), 20_000);
  }

  it("officer approves → SMS link → the PWA activates and collects the credential", async function () {
    // HR sync: the new public servant's request arrives from e-사람.
    const imported = await desk.importRow({ ...PERSON, organisationName: organisation, requestId: "REQ-LIFE-1", requestKind: "new", reissueReason: "" });
    const first = await officersIssue(imported);
    firstRequest = first.id;
    await phoneActivates(phoneA, first.id, first, PIN_A);
    const record = await desk.request(first.id);
    expect(record.state).to.equal("issued");
    firstCredential = record.credentialId!;
    expect((await desk.credentialStatus(firstCredential)).state).to.equal("active");
    await phoneA.screenshot("life-1-card");
  });

  it("the gate (paired from the ready line) shows green with the name", async function () {
    await kiosk.goto(gateUrl);
    const { verdict, tapped } = await tapAtGate(phoneA, PIN_A);
    expect(tapped.outcome.kind).to.equal("accepted");
    expect(tapped.shown?.verifierName).to.match(/정부세종청사/);
    expect(verdict.state).to.equal("accepted");
    expect(verdict.name).to.equal(PERSON.name);
    expect(verdict.organisation).to.equal(organisation);
    await screenshot(kiosk, "life-2-gate-green");
  });

  it("the help desk reports the phone lost: the gate shows red from the next block", async function () {
    // The help desk, in the console: "report lost → lock at once".
    const locked = await reportLost(officers["help-desk"], agency, firstRequest, "lost-device");
    expect((await desk.credentialStatus(firstCredential)).state).to.equal("locked");
    expect(locked.blockNumber).to.be.greaterThan(0);
    const { verdict, tapped } = await tapAtGate(phoneA, PIN_A);
    expect(tapped.outcome.kind).to.equal("refused");
    expect(verdict.state).to.equal("refused");
    expect(verdict.text).to.contain("분실 신고로 정지된 신분증입니다").and.contain("Locked: this phone was reported lost");
    expect(verdict.text).to.not.contain(PERSON.name);
    // The kiosk's ledger strip is at (or past) the lock's block: the refusal came from the chain, not from a cache.
    const strip = (await kiosk.textContent("#health")) ?? "";
    const shownBlock = Number(/블록 #([\d,]+)/.exec(strip)?.[1]?.replace(/,/g, ""));
    expect(shownBlock).to.be.at.least(locked.blockNumber);
    await screenshot(kiosk, "life-3-gate-red-locked");
  });

  it("reissue on a second phone: it is admitted, and the first phone is refused as superseded", async function () {
    phoneB = await openProfile();
    // HR files the reissue from the request in the console (lost phone), then approval, identity, invitation.
    const hr = officers["hr-officer"];
    await openRequest(hr, agency, firstRequest);
    await hr.locator("#reissue-reason").selectOption("lost-device");
    await hr.locator("#reissue-hr-id").fill("REQ-LIFE-2");
    await hr.locator("#reissue-person").fill(PERSON.personId);
    await hr.locator("#reissue-button").click();
    await hr.locator("#notice.ok").waitFor();
    const second = await officersIssue("e-saram:REQ-LIFE-2");
    await phoneActivates(phoneB, second.id, second, PIN_B);
    const record = await desk.request(second.id);
    expect(record.state).to.equal("issued");
    expect(record.supersededId).to.equal(firstCredential);

    const admitted = await tapAtGate(phoneB, PIN_B);
    expect(admitted.verdict.state).to.equal("accepted");
    expect(admitted.verdict.name).to.equal(PERSON.name);

    const { verdict, tapped } = await tapAtGate(phoneA, PIN_A);
    expect(tapped.outcome.kind).to.equal("refused");
    expect(verdict.state).to.equal("refused");
    expect(verdict.text).to.contain("새 휴대전화로 재발급되어 더 이상 쓸 수 없는 신분증입니다").and.contain("Replaced by a newer phone");
    await screenshot(kiosk, "life-4-gate-red-superseded");
  });
});
