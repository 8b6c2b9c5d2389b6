/**
 * Identity verification of the applicant before an invitation is sent. Pluggable: an organisation can use its
 * own method (e.g. an in-person check at the HR desk or a 본인확인 service) by implementing
 * {@link IdentityVerifier}. The workflow keeps the bookkeeping common to all methods — sessions, expiry,
 * attempt limits, audit — so a verifier only creates a session and judges evidence.
 */
import { CivilIdError } from "../errors.js";
import { normaliseText } from "./hr-import.js";
import { checkKey, hashEquals, randomDigits, randomToken, secretHash } from "./secrets.js";

export type JsonObject = { readonly [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;

/** What a verifier may know about the applicant (from the HR request). */
export interface IdentitySubject {
  readonly requestId: string;
  readonly name: string;
  readonly employeeRef: string;
  readonly mobile: string;
  readonly agencyCode: number;
  readonly organisationName: string;
}

/** A new verification session, as the verifier starts it. */
export interface IdentitySession {
  /** Stored by the workflow and given back to `check`. JSON; never a plain secret (store hashes). */
  readonly state: JsonObject;
  /** Unix ms after which the session accepts no evidence. */
  readonly expiresAt: number;
  /** Evidence submissions allowed in this session. */
  readonly maxAttempts: number;
  /** An SMS to the applicant's HR-registered phone, queued in the same transaction as the session. */
  readonly sms?: { readonly body: string; readonly redactedBody: string };
}

export type IdentityCheck =
  | { readonly verified: true; readonly details?: JsonObject }
  | { readonly verified: false; readonly reason: string; readonly details?: JsonObject };

export interface IdentityVerifier {
  /** Recorded with the verification (e.g. "hr-record+sms-otp"). */
  readonly method: string;
  begin(subject: IdentitySubject, now: number): IdentitySession | Promise<IdentitySession>;
  check(subject: IdentitySubject, state: JsonObject, evidence: unknown, now: number): IdentityCheck | Promise<IdentityCheck>;
}

/** Evidence of the default verifier: what the applicant types in. */
export interface HrOtpEvidence {
  readonly name: string;
  readonly employeeRef: string;
  readonly code: string;
}

export interface HrOtpVerifierOptions {
  /** HMAC key for the code hashes (at least 32 bytes). */
  readonly key: Uint8Array;
  /** Code length; default 6. */
  readonly digits?: number;
  /** Code lifetime; default 300 s. */
  readonly ttlSeconds?: number;
  /** Submissions per code; default 5. */
  readonly maxAttempts?: number;
}

const OTP_PURPOSE = "identity-otp";

/**
 * The default verifier: the applicant states their name and employee reference, which must match the HR record
 * of the request, and the one-time code sent by SMS to the phone number HR registered (possession of that phone).
 */
export class HrOtpIdentityVerifier implements IdentityVerifier {
  readonly method = "hr-record+sms-otp";
  private readonly key: Uint8Array;
  private readonly digits: number;
  private readonly ttlMs: number;
  private readonly maxAttempts: number;

  constructor(options: HrOtpVerifierOptions) {
    checkKey(options.key, "identity code key");
    this.key = options.key;
    this.digits = positiveInt(options.digits ?? 6, "digits", 4, 10);
    this.ttlMs = positiveInt(options.ttlSeconds ?? 300, "ttlSeconds", 30, 3600) * 1000;
    this.maxAttempts = positiveInt(options.maxAttempts ?? 5, "maxAttempts", 1, 20);
  }

  begin(subject: IdentitySubject, now: number): IdentitySession {
    const code = randomDigits(this.digits);
    const nonce = randomToken();
    const minutes = Math.round(this.ttlMs / 60_000);
    const text = (c: string) => `[모바일 공무원증] 본인확인 코드 ${c} (${minutes}분 유효). 타인에게 알려주지 마세요.`;
    return {
      state: { nonce, codeHash: secretHash(this.key, OTP_PURPOSE, `${subject.requestId}\0${nonce}`, code) },
      expiresAt: now + this.ttlMs,
      maxAttempts: this.maxAttempts,
      sms: { body: text(code), redactedBody: text("*".repeat(this.digits)) },
    };
  }

  check(subject: IdentitySubject, state: JsonObject, evidence: unknown): IdentityCheck {
    if (typeof evidence !== "object" || evidence === null) return { verified: false, reason: "MALFORMED_EVIDENCE" };
    const e = evidence as Record<string, unknown>;
    if (typeof e.name !== "string" || typeof e.employeeRef !== "string" || typeof e.code !== "string") {
      return { verified: false, reason: "MALFORMED_EVIDENCE" };
    }
    const nonce = state.nonce;
    const codeHash = state.codeHash;
    if (typeof nonce !== "string" || typeof codeHash !== "string") {
      throw new CivilIdError("INVALID_INPUT", "Identity session state is not from this verifier.");
    }
    const recordMatches =
      compactName(e.name) === compactName(subject.name) && e.employeeRef.trim() === subject.employeeRef;
    const code = e.code.trim();
    const codeMatches =
      new RegExp(`^[0-9]{${this.digits}}$`).test(code) &&
      hashEquals(secretHash(this.key, OTP_PURPOSE, `${subject.requestId}\0${nonce}`, code), codeHash);
    if (!recordMatches) return { verified: false, reason: "HR_RECORD_MISMATCH" };
    if (!codeMatches) return { verified: false, reason: "WRONG_CODE" };
    return { verified: true };
  }
}

function compactName(name: string): string {
  return normaliseText(name).replace(/ /g, "");
}

function positiveInt(value: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CivilIdError("INVALID_INPUT", `${what} must be an integer in ${min}..${max}.`);
  }
  return value;
}
