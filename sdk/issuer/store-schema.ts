/**
 * The schema of the issuance workflow (SQLite or PostgreSQL) and the typed records read from it. Rows never leave the store:
 * each read is validated column by column (type, enumerations, decimal ids) and mapped to a camelCase record, so
 * a damaged or hand-edited database is refused by name rather than flowing on as `as`-cast rows.
 */
import { CivilIdError } from "../errors.js";
import { appendOnly, sqlTypes, type SqlDialect } from "../util/sql.js";
import { HR_SOURCES, REISSUE_REASONS, type HrSource, type ReissueReason, type RequestKind } from "./hr-import.js";
import type { JsonObject } from "./identity.js";
import { WORKFLOW_STATES, type WorkflowState } from "./transitions.js";

/** Version 2: the database is bound to its deployment (chain id, deployment block and its hash, registry addresses). */
export const SCHEMA_VERSION = 2;

/** What HR said about a request, and where it stands: the part the stored record and the public view share. */
export interface RequestContent {
  readonly id: string;
  readonly source: HrSource;
  readonly hrRequestId: string;
  readonly state: WorkflowState;
  readonly agencyCode: number;
  readonly organisationName: string;
  readonly department: string;
  readonly position: string;
  readonly name: string;
  readonly employeeRef: string;
  readonly mobile: string;
  readonly holderRef: string;
  readonly kind: RequestKind;
  readonly reissueReason: ReissueReason | undefined;
  /** ISO 8601 UTC, as HR stamped it. */
  readonly requestedAt: string;
}

/** What the workflow recorded about a request as it moved on (same form stored and public; times differ, so they are not here). */
export interface RequestProgress {
  readonly approver: string | undefined;
  readonly rejectionReason: string | undefined;
  readonly identityMethod: string | undefined;
  /** did:ethr of a secp256k1 device key, or did:jwk of a P-256 one (OpenID4VCI ES256 proofs). */
  readonly subjectDid: string | undefined;
  /** secp256k1: the uncompressed public key, 0x04 hex; P-256: the public JWK as JSON. */
  readonly devicePublicKey: string | undefined;
  /** keccak256 binding digest of the credential's content, registered on chain with it (set from registration on). */
  readonly bindingDigest: string | undefined;
  readonly credentialId: bigint | undefined;
  /** The holder's earlier credential that this issuance revoked on chain (SUPERSEDED_BY_REISSUE). */
  readonly supersededId: bigint | undefined;
  /** The later credential that superseded this one. */
  readonly supersededBy: bigint | undefined;
  readonly txHash: string | undefined;
  readonly blockNumber: number | undefined;
  readonly credentialJwt: string | undefined;
}

/** One issuance request. Times are Unix milliseconds unless the name ends in `S` (Unix seconds, as in the JWT). */
export interface RequestRecord extends RequestContent, RequestProgress {
  /** Keyed hash of the HR row's content: an identical re-import is a duplicate, another content a conflict. */
  readonly fingerprint: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly refusalCode: string | undefined;
  readonly refusalReason: string | undefined;
  readonly decidedAt: number | undefined;
  readonly identityVerifiedAt: number | undefined;
  readonly activatedAt: number | undefined;
  /** Block at the registration intent: lower bound of the log search that finds an interrupted registration. */
  readonly intentBlock: number | undefined;
  /** The registrar's next nonce at the intent. */
  readonly intentNonce: number | undefined;
  readonly issuerDid: string | undefined;
  readonly issuedAtS: number | undefined;
  readonly validFromS: number | undefined;
  readonly validUntilS: number | undefined;
  readonly issuedAt: number | undefined;
}

/** The fields a transition may change (`undefined` clears one). */
export type RequestPatch = { -readonly [K in Exclude<keyof RequestRecord, "id" | "source" | "hrRequestId" | "fingerprint" | "holderRef">]?: RequestRecord[K] };

type Kind = "text" | "int" | "id" | "state" | "source" | "kind" | "reason";

