/**
 * SQLite persistence of the issuance workflow (node:sqlite `DatabaseSync`, WAL journal, synchronous=FULL).
 * Every state transition is one `BEGIN IMMEDIATE … COMMIT` that writes the request row and its audit row
 * together; the audit table is append-only (triggers refuse UPDATE and DELETE). Personal data kept is what the
 * credential and the SMS need; the national person id is never stored (only the holder reference derived
 * from it). The database is bound to one organisation, chain and status registry on creation.
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { openDurableDatabase } from "../util/sqlite.js";
import { CivilIdError } from "../errors.js";
import type { JsonObject } from "./identity.js";

export const SCHEMA_VERSION = 1;

export type WorkflowState =
  | "requested"
  | "refused"
  | "rejected"
  | "approved"
  | "identity_failed"
  | "identity_verified"
  | "invited"
  | "activated"
  | "cancelled"
  | "registering"
  | "registered"
  | "issued";

export const WORKFLOW_STATES: readonly WorkflowState[] = [
  "requested", "refused", "rejected", "approved", "identity_failed", "identity_verified", "invited", "activated",
  "cancelled", "registering", "registered", "issued",
];

/** States a request never leaves. */
export const FINAL_STATES: readonly WorkflowState[] = ["refused", "rejected", "identity_failed", "cancelled", "issued"];

/** One row of `requests`, column for column. Times are unix milliseconds; ids are decimal strings. */
export interface RequestRow {
  id: string;
  source: string;
  hr_request_id: string;
  fingerprint: string;
  state: WorkflowState;
  agency_code: number;
  organisation_name: string;
  department: string;
  position: string;
  name: string;
  employee_ref: string;
  mobile: string;
  holder_ref: string;
  kind: string;
  reissue_reason: string | null;
  requested_at: string;
  created_at: number;
  updated_at: number;
  refusal_code: string | null;
  refusal_reason: string | null;
  approver: string | null;
  decided_at: number | null;
  rejection_reason: string | null;
  identity_method: string | null;
  identity_verified_at: number | null;
  subject_did: string | null;
  device_public_key: string | null;
  activated_at: number | null;
  intent_block: number | null;
  intent_nonce: number | null;
  issuer_did: string | null;
  issued_at_s: number | null;
  valid_from_s: number | null;
  valid_until_s: number | null;
  binding_digest: string | null;
  credential_id: string | null;
  superseded_id: string | null;
  superseded_by: string | null;
  tx_hash: string | null;
  block_number: number | null;
  credential_jwt: string | null;
  issued_at: number | null;
}

const REQUEST_COLUMNS: readonly (keyof RequestRow)[] = [
  "id", "source", "hr_request_id", "fingerprint", "state", "agency_code", "organisation_name", "department", "position",
  "name", "employee_ref", "mobile", "holder_ref", "kind", "reissue_reason", "requested_at", "created_at", "updated_at",
  "refusal_code", "refusal_reason", "approver", "decided_at", "rejection_reason", "identity_method",
  "identity_verified_at", "subject_did", "device_public_key", "activated_at", "intent_block", "intent_nonce",
  "issuer_did", "issued_at_s", "valid_from_s", "valid_until_s", "binding_digest", "credential_id", "superseded_id", "superseded_by", "tx_hash", "block_number", "credential_jwt", "issued_at",
];
const COLUMN_SET = new Set<string>(REQUEST_COLUMNS);

export interface AuditRow {
  seq: number;
  request_id: string | null;
  at: number;
  actor: string;
  action: string;
  from_state: string | null;
  to_state: string | null;
  details: string;
}

export interface IdentitySessionRow {
  id: number;
  request_id: string;
  method: string;
  state: string;
  created_at: number;
  expires_at: number;
  max_attempts: number;
  attempts: number;
  closed_at: number | null;
}

export interface InvitationRow {
  id: number;
  request_id: string;
  token_hash: string;
  code_hash: string;
  challenge: string;
  created_at: number;
  expires_at: number;
  max_attempts: number;
  attempts: number;
  used_at: number | null;
  revoked_at: number | null;
}

export interface OutboxRow {
  id: number;
  request_id: string;
  purpose: string;
  to_phone: string;
  body: string | null;
  redacted_body: string;
  created_at: number;
  expires_at: number;
  status: "pending" | "sent" | "failed" | "expired";
  attempts: number;
  sent_at: number | null;
  last_error: string | null;
}

