/**
 * A real browser for the page tests: Debian's Chromium driven by playwright-core (Playwright cannot download its
 * own browser here). `.ci/run` installs `chromium` and `fonts-nanum` (Hangul) with apt when missing. Each
 * profile gets a fresh user-data directory (a phone of its own: IndexedDB, service workers, passkeys), removed
 * on close. Screenshots go to .tmp/screenshots/ (the key ones are copied into docs/images/ by hand).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { REPO } from "./cli.js";

export const CHROMIUM = process.env.MCID_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = path.join(REPO, ".tmp", "screenshots");

/** The flags that work on these machines as root (no sandbox, no GPU, no network chatter of its own). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface BrowserProfile {
  readonly context: BrowserContext;
  /** The profile's first page. */
  readonly page: Page;
  readonly userDataDir: string;
  /** Saves a full-page PNG as .tmp/screenshots/<name>.png and returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

export interface ProfileOptions {
  /** Viewport (default a phone: 412 × 915). A gate kiosk is 1920 × 1080. */
  readonly viewport?: { width: number; height: number };
  readonly locale?: string;
  /** Extra Chromium flags (e.g. a fake camera). */
  readonly args?: readonly string[];
}

/**
 * Makes sure the browser is there: on a fresh machine (a plain `npm test`, as the README says) scripts/ci/browser.sh
 * installs Debian's chromium and fonts-nanum, as .ci/run does; a test never passes without a browser.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.env.MCID_CHROMIUM !== undefined) throw new Error(`MCID_CHROMIUM=${CHROMIUM} does not exist`);
  execFileSync(path.join(REPO, "scripts", "ci", "browser.sh"), { stdio: ["ignore", "inherit", "inherit"], timeout: 900_000 });
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is still missing after scripts/ci/browser.sh`);
}

// At load, before any test's timeout runs: an install takes a minute or two, once per machine.
ensureChromium();

/** A fresh browser profile (persistent context, so reloads keep IndexedDB and the service worker). */
export async function openProfile(options: ProfileOptions = {}): Promise<BrowserProfile> {
  const userDataDir = mkdtempSync(path.join(tmpdir(), "mcid-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS, ...(options.args ?? [])],
      viewport: options.viewport ?? { width: 412, height: 915 },
      locale: options.locale ?? "ko-KR",
      timeout: 60_000,
    });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    userDataDir,
    async screenshot(name, target = page) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await target.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
