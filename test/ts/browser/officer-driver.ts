/**
 * Driving the issuing-officer console in a real browser (reused by the whole-life suite): an issuer service on a
 * real port over an embedded chain, Chromium's virtual authenticator as the officer's passkey, and one helper per
 * console step (enrol, sign in, open a request, approve, identity check, invite, report lost, unlock, revoke).
 * Every helper waits for what the page shows, never for a fixed time.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { issuerFromPrivateKey } from "../../../sdk/credential/builder.js";
import { generateBearerToken, hashBearerToken, loadConfig } from "../../../services/common/index.js";
import { issuerConfigSchema } from "../../../services/issuer/config.js";
import { consoleUrlFor } from "../../../services/issuer/passkeys.js";
import { buildIssuerApp, type IssuerApp } from "../../../services/issuer/service.js";
import { STAFF_ROLES, type StaffRole } from "../../../services/issuer/staff.js";
import { CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS } from "../helpers/browser.js";
import { startChain, type Chain } from "../services/issuer/harness.js";

export interface OfficerWorld {
  readonly chain: Chain;
  readonly issuer: IssuerApp;
  /** The service's listening URL (127.0.0.1). */
  readonly baseUrl: string;
  /** The console, at `localhost` (WebAuthn refuses IP addresses as relying parties). */
  readonly consoleUrl: string;
  /** Bearer tokens of the staff members `t-<role>` (the same members sign in by passkey). */
  readonly tokens: Record<StaffRole, string>;
  close(): Promise<void>;
}