/** What a database is bound to: opening it for another organisation, chain or registry is refused. */
export interface StoreBinding {
  readonly agencyCode: number;
  readonly chainId: number;
  readonly statusRegistry: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL CHECK (source IN ('e-saram', 'insarang')),
  hr_request_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN (${WORKFLOW_STATES.map((s) => `'${s}'`).join(", ")})),
  agency_code INTEGER NOT NULL,
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
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  refusal_code TEXT,
  refusal_reason TEXT,
  approver TEXT,
  decided_at INTEGER,
  rejection_reason TEXT,
  identity_method TEXT,
  identity_verified_at INTEGER,
  subject_did TEXT,
  device_public_key TEXT,
  activated_at INTEGER,
  intent_block INTEGER,
  intent_nonce INTEGER,
  issuer_did TEXT,
  issued_at_s INTEGER,
  valid_from_s INTEGER,
  valid_until_s INTEGER,
  binding_digest TEXT,
  credential_id TEXT UNIQUE,
  superseded_id TEXT,
  superseded_by TEXT,
  tx_hash TEXT,
  block_number INTEGER,
  credential_jwt TEXT,
  issued_at INTEGER,
  UNIQUE (source, hr_request_id)
) STRICT;
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE INDEX IF NOT EXISTS requests_holder ON requests (holder_ref);
CREATE UNIQUE INDEX IF NOT EXISTS requests_subject ON requests (subject_did) WHERE subject_did IS NOT NULL;
CREATE TABLE IF NOT EXISTS identity_sessions (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests (id),
  method TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  closed_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS identity_sessions_request ON identity_sessions (request_id);
CREATE TABLE IF NOT EXISTS invitations (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests (id),
  token_hash TEXT NOT NULL UNIQUE,
  code_hash TEXT NOT NULL,
  challenge TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  used_at INTEGER,
  revoked_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS invitations_request ON invitations (request_id);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests (id),
  purpose TEXT NOT NULL,
  to_phone TEXT NOT NULL,
  body TEXT,
  redacted_body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'expired')),
  attempts INTEGER NOT NULL DEFAULT 0,
  sent_at INTEGER,
  last_error TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT,
  details TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_request ON audit (request_id, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
`;

export class WorkflowStore {
  private readonly db: DatabaseSync;
  private open = true;

  constructor(file: string, binding: StoreBinding) {
    this.db = openDurableDatabase(file);
    try {
      this.db.exec("PRAGMA foreign_keys = ON;");
      this.transaction(() => {
        this.db.exec(SCHEMA);
        this.bind(file, binding);
      });
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private bind(file: string, binding: StoreBinding): void {
    const wanted: Record<string, string> = {
      schema_version: String(SCHEMA_VERSION),
      agency_code: String(binding.agencyCode),
      chain_id: String(binding.chainId),
      status_registry: binding.statusRegistry.toLowerCase(),
    };
    const rows = this.db.prepare("SELECT key, value FROM meta").all() as unknown as { key: string; value: string }[];
    const have = new Map(rows.map((r) => [r.key, r.value]));
    for (const [key, value] of Object.entries(wanted)) {
      const current = have.get(key);
      if (current === undefined) this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)").run(key, value);
      else if (current !== value) {
        throw new CivilIdError(
          "INVALID_INPUT",
          `${file} belongs to ${key} ${current}, not ${value}: each organisation, chain and status registry has its own workflow database.`,
        );
      }
    }
  }

  close(): void {
    if (this.open) {
      this.open = false;
      this.db.close();
    }
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Runs `fn` in one immediate transaction; any throw (from `fn` or `beforeCommit`) rolls everything back.
   * `fn` must be synchronous: nothing may await while a transaction is open.
   */
  transaction<T>(fn: () => T, beforeCommit?: () => void): T {
    this.assertOpen();
    if (this.db.isTransaction) throw new Error("WorkflowStore: nested transaction");
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      if (result instanceof Promise) throw new Error("WorkflowStore: a transaction body must be synchronous");
      beforeCommit?.();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw error;
    }
  }

  private assertOpen(): void {
    if (!this.open) throw new CivilIdError("INVALID_WORKFLOW_STATE", "The workflow database is closed.");
  }

  private all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    this.assertOpen();
    return this.db.prepare(sql).all(...params) as unknown as T[];
  }

  private one<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    this.assertOpen();
    return this.db.prepare(sql).get(...params) as unknown as T | undefined;
  }

  private run(sql: string, ...params: SQLInputValue[]): { changes: number; lastInsertRowid: number } {
    this.assertOpen();
    const r = this.db.prepare(sql).run(...params);
    return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
  }

  // ---------------------------------------------------------------- requests

  request(id: string): RequestRow | undefined {
    return this.one<RequestRow>("SELECT * FROM requests WHERE id = ?", id);
  }

  requestByHrId(source: string, hrRequestId: string): RequestRow | undefined {
    return this.one<RequestRow>("SELECT * FROM requests WHERE source = ? AND hr_request_id = ?", source, hrRequestId);
  }

  /** Requests of a holder that are still in progress (not in a final state). */
  openRequestsOfHolder(holderRef: string): RequestRow[] {
    return this.all<RequestRow>(
      `SELECT * FROM requests WHERE holder_ref = ? AND state NOT IN (${FINAL_STATES.map(() => "?").join(", ")}) ORDER BY created_at`,
      holderRef, ...FINAL_STATES,
    );
  }

  requestBySubject(subjectDid: string): RequestRow | undefined {
    return this.one<RequestRow>("SELECT * FROM requests WHERE subject_did = ?", subjectDid);
  }

  requestByCredential(credentialId: string): RequestRow | undefined {
    return this.one<RequestRow>("SELECT * FROM requests WHERE credential_id = ?", credentialId);
  }

  insertRequest(row: RequestRow): void {
    const cols = REQUEST_COLUMNS;
    this.run(`INSERT INTO requests (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, ...cols.map((c) => row[c]));
  }

  /** Updates a request that must be in `fromState` (compare-and-set); throws if it is not. */
  updateRequest(id: string, fromState: WorkflowState, patch: Partial<RequestRow>): void {
    const keys = Object.keys(patch) as (keyof RequestRow)[];
    for (const key of keys) if (!COLUMN_SET.has(key) || key === "id") throw new Error(`WorkflowStore: bad column ${key}`);
    const sets = keys.map((k) => `${k} = ?`).join(", ");
    const r = this.run(`UPDATE requests SET ${sets} WHERE id = ? AND state = ?`, ...keys.map((k) => patch[k] as SQLInputValue), id, fromState);
    if (r.changes !== 1) {
      throw new CivilIdError("INVALID_WORKFLOW_STATE", `Request ${id} is no longer ${fromState} (changed concurrently); reload it and retry.`);
    }
  }

  listRequests(filter: { states?: readonly WorkflowState[]; source?: string; limit: number; offset: number }): RequestRow[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.states && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => "?").join(", ")})`);
      params.push(...filter.states);
    }
    if (filter.source) {
      where.push("source = ?");
      params.push(filter.source);
    }
    return this.all<RequestRow>(
      `SELECT * FROM requests ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY created_at, id LIMIT ? OFFSET ?`,
      ...params, filter.limit, filter.offset,
    );
  }

  /** Credential ids already recorded here (to tell a known registration from an unrecorded one). */
  knownCredentialIds(): Set<string> {
    return new Set(this.all<{ credential_id: string }>("SELECT credential_id FROM requests WHERE credential_id IS NOT NULL").map((r) => r.credential_id));
  }

  // ---------------------------------------------------------------- audit

  appendAudit(entry: { requestId: string | null; at: number; actor: string; action: string; from: string | null; to: string | null; details: JsonObject }): void {
    this.run(
      "INSERT INTO audit (request_id, at, actor, action, from_state, to_state, details) VALUES (?, ?, ?, ?, ?, ?, ?)",
      entry.requestId, entry.at, entry.actor, entry.action, entry.from, entry.to, JSON.stringify(entry.details),
    );
  }

  auditOf(requestId: string | null): AuditRow[] {
    return requestId === null
      ? this.all<AuditRow>("SELECT * FROM audit WHERE request_id IS NULL ORDER BY seq")
      : this.all<AuditRow>("SELECT * FROM audit WHERE request_id = ? ORDER BY seq", requestId);
  }

  // ---------------------------------------------------------------- identity sessions

  insertIdentitySession(row: Omit<IdentitySessionRow, "id" | "attempts" | "closed_at">): number {
    return this.run(
      "INSERT INTO identity_sessions (request_id, method, state, created_at, expires_at, max_attempts) VALUES (?, ?, ?, ?, ?, ?)",
      row.request_id, row.method, row.state, row.created_at, row.expires_at, row.max_attempts,
    ).lastInsertRowid;
  }

  identitySessions(requestId: string): IdentitySessionRow[] {
    return this.all<IdentitySessionRow>("SELECT * FROM identity_sessions WHERE request_id = ? ORDER BY id", requestId);
  }

  /** Counts one submission against a session; false when none is left. */
  reserveIdentityAttempt(sessionId: number): boolean {
    return this.run("UPDATE identity_sessions SET attempts = attempts + 1 WHERE id = ? AND attempts < max_attempts AND closed_at IS NULL", sessionId).changes === 1;
  }

  closeIdentitySessions(requestId: string, at: number): void {
    this.run("UPDATE identity_sessions SET closed_at = ? WHERE request_id = ? AND closed_at IS NULL", at, requestId);
  }

  // ---------------------------------------------------------------- invitations

  insertInvitation(row: Omit<InvitationRow, "id" | "attempts" | "used_at" | "revoked_at">): number {
    return this.run(
      "INSERT INTO invitations (request_id, token_hash, code_hash, challenge, created_at, expires_at, max_attempts) VALUES (?, ?, ?, ?, ?, ?, ?)",
      row.request_id, row.token_hash, row.code_hash, row.challenge, row.created_at, row.expires_at, row.max_attempts,
    ).lastInsertRowid;
  }

  invitationByToken(tokenHash: string): InvitationRow | undefined {
    return this.one<InvitationRow>("SELECT * FROM invitations WHERE token_hash = ?", tokenHash);
  }

  invitations(requestId: string): InvitationRow[] {
    return this.all<InvitationRow>("SELECT * FROM invitations WHERE request_id = ? ORDER BY id", requestId);
  }

  revokeInvitations(requestId: string, at: number): void {
    this.run("UPDATE invitations SET revoked_at = ? WHERE request_id = ? AND used_at IS NULL AND revoked_at IS NULL", at, requestId);
  }

  reserveInvitationAttempt(invitationId: number): boolean {
    return this.run(
      "UPDATE invitations SET attempts = attempts + 1 WHERE id = ? AND attempts < max_attempts AND used_at IS NULL AND revoked_at IS NULL",
      invitationId,
    ).changes === 1;
  }

  markInvitationUsed(invitationId: number, at: number): void {
    const r = this.run("UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL", at, invitationId);
    if (r.changes !== 1) throw new CivilIdError("INVITATION_INVALID", "The invitation was already used or replaced.");
  }

  // ---------------------------------------------------------------- outbox

  enqueueSms(row: { requestId: string; purpose: string; to: string; body: string; redactedBody: string; at: number; expiresAt: number }): number {
    return this.run(
      "INSERT INTO outbox (request_id, purpose, to_phone, body, redacted_body, created_at, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
      row.requestId, row.purpose, row.to, row.body, row.redactedBody, row.at, row.expiresAt,
    ).lastInsertRowid;
  }

  outboxMessage(id: number): OutboxRow | undefined {
    return this.one<OutboxRow>("SELECT * FROM outbox WHERE id = ?", id);
  }

  undelivered(): OutboxRow[] {
    return this.all<OutboxRow>("SELECT * FROM outbox WHERE status IN ('pending', 'failed') ORDER BY id");
  }

  outboxOf(requestId: string): OutboxRow[] {
    return this.all<OutboxRow>("SELECT * FROM outbox WHERE request_id = ? ORDER BY id", requestId);
  }

  /** Records a delivery outcome. A delivered or expired message keeps only its redacted text. */
  settleSms(id: number, outcome: { status: "sent" | "failed" | "expired"; at: number; error?: string }): void {
    if (outcome.status === "failed") {
      this.run("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?", outcome.error ?? "unknown", id);
    } else {
      this.run(
        "UPDATE outbox SET status = ?, body = NULL, attempts = attempts + ?, sent_at = ? WHERE id = ?",
        outcome.status, outcome.status === "sent" ? 1 : 0, outcome.status === "sent" ? outcome.at : null, id,
      );
    }
  }

  /** Drops the plain text of still-undelivered messages of a request (e.g. when its code was replaced). */
  expireSms(requestId: string, purpose: string): void {
    this.run("UPDATE outbox SET status = 'expired', body = NULL WHERE request_id = ? AND purpose = ? AND status IN ('pending', 'failed')", requestId, purpose);
  }
}
