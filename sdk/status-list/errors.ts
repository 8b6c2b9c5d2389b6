import { CivilIdError } from "../errors.js";

/** Why a status list, a bundle or a ledger snapshot was refused (stable, for branching and for tests). */
export type StatusListRefusal =
  | "MALFORMED"
  | "WRONG_TYPE"
  | "BAD_SIGNATURE"
  | "WRONG_KEY"
  | "INSUFFICIENT_SIGNATURES"
  | "EXPIRED"
  | "NOT_YET_VALID"
  | "STALE"
  | "BAD_BLOCK_HASH"
  | "WRONG_CHAIN"
  | "WRONG_SUBJECT"
  | "TAMPERED"
  | "ROLLBACK"
  | "FORK"
  /** The source could not be read (file missing, HTTP failure): nothing was checked, the current snapshot stays. */
  | "UNAVAILABLE";

/**
 * A refused status list (code STATUS_LIST_REFUSED) or ledger snapshot (code SNAPSHOT_REFUSED). `reason` says what
 * was wrong; the message says what to do. Callers refuse the credential / keep their current snapshot.
 */
export class StatusListError extends CivilIdError {
  readonly reason: StatusListRefusal;

  constructor(code: "STATUS_LIST_REFUSED" | "SNAPSHOT_REFUSED", reason: StatusListRefusal, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, details: { reason } });
    this.name = "StatusListError";
    this.reason = reason;
  }
}

export function isStatusListError(error: unknown, reason?: StatusListRefusal): error is StatusListError {
  return error instanceof StatusListError && (reason === undefined || error.reason === reason);
}
