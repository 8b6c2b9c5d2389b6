/**
 * The gate kiosk page in a real Chromium (Debian's, via playwright-core): a 1080p kiosk and a tablet. One browser
 * profile for the suite; the verifier listens on loopback; the phone presents over real HTTP.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import type { Page } from "playwright-core";
import { ReasonCode } from "../../../sdk/chain/codes.js";
import { checkPresentationRequest } from "../../../sdk/relying-party/presentation-request.js";
import { openProfile, type BrowserProfile } from "../helpers/browser.js";
import { currentQr, verdictOf } from "./gate-driver.js";
import { gateWorld } from "./gate-kit.js";

type Gate = Awaited<ReturnType<typeof gateWorld>>;

describe("gate kiosk page (real Chromium)", function () {
  this.timeout(120_000);
  let gate: Gate;
  let kiosk: BrowserProfile;
  let page: Page;

  before(async function () {
    gate = await gateWorld();
    kiosk = await openProfile({ viewport: { width: 1920, height: 1080 } });
    page = kiosk.page;
  });
  after(async function () {
    await kiosk?.close();
    await gate?.close();
  });

  it("pairs with the one-time code in the fragment, drops it from the address bar, and shows a QR with a green ledger strip", async function () {
    const url = await gate.kioskUrl();
    await page.goto(url);
    const first = await currentQr(page);
    expect(first.request).to.match(/^openid4vp:\/\/\?client_id=decentralized_identifier%3Adid%3Aethr%3A/);
    expect(page.url()).to.not.contain("#pair=");
    expect(page.url()).to.not.contain("pair");
    await page.waitForSelector('#health[data-health="ok"]');
    expect(await page.textContent("#health")).to.match(/원장 정상 · 블록 #[\d,]+/).and.match(/Ledger OK/).and.match(/노드 1\/1 \(정족수 1\)/);
    expect(await page.textContent("#terminal")).to.contain("gate-1");
    // The kiosk session is in the page's storage; the pairing code is spent.
    const stored = await page.evaluate(() => localStorage.getItem("mcid.gate.session"));
    expect(JSON.parse(stored!).token).to.match(/^mcidk\./);
    const again = await fetch(`${gate.url}/kiosk/pair`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code: decodeURIComponent(url.split("#pair=")[1]!) }) });
    expect(again.status).to.equal(400);
    // Strict CSP: no inline script or style runs on this page.
    const res = await fetch(`${gate.url}/gate/`);
    expect(res.headers.get("content-security-policy")).to.contain("script-src 'self'").and.contain("style-src 'self'");
    await kiosk.screenshot("gate-ready");
  });

  it("a phone's presentation turns it green with the name and organisation, then a new QR; a locked ID turns it red from the next block", async function () {
    const holder = Wallet.createRandom();
    const credential = await gate.w.issue(holder, `person-${holder.address}`);
    const qr = await currentQr(page);
    const { verdict, tapped: answered } = await verdictOf(page, () => gate.tap(qr.request, holder, credential.jwt));
    expect(answered.status, JSON.stringify(answered.body)).to.equal(200);
    expect(verdict.state).to.equal("accepted");
    expect(verdict.name).to.equal("홍길동");
    expect(verdict.organisation).to.equal("행정안전부");
    expect(verdict.text).to.contain("통과").and.contain("Admitted");
    expect(await page.getAttribute("#stage", "aria-live")).to.equal("assertive");
    await kiosk.screenshot("gate-green");

    // The verdict gives way to a fresh request (a new presentation id).
    const next = await currentQr(page, qr.id);
    expect(next.id).to.not.equal(qr.id);

    // The help desk reports the phone lost: locked on chain; the next tap is refused with the reason in both languages.
    const helpDesk = gate.w.ledger.statusRegistry.connect(gate.w.actors.helpDesk);
    await (await helpDesk.lock(credential.credentialId, ReasonCode.LOST_DEVICE)).wait();
    await gate.w.syncClock();
    const { verdict: red, tapped: refused } = await verdictOf(page, () => gate.tap(next.request, holder, credential.jwt));
    expect(refused.status).to.equal(400);
    expect((refused.body as { reasons: string[] }).reasons).to.deep.equal(["CREDENTIAL_LOCKED"]);
    expect(red.state).to.equal("refused");
    const text = red.text;
    expect(text).to.contain("출입 불가").and.contain("Refused");
    expect(text).to.contain("분실 신고로 정지된 신분증입니다").and.contain("Locked: this phone was reported lost");
    expect(text).to.not.contain("홍길동");
    await kiosk.screenshot("gate-red-locked");
    await currentQr(page, next.id);
  });

  it("fits a tablet in portrait, here as a library desk (QR inside the viewport, the library-card use asked for)", async function () {
    const tablet = await kiosk.context.newPage();
    try {
      await tablet.setViewportSize({ width: 800, height: 1280 });
      await tablet.goto(`${gate.url}/gate/?use=library-card&hold=1`); // paired already: the session is in this profile's storage
      const qr = await currentQr(tablet);
      expect(await tablet.textContent(".title")).to.contain("도서관 이용 확인").and.contain("library desk");
      const checked = await checkPresentationRequest({ authorizationRequest: qr.request, directory: gate.w.directory, chainId: gate.w.chainId });
      expect(checked.use).to.equal("library-card");
      const box = (await tablet.locator("#qr img").boundingBox())!;
      expect(box.x).to.be.at.least(0);
      expect(box.x + box.width).to.be.at.most(800);
      expect(box.y + box.height).to.be.at.most(1280);
      expect(box.width).to.be.at.least(400); // large enough to scan from a phone held at arm's length
      const overflow = await tablet.evaluate("document.documentElement.scrollWidth > window.innerWidth || document.documentElement.scrollHeight > window.innerHeight");
      expect(overflow).to.equal(false);
      await kiosk.screenshot("gate-tablet", tablet);
    } finally {
      await tablet.close();
    }
  });

  it("turns red when the ledger is unavailable (and the verifier refuses a tap), and when it is staler than its bound; green again once it answers", async function () {
    const holder = Wallet.createRandom();
    const credential = await gate.w.issue(holder, `person-${holder.address}`);
    const qr = await currentQr(page);

    gate.setLedger("down");
    await page.waitForSelector('#health[data-health="unavailable"]', { timeout: 10_000 });
    await page.waitForSelector('main[data-state="out-of-service"]');
    expect(await page.textContent("#health")).to.contain("원장 연결 불가").and.contain("Ledger unavailable");
    expect(await page.textContent("#stage")).to.contain("출입 확인 중지").and.contain("Gate out of service");
    expect(await page.$("#qr")).to.equal(null); // no QR to scan while the gate cannot vouch for the ledger
    await kiosk.screenshot("gate-red-ledger");
    // A phone that scanned the QR just before: the verifier refuses (fail closed), the kiosk shows why.
    const { verdict, tapped: refused } = await verdictOf(page, () => gate.tap(qr.request, holder, credential.jwt));
    expect(refused.status).to.equal(400);
    expect((refused.body as { reasons: string[] }).reasons).to.deep.equal(["LEDGER_UNAVAILABLE"]);
    expect(verdict.state).to.equal("refused");
    expect(verdict.text).to.contain("원장에 연결할 수 없어 확인할 수 없습니다").and.contain("Ledger unavailable: cannot verify");

    gate.setLedger("up");
    await page.waitForSelector('#health[data-health="ok"]', { timeout: 10_000 });
    await currentQr(page);

    // A node that stops answering (no error, just silence): stale beyond the 2 s bound, before any timeout.
    gate.setLedger("hanging");
    await page.waitForSelector('#health[data-health="stale"]', { timeout: 10_000 });
    await page.waitForSelector('main[data-state="out-of-service"]');
    expect(await page.textContent("#health")).to.match(/원장 지연 [\d.]+초 \(허용 2초\)/).and.contain("Ledger stale");
    expect(await page.textContent("#stage")).to.contain("원장 정보가 오래되어 확인할 수 없습니다");
    await kiosk.screenshot("gate-red-stale");
    gate.setLedger("up");
    await page.waitForSelector('#health[data-health="ok"]', { timeout: 15_000 });
    await page.waitForSelector(`main[data-state="ready"] #qr`);
  });

  it("turns red when it stops hearing from the verifier, and asks to be paired when its session is refused", async function () {
    await currentQr(page);
    // The kiosk's session token forged: every terminal route answers 401; the page drops it and asks for pairing.
    await page.evaluate(() => {
      const s = JSON.parse(localStorage.getItem("mcid.gate.session")!) as { token: string };
      localStorage.setItem("mcid.gate.session", JSON.stringify({ ...s, token: `${s.token.slice(0, -4)}AAAA` }));
    });
    await page.reload();
    await page.waitForSelector('main[data-state="unpaired"]', { timeout: 10_000 });
    expect(await page.textContent("#stage")).to.contain("단말기 연결 필요").and.contain("Kiosk not paired");
    expect(await page.evaluate(() => localStorage.getItem("mcid.gate.session"))).to.equal(null);
    await page.goto(await gate.kioskUrl());
    await currentQr(page);
    // The verifier goes away (a restart, a cut cable): the watchdog turns the strip red within seconds.
    await gate.service.app.close();
    await page.waitForSelector('#health[data-health="lost"]', { timeout: 15_000 });
    expect(await page.textContent("#health")).to.contain("검증 서버 연결 끊김").and.contain("Verifier connection lost");
  });
});
