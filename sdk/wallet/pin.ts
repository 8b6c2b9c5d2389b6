/**
 * PIN policy of the holder wallet.
 *
 * A PIN is exactly six ASCII digits (`0`-`9`; no spaces, no full-width or other Unicode digits). Six digits give
 * 10^6 candidates; with the wallet's 5-attempt lockout an online guesser gets at most 5 tries, so what matters is
 * that the PIN is not one of the few thousand values people pick first. A new PIN is refused when it is
 *
 * - `SAME_DIGIT`        all one digit: 000000, 777777;
 * - `SEQUENCE`          an arithmetic progression modulo 10, ascending or descending, with wrap-around: 123456,
 *                       987654, 890123, 210987, and also other steps: 135791, 246802, 369258, 147036 (90 PINs);
 * - `REPEATED_PATTERN`  a pair or a triple repeated: 121212, 123123, 520520;
 * - `COMMON`            on a short list of PINs that top published frequency lists of real 6-digit PINs and the
 *                       blocklists built from them (keypad shapes such as 147258 / 159753, doubled digits such as
 *                       112233, 123321, well-known numbers);
 * - `BIRTH_DATE`        a calendar date written YYMMDD (any century: 000101-991231, 29 Feb only in years divisible
 *                       by four). YYMMDD is the Korean resident-registration form of a birth date, shown on the
 *                       credential itself and the first thing a finder of the phone would try. Other orders (MMDDYY,
 *                       DDMMYY) are not refused wholesale; pass the holder's own dates in `forbidden` instead;
 * - `PERSONAL`          one of the caller's `forbidden` values (e.g. the holder's birth date in other orders, the
 *                       last six digits of the phone number or employee number).
 *
 * About 3.8% of all PINs are refused (see the exhaustive test); the rules are checked in the order above and the
 * first that matches is reported.
 *
 * Browser-safe (no node: modules): the holder web wallet (web/wallet/) imports this module, so the phone library and
 * the PWA refuse the same PINs and lock after the same number of failures.
 */
import { CivilIdError } from "../errors.js";

export const PIN_LENGTH = 6;
/** Consecutive wrong PINs that lock the wallet and destroy the key (the library's and the web wallet's limit). */
export const MAX_FAILED_ATTEMPTS = 5;

export type WeakPinRule = "FORMAT" | "SAME_DIGIT" | "SEQUENCE" | "REPEATED_PATTERN" | "COMMON" | "BIRTH_DATE" | "PERSONAL";

export type PinAssessment = { ok: true } | { ok: false; rule: WeakPinRule; reason: string };

export interface PinPolicyOptions {
  /** Extra PINs to refuse (rule `PERSONAL`), e.g. the holder's birth date as MMDDYY/DDMMYY. Non-PIN strings are ignored. */
  forbidden?: Iterable<string>;
}

const PIN_FORMAT = /^[0-9]{6}$/;

/**
 * Frequent 6-digit PINs that the structural rules do not already catch (those would be reported under their
 * rule first). Keypad shapes on the phone's 3x4 number pad, doubled digits, mirrors, famous numbers.
 */
export const COMMON_PINS: ReadonlySet<string> = new Set([
  // keypad columns, rows and diagonals
  "147258", "258369", "147369", "159357", "159753", "357159", "753951", "951753",
  "963852", "852741", "789456", "456123", "321654", "654987", "987456", "369147", "147852",
  "789123", "123789", "321987", "258456", "456258", "159456", "753159", "102938",
  // doubled and tripled digits
  "112233", "223344", "334455", "445566", "556677", "667788", "778899", "998877", "887766", "776655",
  "665544", "554433", "443322", "332211", "221100", "001122", "111222", "222333", "333444", "444555",
  "555666", "666777", "777888", "888999", "999888", "111000", "000111", "999000", "000999", "112211",
  "110011", "111122", "112222", "111333", "111555", "111777", "999111",
  // mirrors and near-sequences
  "123321", "321123", "456654", "654456", "789987", "987789", "123654", "654123", "102030", "010203",
  "100200", "203040", "123000", "100000", "200000", "300000", "500000", "900000",
  // numbers people remember
  "520131", "201314", "131420", "142857", "314159", "271828", "112358",
]);

function isSameDigit(pin: string): boolean {
  return [...pin].every((d) => d === pin[0]);
}

/** Constant step modulo 10 between consecutive digits (step 0 is SAME_DIGIT and checked before). */
function isSequence(pin: string): boolean {
  const digits = [...pin].map(Number);
  const step = (digits[1]! - digits[0]! + 10) % 10;
  if (step === 0) return false;
  return digits.every((d, i) => i === 0 || (d - digits[i - 1]! + 10) % 10 === step);
}

function isRepeatedPattern(pin: string): boolean {
  return pin === pin.slice(0, 2).repeat(3) || pin === pin.slice(0, 3).repeat(2);
}

function isYymmdd(pin: string): boolean {
  const yy = Number(pin.slice(0, 2));
  const mm = Number(pin.slice(2, 4));
  const dd = Number(pin.slice(4, 6));
  if (mm < 1 || mm > 12 || dd < 1) return false;
  const daysInMonth = [31, yy % 4 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mm - 1]!;
  return dd <= daysInMonth;
}

/** Checks a candidate PIN against the policy; never throws. */
export function assessPin(pin: unknown, options: PinPolicyOptions = {}): PinAssessment {
  if (typeof pin !== "string" || !PIN_FORMAT.test(pin)) {
    return { ok: false, rule: "FORMAT", reason: `A PIN is exactly ${PIN_LENGTH} digits 0-9.` };
  }
  if (isSameDigit(pin)) return { ok: false, rule: "SAME_DIGIT", reason: "A PIN of one repeated digit is guessed first." };
  if (isSequence(pin)) {
    return { ok: false, rule: "SEQUENCE", reason: "A PIN whose digits go up or down by a fixed step is guessed first." };
  }
  if (isRepeatedPattern(pin)) {
    return { ok: false, rule: "REPEATED_PATTERN", reason: "A PIN that repeats two or three digits is guessed first." };
  }
  if (COMMON_PINS.has(pin)) return { ok: false, rule: "COMMON", reason: "This PIN is among the most common PINs." };
  if (isYymmdd(pin)) {
    return { ok: false, rule: "BIRTH_DATE", reason: "A PIN that reads as a date (YYMMDD), such as a birth date, is guessed first." };
  }
  for (const value of options.forbidden ?? []) {
    if (value === pin) return { ok: false, rule: "PERSONAL", reason: "This PIN is derived from the holder's personal data." };
  }
  return { ok: true };
}

/** Throws WEAK_PIN (details.rule says which rule) unless `pin` is acceptable as a new PIN. */
export function assertStrongPin(pin: unknown, options: PinPolicyOptions = {}): asserts pin is string {
  const result = assessPin(pin, options);
  if (!result.ok) {
    throw new CivilIdError("WEAK_PIN", `Choose another PIN: ${result.reason}`, { details: { rule: result.rule } });
  }
}

/** True when `pin` is well-formed (6 ASCII digits); used before an unlock attempt, where strength is not judged. */
export function isWellFormedPin(pin: unknown): pin is string {
  return typeof pin === "string" && PIN_FORMAT.test(pin);
}
