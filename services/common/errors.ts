import { z } from "zod";
import { isCivilIdError, type ErrorCode } from "../../sdk/errors.js";

/**
 * The one error body every service answers with. `error` is a stable snake_case code (OAuth 2.0 / OpenID4VCI
 * error codes where a protocol endpoint needs them, e.g. `invalid_grant`, `invalid_proof`); `error_description`
 * says what to do. Optional `issues` name the offending fields of a refused request (never their values).
 */
export const errorBodySchema = z
  .object({
    error: z.string().describe("Stable machine-readable error code (OAuth-compatible where the protocol needs it)."),
    error_description: z.string().describe("What went wrong and what to do about it."),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe("Offending request fields (paths only, never their values)."),
    c_nonce: z.string().optional().describe("OpenID4VCI: a fresh nonce to retry a proof with."),
    interval: z.number().int().optional().describe("OpenID4VCI deferred issuance: seconds to wait before polling again."),
  })
  .meta({ id: "ErrorBody" });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** The well-known codes of the floor; services add protocol codes (`invalid_grant`, `invalid_proof`, …). */
export type CommonErrorCode =
  | "invalid_request"
  | "invalid_token"
  | "insufficient_scope"
  | "access_denied"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "server_error"
  | "temporarily_unavailable";

/** A refusal with its HTTP status and body. Route handlers throw it; the floor's error handler renders it. */
export class ServiceError extends Error {
  readonly statusCode: number;
  readonly error: string;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    error: CommonErrorCode | (string & {}),
    description: string,
    options?: { extra?: Partial<Omit<ErrorBody, "error" | "error_description">>; headers?: Record<string, string>; cause?: unknown },
  ) {
    super(description, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ServiceError";
    this.statusCode = statusCode;
    this.error = error;
    this.body = { error, error_description: description, ...options?.extra };
    this.headers = options?.headers ?? {};
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof ServiceError;
}

/** HTTP rendering of the SDK's typed errors. A service may catch first and throw a protocol-specific ServiceError. */
const CIVIL_ID_HTTP: Partial<Record<ErrorCode, { status: number; error: CommonErrorCode }>> = {
  INVALID_INPUT: { status: 400, error: "invalid_request" },
  INVALID_AGENCY_CODE: { status: 400, error: "invalid_request" },
  INVALID_CREDENTIAL_ID: { status: 400, error: "invalid_request" },
  MALFORMED_JWT: { status: 400, error: "invalid_request" },
  NOT_AUTHORISED: { status: 403, error: "access_denied" },
  ORGANISATION_NOT_PARTICIPATING: { status: 403, error: "access_denied" },
  REQUEST_NOT_FOUND: { status: 404, error: "not_found" },
  INVALID_WORKFLOW_STATE: { status: 409, error: "conflict" },
  DUPLICATE_REQUEST: { status: 409, error: "conflict" },
  IDENTITY_NOT_VERIFIED: { status: 409, error: "conflict" },
  INVITATION_INVALID: { status: 400, error: "invalid_request" },
  ACTIVATION_FAILED: { status: 400, error: "invalid_request" },
  CHAIN_UNREACHABLE: { status: 503, error: "temporarily_unavailable" },
  INDEX_STALE: { status: 503, error: "temporarily_unavailable" },
};

/** Maps anything thrown to a ServiceError; unknown errors become a 500 whose description reveals nothing. */
export function toServiceError(error: unknown): ServiceError {
  if (isServiceError(error)) return error;
  if (isCivilIdError(error)) {
    const mapped = CIVIL_ID_HTTP[error.code];
    if (mapped !== undefined) return new ServiceError(mapped.status, mapped.error, error.message, { cause: error });
    return new ServiceError(500, "server_error", "The service failed; the failure is logged.", { cause: error });
  }
  return new ServiceError(500, "server_error", "The service failed; the failure is logged.", { cause: error });
}
