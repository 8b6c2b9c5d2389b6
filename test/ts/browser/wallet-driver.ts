/**
 * Drives the holder web wallet (web/wallet/) in a browser profile, for wallet.test.ts and the whole-life test:
 * activation from an SMS link, presentation of a request handed over as the gate's QR text, biometrics through
 * Chromium's virtual authenticator. Each step waits for the screen the wallet shows next and answers what it shows.
 */
import type { CDPSession, Page } from "playwright-core";
import type { BrowserProfile } from "../helpers/browser.js";

const STEP_TIMEOUT_MS = 30_000;

export interface WalletScreenError {
  /** `data-code` of the error box: a CivilIdError code (WEAK_PIN, WRONG_PIN, VERIFIER_NOT_LISTED, …) or an OAuth error (invalid_grant). */
  readonly code: string;
  readonly text: string;
}

/** Marks the current screen stale: waits then match only what the wallet renders next (it replaces `main`). */
async function markStale(page: Page): Promise<void> {
  await page.evaluate('document.querySelector("main")?.setAttribute("data-stale", "true")');
}

/** The next screen showing one of `selectors`. */
async function nextScreen(page: Page, selectors: readonly string[]): Promise<void> {
  await page.waitForSelector(selectors.map((s) => `main:not([data-stale]) ${s}`).join(", "), { timeout: STEP_TIMEOUT_MS });
}

async function errorOf(page: Page): Promise<WalletScreenError | undefined> {
  const box = page.locator("#error");
  if ((await box.count()) === 0) return undefined;
  return { code: (await box.getAttribute("data-code")) ?? "", text: await box.innerText() };
}

/** Opens the wallet page (or a hand-off link into it) and waits until it has routed. */
export async function openWallet(page: Page, url: string): Promise<void> {
  await markStale(page).catch(() => undefined); // nothing to mark on a blank page
  await page.goto(url);
  await page.waitForSelector("#app[data-ready]", { timeout: STEP_TIMEOUT_MS });
}

/** The page URL of the wallet with the SMS link handed over (`#offer=`), as `serve --demo --json` prints it. */
export function offerLink(walletUrl: string, offerUri: string): string {
  return `${walletUrl.split("#")[0]}#offer=${encodeURIComponent(offerUri)}`;
}

/** The page URL of the wallet with a gate's QR text handed over (`#request=`): the "scan". */
export function requestLink(walletUrl: string, authorizationRequest: string): string {
  return `${walletUrl.split("#")[0]}#request=${encodeURIComponent(authorizationRequest)}`;
}

export interface ActivateOptions {
  /** The wallet page (ready line `wallet`, without the fragment or with it). */
  readonly walletUrl: string;
  readonly offerUri: string;
  readonly txCode: string;
  readonly pin: string;
  /**
   * The holder's identity re-check, when the issuer asks for it before releasing the offer (the normal flow; the
   * demo offer has it done): name, employee reference, and how to read the code texted to the holder's phone
   * (e.g. from the issuer's SMS outbox, `GET /staff/sms/undelivered`), called after the wallet asked for it.
   */
  readonly identity?: { readonly name: string; readonly employeeRef: string; readonly code: () => Promise<string> };
}

/** The identity re-check screen: asks for the code, reads it, verifies; waits for the activation form (or an error). */
async function recheckIdentity(page: Page, identity: NonNullable<ActivateOptions["identity"]>): Promise<void> {
  await page.fill("#id-name", identity.name);
  await page.fill("#id-employee", identity.employeeRef);
  await page.click("#id-send-code");
  await page.waitForSelector("#id-send-code[data-sent], main:not([data-stale]) #error", { timeout: STEP_TIMEOUT_MS });
  if ((await page.locator("#error").count()) > 0) return;
  await page.fill("#id-code", await identity.code());
  await markStale(page);
  await page.click("#id-verify");
  await nextScreen(page, ["#activate-form", "#error"]);
}

/**
 * Activation: opens the SMS link in the wallet, types the activation code and the PIN twice. Answers
 * `{ ok: true }` when the card is shown, or the error the wallet shows (the form stays, ready for another try).
 */
export async function activate(profile: BrowserProfile, options: ActivateOptions): Promise<{ ok: true } | { ok: false; error: WalletScreenError }> {
  const { page } = profile;
  if (!(await page.locator("#activate-form").isVisible().catch(() => false))) {
    await openWallet(page, offerLink(options.walletUrl, options.offerUri));
    await nextScreen(page, ["#activate-form", "#error", "#identity-form"]);
  }
  if ((await page.locator("#identity-form").count()) > 0) {
    if (options.identity === undefined) throw new Error("the issuer asks for the identity re-check: pass options.identity");
    await recheckIdentity(page, options.identity);
  }
  const early = await errorOf(page);
  if (early !== undefined && (await page.locator("#activate-form").count()) === 0) return { ok: false, error: early };
  await page.fill("#tx-code", options.txCode);
  await page.fill("#pin", options.pin);
  await page.fill("#pin-confirm", options.pin);
  await markStale(page);
  await page.click("#activate");
  await nextScreen(page, ["#card", "#error"]);
  const error = await errorOf(page);
  return error === undefined ? { ok: true } : { ok: false, error };
}

export interface PresentOptions {
  readonly walletUrl: string;
  /** The gate's QR text: `openid4vp://?client_id=…&request_uri=…`. */
  readonly authorizationRequest: string;
  /** PIN, or "biometric" to answer with the (virtual) platform authenticator. */
  readonly unlock: { pin: string } | "biometric";
}