/** Record field → [column, kind, nullable]. The one place that knows the column names. */
const REQUEST_COLUMNS: { readonly [K in keyof RequestRecord]-?: readonly [string, Kind, boolean] } = {
  id: ["id", "text", false],
  source: ["source", "source", false],
  hrRequestId: ["hr_request_id", "text", false],
  fingerprint: ["fingerprint", "text", false],
  state: ["state", "state", false],
  agencyCode: ["agency_code", "int", false],
  organisationName: ["organisation_name", "text", false],
  department: ["department", "text", false],
  position: ["position", "text", false],
  name: ["name", "text", false],
  employeeRef: ["employee_ref", "text", false],
  mobile: ["mobile", "text", false],
  holderRef: ["holder_ref", "text", false],
  kind: ["kind", "kind", false],
  reissueReason: ["reissue_reason", "reason", true],
  requestedAt: ["requested_at", "text", false],
  createdAt: ["created_at", "int", false],
  updatedAt: ["updated_at", "int", false],
  refusalCode: ["refusal_code", "text", true],
  refusalReason: ["refusal_reason", "text", true],
  approver: ["approver", "text", true],
  decidedAt: ["decided_at", "int", true],
  rejectionReason: ["rejection_reason", "text", true],
  identityMethod: ["identity_method", "text", true],
  identityVerifiedAt: ["identity_verified_at", "int", true],
  subjectDid: ["subject_did", "text", true],
  devicePublicKey: ["device_public_key", "text", true],
  activatedAt: ["activated_at", "int", true],
  intentBlock: ["intent_block", "int", true],
  intentNonce: ["intent_nonce", "int", true],
  issuerDid: ["issuer_did", "text", true],
  issuedAtS: ["issued_at_s", "int", true],
  validFromS: ["valid_from_s", "int", true],
  validUntilS: ["valid_until_s", "int", true],
  bindingDigest: ["binding_digest", "text", true],
  credentialId: ["credential_id", "id", true],
  supersededId: ["superseded_id", "id", true],
  supersededBy: ["superseded_by", "id", true],
  txHash: ["tx_hash", "text", true],
  blockNumber: ["block_number", "int", true],
  credentialJwt: ["credential_jwt", "text", true],
  issuedAt: ["issued_at", "int", true],
};

export const REQUEST_FIELDS = Object.keys(REQUEST_COLUMNS) as (keyof RequestRecord)[];

function corrupt(table: string, column: string, key: unknown): never {
  throw new CivilIdError(
    "INVALID_WORKFLOW_STATE",
    `The workflow database holds an invalid ${table}.${column} (row ${String(key)}): it was damaged or edited by hand; restore it from a backup.`,
  );
}

function readValue(table: string, key: unknown, [column, kind, nullable]: readonly [string, Kind, boolean], raw: unknown): unknown {
  if (raw === null || raw === undefined) return nullable ? undefined : corrupt(table, column, key);
  switch (kind) {
    case "int":
      return typeof raw === "number" && Number.isSafeInteger(raw) ? raw : corrupt(table, column, key);
    case "id":
      return typeof raw === "string" && /^(0|[1-9][0-9]{0,77})$/.test(raw) ? BigInt(raw) : corrupt(table, column, key);
    case "state":
      return (WORKFLOW_STATES as readonly unknown[]).includes(raw) ? raw : corrupt(table, column, key);
    case "source":
      return (HR_SOURCES as readonly unknown[]).includes(raw) ? raw : corrupt(table, column, key);
    case "kind":
      return raw === "new" || raw === "reissue" ? raw : corrupt(table, column, key);
    case "reason":
      return (REISSUE_REASONS as readonly unknown[]).includes(raw) ? raw : corrupt(table, column, key);
    case "text":
      return typeof raw === "string" ? raw : corrupt(table, column, key);
  }
}

export function requestFromRow(row: Record<string, unknown>): RequestRecord {
  const out: Record<string, unknown> = {};
  for (const field of REQUEST_FIELDS) out[field] = readValue("requests", row.id, REQUEST_COLUMNS[field], row[REQUEST_COLUMNS[field][0]]);
  return out as unknown as RequestRecord;
}

/** Column names and SQL values of a record or patch (bigints as decimal text, undefined as NULL). */
export function requestColumns(values: Partial<RequestRecord>): { columns: string[]; values: (string | number | null)[] } {
  const columns: string[] = [];
  const out: (string | number | null)[] = [];
  for (const [field, value] of Object.entries(values)) {
    const spec = REQUEST_COLUMNS[field as keyof RequestRecord];
    if (!spec) throw new Error(`WorkflowStore: unknown field ${field}`);
    columns.push(spec[0]);
    out.push(value === undefined ? null : typeof value === "bigint" ? value.toString() : value);
  }
  return { columns, values: out };
}

export interface AuditRecord {
  readonly seq: number;
  readonly requestId: string | undefined;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly from: WorkflowState | undefined;
  readonly to: WorkflowState | undefined;
  readonly details: JsonObject;
}

export interface IdentitySessionRecord {
  readonly id: number;
  readonly requestId: string;
  readonly method: string;
  /** The verifier's session state (JSON object). */
  readonly state: JsonObject;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly maxAttempts: number;
  readonly attempts: number;
  readonly closedAt: number | undefined;
}

export interface InvitationRecord {
  readonly id: number;
  readonly requestId: string;
  readonly tokenHash: string;
  readonly codeHash: string;
  readonly challenge: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly maxAttempts: number;
  readonly attempts: number;
  readonly usedAt: number | undefined;
  readonly revokedAt: number | undefined;
}

export type OutboxStatus = "pending" | "sent" | "failed" | "expired";

export interface OutboxRecord {
  readonly id: number;
  readonly requestId: string;
  readonly purpose: "identity-code" | "invitation";
  readonly to: string;
  /** Plain text while waiting for delivery; erased once delivered, expired or dropped. */
  readonly body: string | undefined;
  readonly redactedBody: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly sentAt: number | undefined;
  readonly lastError: string | undefined;
}

