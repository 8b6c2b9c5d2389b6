/**
 * PIN and lockout, with the wallet library's rules (sdk/wallet/pin.ts: the same module, bundled): a new PIN must pass
 * `assessPin`; each unlock attempt is charged to the counter in IndexedDB *before* the PIN is compared, so closing
 * the tab mid-attempt never gives an attempt back; a right PIN resets the counter; the fifth wrong PIN in a row
 * destroys the device key and the credential (only re-activation recovers).
 *
 * The PIN is kept as a PBKDF2-SHA-256 verifier (WebCrypto). Unlike the library's file, the key itself is not
 * encrypted under the PIN: a WebCrypto key that can never be exported cannot be wrapped either. The PIN and the
 * counter therefore gate the page's use of the key, and the browser's profile storage protects the key at rest
 * (docs/WEB.md, "Holder wallet", limits).
 */
import { CivilIdError } from "../../sdk/errors.js";
import { MAX_FAILED_ATTEMPTS, assertStrongPin, isWellFormedPin } from "../../sdk/wallet/pin.js";
import { fromBase64url, toBase64url } from "../../sdk/util/base64url.js";
import { saveWallet, type PinVerifier, type WalletRecord } from "./store.js";

export { MAX_FAILED_ATTEMPTS };
const PBKDF2_ITERATIONS = 310_000;

async function derive(pin: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(salt), iterations }, material, 256));
}

/** A verifier for a new PIN; throws WEAK_PIN (the library's message and rule) for a trivial one. */
export async function newPinVerifier(pin: string, forbidden: readonly string[] = []): Promise<PinVerifier> {
  assertStrongPin(pin, { forbidden });
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { salt: toBase64url(salt), hash: toBase64url(await derive(pin, salt, PBKDF2_ITERATIONS)), iterations: PBKDF2_ITERATIONS };
}

function lockedError(record: WalletRecord): CivilIdError {
  return new CivilIdError("WALLET_LOCKED", `The wallet is locked after ${MAX_FAILED_ATTEMPTS} wrong PINs and its key was destroyed; ask HR to reissue your ID and activate again.`, {
    details: { lockedAt: record.lockout?.at },
  });
}

/**
 * One PIN attempt against the stored verifier. Answers the record with the counter reset (right PIN); throws
 * WRONG_PIN with `details.attemptsLeft`, or WALLET_LOCKED after destroying the key at the fifth failure.
 */
export async function tryPin(record: WalletRecord, pin: string): Promise<WalletRecord> {
  if (record.lockout !== null || record.deviceKey === null || record.pin === null) throw lockedError(record);
  if (!isWellFormedPin(pin)) throw new CivilIdError("INVALID_INPUT", "A PIN is exactly 6 digits.");
  const charged: WalletRecord = { ...record, failedAttempts: record.failedAttempts + 1 };
  await saveWallet(charged);
  const candidate = await derive(pin, fromBase64url(record.pin.salt), record.pin.iterations);
  const expected = fromBase64url(record.pin.hash);
  let difference = candidate.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) difference |= (candidate[i] ?? 0) ^ (expected[i] ?? 0);
  if (difference === 0) {
    const reset: WalletRecord = { ...charged, failedAttempts: 0 };
    await saveWallet(reset);
    return reset;
  }
  if (charged.failedAttempts >= MAX_FAILED_ATTEMPTS) {
    const locked: WalletRecord = {
      ...charged, failedAttempts: MAX_FAILED_ATTEMPTS, deviceKey: null, pin: null, biometric: null, credential: null,
      lockout: { at: new Date().toISOString(), reason: "PIN_LOCKOUT" },
    };
    await saveWallet(locked);
    throw lockedError(locked);
  }
  const attemptsLeft = MAX_FAILED_ATTEMPTS - charged.failedAttempts;
  throw new CivilIdError("WRONG_PIN", `Wrong PIN; ${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} left before the wallet locks.`, {
    details: { attemptsLeft, failedAttempts: charged.failedAttempts },
  });
}
