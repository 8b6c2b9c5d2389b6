/**
 * Typed errors of the SDK. Every refusal carries a stable machine-readable `code` and a message that says
 * what to do about it. Callers branch on `code`, never on the message.
 */
export type ErrorCode =
  // input from outside (CLI args, files, JWTs, RPC answers)
  | "INVALID_INPUT"
  | "INVALID_DEPLOYMENT"
  | "DEPLOYMENT_NOT_FOUND"
  | "INVALID_AGENCY_CODE"
  | "INVALID_CREDENTIAL_ID"
  | "MALFORMED_JWT"
  // chain
  | "CHAIN_UNREACHABLE"
  | "CHAIN_ID_MISMATCH"
  | "DEPLOYMENT_MISMATCH"
  /** A contract refused: a decoded revert, with `details.error` (name) and `details.args`. */
  | "CONTRACT_REVERTED"
  /** The node refused the transaction before execution (nonce, fee, underpriced, funds, gas limit). */
  | "TRANSACTION_REJECTED"
  /** A call or transaction failed and the failure could not be decoded (no revert data we know, bad answer). */
  | "CHAIN_CALL_FAILED"
  | "NOT_AUTHORISED"
  // workflow
  | "ORGANISATION_NOT_PARTICIPATING"
  | "INVALID_WORKFLOW_STATE"
  | "REQUEST_NOT_FOUND"
  | "DUPLICATE_REQUEST"
  | "IDENTITY_NOT_VERIFIED"
  | "INVITATION_INVALID"
  | "ACTIVATION_FAILED"
  // wallet
  | "WEAK_PIN"
  | "WRONG_PIN"
  | "WALLET_LOCKED"
  | "WALLET_CORRUPT"
  | "WALLET_EXISTS"
  | "WALLET_NOT_FOUND"
  | "BIOMETRIC_REFUSED"
  | "NO_CREDENTIAL"
  | "CREDENTIAL_SUBJECT_MISMATCH"
  // status index
  | "INDEX_STALE"
  // ledger trust (sdk/status/quorum.ts): a node of another chain; nodes that disagree at the same block
  | "WRONG_CHAIN"
  | "LEDGER_DISAGREEMENT";

export class CivilIdError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CivilIdError";
    this.code = code;
    this.details = options?.details;
  }
}

export function isCivilIdError(error: unknown, code?: ErrorCode): error is CivilIdError {
  return error instanceof CivilIdError && (code === undefined || error.code === code);
}

/** Renders an untrusted value for an error message: never throws (bigint, cycles), never longer than 80 characters. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "bigint" ? `${value}n` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value); // cyclic or otherwise unserialisable: name its type only
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