/** A small typed reader of one row: each getter checks the column's type. */
export class RowReader {
  constructor(private readonly table: string, private readonly row: Record<string, unknown>) {}
  private fail(column: string): never {
    return corrupt(this.table, column, this.row.id ?? this.row.seq);
  }
  int(column: string): number {
    const v = this.row[column];
    return typeof v === "number" && Number.isSafeInteger(v) ? v : this.fail(column);
  }
  optInt(column: string): number | undefined {
    return this.row[column] === null ? undefined : this.int(column);
  }
  text(column: string): string {
    const v = this.row[column];
    return typeof v === "string" ? v : this.fail(column);
  }
  optText(column: string): string | undefined {
    return this.row[column] === null ? undefined : this.text(column);
  }
  oneOf<T extends string>(column: string, allowed: readonly T[]): T {
    const v = this.row[column];
    return (allowed as readonly unknown[]).includes(v) ? (v as T) : this.fail(column);
  }
  optState(column: string): WorkflowState | undefined {
    return this.row[column] === null ? undefined : this.oneOf(column, WORKFLOW_STATES);
  }
  json(column: string): JsonObject {
    try {
      const v: unknown = JSON.parse(this.text(column));
      if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as JsonObject;
    } catch {
      // reported below as a damaged column
    }
    return this.fail(column);
  }
}

/**
 * The workflow's tables for either backend (sql.ts): the same columns and constraints; integers are INTEGER in
 * STRICT SQLite tables and BIGINT in PostgreSQL; the audit table is append-only on both.
 */
export function workflowSchema(dialect: SqlDialect): string {
  const t = sqlTypes(dialect);
  return `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)${t.strict};
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL CHECK (source IN ('e-saram', 'insarang')),
  hr_request_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN (${WORKFLOW_STATES.map((s) => `'${s}'`).join(", ")})),
  agency_code ${t.int} NOT NULL,
  organisation_name TEXT NOT NULL,
  department TEXT NOT NULL,
  position TEXT NOT NULL,
  name TEXT NOT NULL,
  employee_ref TEXT NOT NULL,
  mobile TEXT NOT NULL,
  holder_ref TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('new', 'reissue')),
  reissue_reason TEXT,
  requested_at TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  updated_at ${t.int} NOT NULL,
  refusal_code TEXT,
  refusal_reason TEXT,
  approver TEXT,
  decided_at ${t.int},
  rejection_reason TEXT,
  identity_method TEXT,
  identity_verified_at ${t.int},
  subject_did TEXT,
  device_public_key TEXT,
  activated_at ${t.int},
  intent_block ${t.int},
  intent_nonce ${t.int},
  issuer_did TEXT,
  issued_at_s ${t.int},
  valid_from_s ${t.int},
  valid_until_s ${t.int},
  binding_digest TEXT,
  credential_id TEXT UNIQUE,
  superseded_id TEXT,
  superseded_by TEXT,
  tx_hash TEXT,
  block_number ${t.int},
  credential_jwt TEXT,
  issued_at ${t.int},
  UNIQUE (source, hr_request_id)
)${t.strict};
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE INDEX IF NOT EXISTS requests_holder ON requests (holder_ref);
CREATE UNIQUE INDEX IF NOT EXISTS requests_subject ON requests (subject_did) WHERE subject_did IS NOT NULL;
CREATE TABLE IF NOT EXISTS identity_sessions (
  id ${t.id},
  request_id TEXT NOT NULL REFERENCES requests (id),
  method TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  expires_at ${t.int} NOT NULL,
  max_attempts ${t.int} NOT NULL,
  attempts ${t.int} NOT NULL DEFAULT 0,
  closed_at ${t.int}
)${t.strict};
CREATE INDEX IF NOT EXISTS identity_sessions_request ON identity_sessions (request_id);
CREATE TABLE IF NOT EXISTS invitations (
  id ${t.id},
  request_id TEXT NOT NULL REFERENCES requests (id),
  token_hash TEXT NOT NULL UNIQUE,
  code_hash TEXT NOT NULL,
  challenge TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  expires_at ${t.int} NOT NULL,
  max_attempts ${t.int} NOT NULL,
  attempts ${t.int} NOT NULL DEFAULT 0,
  used_at ${t.int},
  revoked_at ${t.int}
)${t.strict};
CREATE INDEX IF NOT EXISTS invitations_request ON invitations (request_id);
CREATE TABLE IF NOT EXISTS outbox (
  id ${t.id},
  request_id TEXT NOT NULL REFERENCES requests (id),
  purpose TEXT NOT NULL,
  to_phone TEXT NOT NULL,
  body TEXT,
  redacted_body TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  expires_at ${t.int} NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'expired')),
  attempts ${t.int} NOT NULL DEFAULT 0,
  sent_at ${t.int},
  last_error TEXT
)${t.strict};
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status);
CREATE TABLE IF NOT EXISTS audit (
  seq ${t.serial},
  request_id TEXT,
  at ${t.int} NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT,
  details TEXT NOT NULL
)${t.strict};
CREATE INDEX IF NOT EXISTS audit_request ON audit (request_id, seq);
${appendOnly(dialect, "audit")}
`;
}
