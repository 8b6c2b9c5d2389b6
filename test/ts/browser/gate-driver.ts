/**
 * Reads the gate kiosk page (web/gate/) in a browser profile, for gate.test.ts and the whole-life test: the QR on
 * screen (its presentation id and the openid4vp:// request it encodes) and the verdict a tap produces.
 */
import type { Page } from "playwright-core";

export interface ShownQr {
  readonly id: string;
  /** `openid4vp://?client_id=…&request_uri=…`: what the QR encodes (the page carries it beside the image). */
  readonly request: string;
}

/** The QR on screen once the gate is ready (optionally: a different one than `notId`), its image rendered. */
export async function currentQr(page: Page, notId?: string, timeout = 20_000): Promise<ShownQr> {
  const selector = notId === undefined ? "#qr[data-presentation]" : `#qr[data-presentation]:not([data-presentation="${notId}"])`;
  const qr = await page.waitForSelector(`main[data-state="ready"] ${selector}`, { timeout });
  const request = (await qr.getAttribute("data-authorization-request"))!;
  const id = (await qr.getAttribute("data-presentation"))!;
  // Browser-side code is passed as a string: the test project is typechecked without DOM types.
  await page.waitForFunction('(() => { const img = document.querySelector("#qr img"); return img !== null && img.complete && img.naturalWidth > 0; })()');
  return { id, request };
}

export interface ShownVerdict {
  readonly state: "accepted" | "refused";
  /** The whole verdict area's text (Korean and English). */
  readonly text: string;
  readonly name: string | null;
  readonly organisation: string | null;
}

/**
 * Runs `tap` (a phone answering the QR) and returns the verdict the kiosk shows for it. The wait starts before the
 * tap, so a short `hold` cannot let the verdict pass unseen.
 */
export async function verdictOf<T>(page: Page, tap: () => Promise<T>, timeout = 10_000): Promise<{ verdict: ShownVerdict; tapped: T }> {
  const shown = page.waitForSelector('main[data-state="accepted"], main[data-state="refused"]', { timeout });
  const tapped = await tap();
  const element = await shown;
  const state = (await element.getAttribute("data-state")) as "accepted" | "refused";
  const field = async (name: string) => {
    const el = await page.$(`[data-field="${name}"]`);
    return el === null ? null : el.textContent();
  };
  return { verdict: { state, text: (await page.textContent("#stage")) ?? "", name: await field("name"), organisation: await field("organisation") }, tapped };
}