/** An embedded chain with the demo consortium and an issuer service listening on a free port. */
export async function startOfficerWorld(options: { chain?: Chain; clock?: () => number } = {}): Promise<OfficerWorld> {
  const chain = options.chain ?? (await startChain());
  const dataDir = mkdtempSync(path.join(tmpdir(), "mcid-officer-"));
  const tokens = Object.fromEntries(STAFF_ROLES.map((r) => [r, generateBearerToken()])) as Record<StaffRole, string>;
  const config = loadConfig(issuerConfigSchema, {
    overrides: { logLevel: "silent", rateLimit: { max: 10_000, windowMs: 60_000 }, staff: STAFF_ROLES.map((role) => ({ id: `t-${role}`, roles: [role], tokenHash: hashBearerToken(tokens[role]) })) },
  });
  let baseUrl: string | undefined;
  const issuer = await buildIssuerApp({
    config, chainId: chain.chainId, deployment: chain.deployment, dataDir,
    agencies: chain.demo.organisations.map((o) => ({ code: o.code, name: o.name, issuer: issuerFromPrivateKey(chain.chainId, o.issuerPrivateKey), registrar: o.registrar, statusOfficer: o.statusOfficer, helpDesk: o.helpDesk })),
    holderSecret: chain.demo.holderSecret,
    sms: { send: () => Promise.reject(new Error("test: SMS wait in the outbox")) },
    baseUrl: () => {
      if (baseUrl === undefined) throw new Error("not listening yet");
      return baseUrl;
    },
    logger: process.env.MCID_TEST_LOG === "1" ? { level: "error", stream: process.stderr } : false,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  try {
    await issuer.app.listen({ host: "127.0.0.1", port: 0 });
    const address = issuer.app.server.address();
    if (address === null || typeof address === "string") throw new Error("the issuer is not listening on TCP");
    baseUrl = `http://127.0.0.1:${address.port}`;
    await issuer.agencies.open();
  } catch (error) {
    await issuer.app.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    chain, issuer, baseUrl, consoleUrl: consoleUrlFor(baseUrl), tokens,
    async close() {
      await issuer.app.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (options.chain === undefined) await chain.close();
    },
  };
}

/** One Chromium for a suite; each officer gets a context of their own (cookies, virtual authenticator). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS], timeout: 60_000 });
}

export async function officerPage(browser: Browser, options: { locale?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: options.locale ?? "ko-KR", viewport: { width: 1440, height: 1000 } });
  return { context, page: await context.newPage() };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Chromium's virtual authenticator on a page: a platform passkey with user verification (the fingerprint). */
export interface VirtualAuthenticator {
  readonly cdp: CDPSession;
  readonly authenticatorId: string;
  credentials(): Promise<{ credentialId: string; signCount: number; userHandle?: string }[]>;
}

export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return {
    cdp, authenticatorId,
    async credentials() {
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      return credentials.map((c) => ({ credentialId: c.credentialId, signCount: c.signCount, ...(c.userHandle === undefined ? {} : { userHandle: c.userHandle }) }));
    },
  };
}

/** Enrols a passkey on this page's authenticator with a one-time enrolment code, through the console. */
export async function enrol(page: Page, consoleUrl: string, code: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.locator("#enrol-code").fill(code);
  await page.locator("#enrol").click();
  await page.locator("#notice.ok").waitFor();
}

/** Signs in by passkey (the console's button) and waits for the signed-in console. */
export async function signIn(page: Page, consoleUrl: string): Promise<void> {
  if (!page.url().startsWith(consoleUrl)) await page.goto(consoleUrl);
  await page.locator("#signin").click();
  await page.locator("#signout").waitFor();
}

/** A staff member's first sign-in: virtual authenticator, an enrolment code issued by the service, enrol, sign in. */
export async function enrolAndSignIn(page: Page, world: Pick<OfficerWorld, "issuer" | "consoleUrl">, staffId: string): Promise<VirtualAuthenticator> {
  const authenticator = await addVirtualAuthenticator(page);
  const { code } = await world.issuer.officer.passkeys.issueEnrolmentCode(staffId, "test:admin");
  await enrol(page, world.consoleUrl, code);
  await signIn(page, world.consoleUrl);
  return authenticator;
}

/** Calls the staff API from the page as the console does (session cookie + CSRF token); answers status and body. */
export async function sessionFetch(page: Page, method: "GET" | "POST" | "DELETE", apiPath: string, body?: unknown, options: { csrf?: boolean } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return page.evaluate(
    async ({ method, apiPath, body, csrf }) => {
      const headers: Record<string, string> = {};
      if (csrf) {
        const current = await fetch("/staff/session", { credentials: "same-origin" });
        const token = ((await current.json()) as { csrfToken?: string }).csrfToken;
        if (token !== undefined) headers["x-csrf-token"] = token;
      }
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(apiPath, { method, headers, credentials: "same-origin", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await response.text();
      return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
    },
    { method, apiPath, body, csrf: options.csrf ?? true },
  );
}

/** Opens a request of the queue (clears the filters first so it is listed). */
export async function openRequest(page: Page, agency: number, requestId: string): Promise<void> {
  await page.locator('nav [data-view="queue"]').click();
  await page.locator("#filters").waitFor();
  await page.locator("#f-state").selectOption("");
  await page.locator("#apply-filters").click();
  await page.locator(`tr[data-request="${agency}/${requestId}"] button`).click();
  await page.locator(`#detail-title[data-request="${agency}/${requestId}"]`).waitFor();
}

async function waitForState(page: Page, state: string): Promise<void> {
  await page.locator(`#detail dl [data-state="${state}"]`).waitFor();
}

export async function approve(page: Page, agency: number, requestId: string): Promise<void> {
  await openRequest(page, agency, requestId);
  await page.locator("#approve").click();
  await waitForState(page, "approved");
}

/** The identity step: texts the code, then enters the applicant's evidence (the code as the applicant reads it out). */
export async function verifyIdentity(page: Page, agency: number, requestId: string, readCode: () => Promise<string>, evidence: { name: string; employeeRef: string }): Promise<void> {
  await openRequest(page, agency, requestId);
  await page.locator("#identity-start").click();
  await page.locator("#notice.ok").waitFor();
  await page.locator("#identity-name").fill(evidence.name);
  await page.locator("#identity-ref").fill(evidence.employeeRef);
  await page.locator("#identity-code").fill(await readCode());
  await page.locator("#identity-form button[type=submit]").click();
  await waitForState(page, "identity_verified");
}

export async function invite(page: Page, agency: number, requestId: string): Promise<void> {
  await openRequest(page, agency, requestId);
  await page.locator("#invite").click();
  await waitForState(page, "invited");
}

export interface ChainAction {
  readonly blockNumber: number;
  readonly txHash: string;
}

async function chainResult(page: Page, state: string): Promise<ChainAction> {
  const result = page.locator(`#chain-result.${state}`);
  await result.waitFor();
  await page.locator(`#chain-state[data-state="${state}"]`).waitFor();
  return { blockNumber: Number(await result.getAttribute("data-block")), txHash: (await result.getAttribute("data-tx"))! };
}

/** Help desk: "report lost → lock at once"; answers the block the lock is in, as the console shows it. */
export async function reportLost(page: Page, agency: number, requestId: string, reason = "lost-device"): Promise<ChainAction> {
  await openRequest(page, agency, requestId);
  await page.locator("#lock-reason").selectOption(reason);
  await page.locator("#lock").click();
  return chainResult(page, "locked");
}

export async function unlock(page: Page, agency: number, requestId: string, reason = "found-device"): Promise<ChainAction> {
  await openRequest(page, agency, requestId);
  await page.locator("#unlock-reason").selectOption(reason);
  await page.locator("#unlock-button").click();
  return chainResult(page, "active");
}

export async function revoke(page: Page, agency: number, requestId: string, reason: string, note?: string): Promise<ChainAction> {
  await openRequest(page, agency, requestId);
  await page.locator("#revoke-reason").selectOption(reason);
  if (note !== undefined) await page.locator("#revoke-note").fill(note);
  await page.locator("#revoke-confirm").check();
  await page.locator("#revoke-button").click();
  return chainResult(page, "revoked");
}

/**
 * `serve --demo --json`'s ready line → a signed-in console for a demo role: adds the page's virtual authenticator,
 * enrols with the role's one-time code (`demo.officerEnrolment[role].link`), signs in. Answers the console URL.
 * Each role's code enrols once: call it once per role and serve run.
 */
export async function signInAsDemoRole(page: Page, ready: Record<string, unknown>, role: StaffRole): Promise<string> {
  const consoleUrl = ready.officer;
  const enrolment = (ready.demo as { officerEnrolment?: Record<string, { code: string; link: string }> } | undefined)?.officerEnrolment?.[role];
  if (typeof consoleUrl !== "string" || enrolment === undefined) throw new Error("the ready line has no officer console or no demo enrolment (run serve with --demo)");
  await addVirtualAuthenticator(page);
  await page.goto(enrolment.link);
  await page.locator("#enrol").click();
  await page.locator("#notice.ok").waitFor();
  await signIn(page, consoleUrl);
  return consoleUrl;
}