export interface ShownRequest {
  readonly verifierName: string;
  readonly use: string;
  readonly claims: readonly string[];
}

/** Hands the request over and waits for the consent screen (who asks, what they will see) or the refusal. */
export async function openRequest(profile: BrowserProfile, walletUrl: string, authorizationRequest: string): Promise<{ ok: true; shown: ShownRequest } | { ok: false; error: WalletScreenError }> {
  const { page } = profile;
  await openWallet(page, requestLink(walletUrl, authorizationRequest));
  await nextScreen(page, ["#consent", "#error", "#locked"]);
  const error = await errorOf(page);
  if (error !== undefined) return { ok: false, error };
  return {
    ok: true,
    shown: {
      verifierName: await page.innerText("#verifier-name"),
      use: (await page.getAttribute("#verifier-use", "data-use")) ?? "",
      claims: await page.locator("#claims-shown li").evaluateAll((items) => items.map((item) => item.getAttribute("data-claim") ?? "")),
    },
  };
}

export type PresentOutcome =
  | { readonly kind: "accepted" }
  | { readonly kind: "refused"; readonly text: string }
  | { readonly kind: "offline"; readonly presentation: string }
  | { readonly kind: "error"; readonly error: WalletScreenError }
  | { readonly kind: "locked" };

/** On the consent screen: unlocks (PIN or biometrics) and presents; answers what the wallet shows next. */
export async function confirmPresentation(profile: BrowserProfile, unlock: PresentOptions["unlock"]): Promise<PresentOutcome> {
  const { page } = profile;
  await markStale(page);
  if (unlock === "biometric") {
    await page.click("#present-bio");
  } else {
    await page.fill("#present-pin", unlock.pin);
    await page.click("#present-confirm");
  }
  await nextScreen(page, ["#result", "#error", "#locked"]);
  if ((await page.locator("#locked").count()) > 0) return { kind: "locked" };
  const error = await errorOf(page);
  if (error !== undefined) return { kind: "error", error };
  const result = page.locator("#result");
  const classes = (await result.getAttribute("class")) ?? "";
  if (classes.includes("accepted")) return { kind: "accepted" };
  if (classes.includes("refused")) return { kind: "refused", text: await result.innerText() };
  return { kind: "offline", presentation: await page.inputValue("#offline-vp") };
}

/** Presentation end to end: hand over the request, check what is shown, unlock and present. */
export async function present(profile: BrowserProfile, options: PresentOptions): Promise<{ shown?: ShownRequest; outcome: PresentOutcome }> {
  const opened = await openRequest(profile, options.walletUrl, options.authorizationRequest);
  if (!opened.ok) return { outcome: { kind: "error", error: opened.error } };
  return { shown: opened.shown, outcome: await confirmPresentation(profile, options.unlock) };
}

/** A virtual platform authenticator with user verification and PRF (Chromium's DevTools WebAuthn domain). */
export async function addVirtualAuthenticator(profile: BrowserProfile): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await profile.context.newCDPSession(profile.page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, hasPrf: true, automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/** Enrols biometrics from the card screen (the PIN confirms the enrolment). */
export async function enrolBiometrics(profile: BrowserProfile, pin: string): Promise<void> {
  const { page } = profile;
  await page.click("#enrol-bio");
  await page.fill("#enrol-pin", pin);
  await markStale(page);
  await page.click("#enrol-confirm");
  await nextScreen(page, ["#bio-on", "#error"]);
  const error = await errorOf(page);
  if (error !== undefined) throw new Error(`biometric enrolment failed: ${error.code} ${error.text}`);
}

/** The card's claims as shown (data-claim → text). */
export async function shownClaims(page: Page): Promise<Record<string, string>> {
  return page.locator("#card dd[data-claim]").evaluateAll((items) => Object.fromEntries(items.map((item) => [item.getAttribute("data-claim") ?? "", item.textContent ?? ""])));
}

/** What the wallet holds in IndexedDB, as seen from the page (the key as its WebCrypto properties, never its bytes). */
export interface StoredWallet {
  readonly deviceKey: { readonly extractable: boolean; readonly type: string; readonly algorithm: { readonly name: string; readonly namedCurve?: string } } | null;
  readonly did: string | null;
  readonly credentialJwt: string | null;
  readonly locked: boolean;
  readonly failedAttempts: number;
  /** Biometrics enrolled, and whether the enrolment is bound to the authenticator's PRF secret. */
  readonly biometric: { readonly prf: boolean } | null;
}

const READ_STATE = `(async () => {
  const db = await new Promise((resolve, reject) => { const r = indexedDB.open("mcid-wallet"); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const state = await new Promise((resolve, reject) => { const r = db.transaction("wallet").objectStore("wallet").get("state"); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  db.close();
  if (state === undefined) return null;
  const key = state.deviceKey;
  return {
    deviceKey: key === null ? null : { extractable: key.extractable, type: key.type, algorithm: { name: key.algorithm.name, namedCurve: key.algorithm.namedCurve } },
    did: state.did, credentialJwt: state.credential === null ? null : state.credential.jwt, locked: state.lockout !== null, failedAttempts: state.failedAttempts,
    biometric: state.biometric === null ? null : { prf: state.biometric.prf !== undefined },
  };
})()`;

export async function storedWallet(page: Page): Promise<StoredWallet | null> {
  return page.evaluate(READ_STATE) as Promise<StoredWallet | null>;
}

/** Waits until the service worker controls the wallet's scope (the app shell is cached: it opens offline). */
export async function serviceWorkerReady(page: Page): Promise<void> {
  await page.evaluate("navigator.serviceWorker.ready.then(() => true)");
}
