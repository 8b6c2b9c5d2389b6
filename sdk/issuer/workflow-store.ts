/**
 * Persistence of the issuance workflow over sql.ts: SQLite (embedded default: node:sqlite, WAL journal,
 * synchronous=FULL) or PostgreSQL (several issuer instances sharing one database, each organisation in its own
 * schema). Every state transition is one transaction that writes the request row and its audit row together
 * (BEGIN IMMEDIATE on SQLite; on PostgreSQL the store's advisory lock, so transitions of one organisation run one at
 * a time across instances); attempt counters and single-use marks are conditional UPDATEs; the audit table is
 * append-only (triggers refuse UPDATE and DELETE, and TRUNCATE on PostgreSQL). Personal data kept is what the
 * credential and the SMS need; the national person id is never stored (only the holder reference derived
 * from it). The database is bound on creation to one organisation and one deployment (chain id, deployment block
 * and its hash, registry addresses); reads return validated camelCase records (store-schema.ts), never raw rows.
 */
import { existsSync } from "node:fs";
import { link, open, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { openSqlDatabase, type SqlDatabase, type SqlDialect, type SqlValue, type StoreLocation } from "../util/sql.js";
import { CivilIdError } from "../errors.js";
import type { JsonObject } from "./identity.js";
import { FINAL_STATES, type WorkflowState } from "./transitions.js";
import {
  RowReader, SCHEMA_VERSION, workflowSchema, requestColumns, requestFromRow,
  type AuditRecord, type IdentitySessionRecord, type InvitationRecord, type OutboxRecord, type OutboxStatus, type RequestPatch, type RequestRecord,
} from "./store-schema.js";

export { SCHEMA_VERSION } from "./store-schema.js";
export { WORKFLOW_STATES, FINAL_STATES, type WorkflowState } from "./transitions.js";
export type { AuditRecord, IdentitySessionRecord, InvitationRecord, OutboxRecord, RequestPatch, RequestRecord } from "./store-schema.js";

/** What a database is bound to: opening it for another organisation or deployment is refused. */
export interface StoreBinding {
  readonly agencyCode: number;
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly issuerRegistry: string;
  readonly didRegistry: string;
  readonly governor: string;
  /** The deployment's first block, and its hash as the node answers it: a restarted chain has another. */
  readonly deploymentBlock: number;
  readonly deploymentBlockHash: string;
}

/** Binding keys that identify the organisation, the chain and the contracts (refused as INVALID_INPUT when they differ). */
const ADDRESS_KEYS = ["agency_code", "chain_id", "status_registry", "issuer_registry", "did_registry", "governor"] as const;

function bindingValues(binding: StoreBinding): Record<string, string> {
  return {
    schema_version: String(SCHEMA_VERSION),
    agency_code: String(binding.agencyCode),
    chain_id: String(binding.chainId),
    status_registry: binding.statusRegistry.toLowerCase(),
    issuer_registry: binding.issuerRegistry.toLowerCase(),
    did_registry: binding.didRegistry.toLowerCase(),
    governor: binding.governor.toLowerCase(),
    deployment_block: String(binding.deploymentBlock),
    deployment_block_hash: binding.deploymentBlockHash.toLowerCase(),
  };
}

export class WorkflowStore {
  private constructor(private readonly db: SqlDatabase, private readonly label: string) {}

  /** Opens (creating if missing) the database at `location` and checks its binding. */
  static async open(location: StoreLocation, binding: StoreBinding): Promise<WorkflowStore> {
    const db = await openSqlDatabase(location, workflowSchema, "issuance-workflow");
    const store = new WorkflowStore(db, locationLabel(location));
    try {
      await store.transaction(() => store.bind(binding));
    } catch (error) {
      await db.close();
      throw error;
    }
    return store;
  }

  /**
   * Whether a workflow database exists at `location`: a SQLite file, or a PostgreSQL schema whose binding was
   * written (the tables of a refused first import stay empty, and count as none).
   */
  static async exists(location: StoreLocation): Promise<boolean> {
    if (location.kind === "sqlite") return existsSync(location.file);
    const db = await openSqlDatabase(location, workflowSchema, "issuance-workflow");
    try {
      return (await db.one("SELECT 1 AS bound FROM meta LIMIT 1")) !== undefined;
    } finally {
      await db.close();
    }
  }

  /**
   * Creates the database at `location` only if `fill` succeeds. SQLite: schema, binding and `fill`'s writes go
   * into a temporary file in the same directory, which is linked into place once complete (never over an
   * existing file); a refusal or a crash leaves no database (at most a `.tmp` file, never opened as one).
   * PostgreSQL: binding and `fill` are one transaction in a schema that holds no binding yet; a refusal rolls
   * both back.
   */
  static async create(location: StoreLocation, binding: StoreBinding, fill: (store: WorkflowStore) => Promise<void>): Promise<void> {
    if (location.kind === "postgres") {
      const db = await openSqlDatabase(location, workflowSchema, "issuance-workflow");
      const store = new WorkflowStore(db, locationLabel(location));
      try {
        await db.transaction(async () => {
          if ((await db.one("SELECT 1 AS bound FROM meta LIMIT 1")) !== undefined) {
            throw new CivilIdError("INVALID_INPUT", `${store.label} holds a workflow database already (created by another instance meanwhile?); nothing was imported here: import again.`);
          }
          await store.bind(binding);
          await fill(store);
        });
      } finally {
        await db.close();
      }
      return;
    }
    const file = location.file;
    if (existsSync(file)) throw new CivilIdError("INVALID_INPUT", `${file} exists already.`);
    const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
    const cleanup = () => Promise.all(["", "-wal", "-shm", "-journal"].map((suffix) => rm(tmp + suffix, { force: true })));
    try {
      const store = await WorkflowStore.open({ kind: "sqlite", file: tmp }, binding);
      try {
        await fill(store);
      } finally {
        await store.close(); // the last connection checkpoints the WAL into the file and removes it
      }
      if (existsSync(tmp + "-wal")) throw new CivilIdError("INVALID_INPUT", `${tmp}: the new database could not be checkpointed.`);
      // link, not rename: it never replaces a database another process created meanwhile.
      try {
        await link(tmp, file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        throw new CivilIdError("INVALID_INPUT", `${file} was created by another process meanwhile; nothing was imported here: import again.`, { cause: error });
      }
      const dir = await open(path.dirname(path.resolve(file)), "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } finally {
      await cleanup();
    }
  }

  private async bind(binding: StoreBinding): Promise<void> {
    const wanted = bindingValues(binding);
    const rows = (await this.db.all("SELECT key, value FROM meta")) as unknown as { key: string; value: string }[];
    const have = new Map(rows.map((r) => [r.key, r.value]));
    for (const key of ADDRESS_KEYS) {
      const current = have.get(key);
      if (current !== undefined && current !== wanted[key]) {
        throw new CivilIdError(
          "INVALID_INPUT",
          `${this.label} belongs to ${key} ${current}, not ${wanted[key]}: each organisation, chain and deployment has its own workflow database.`,
        );
      }
    }
    const block = have.get("deployment_block");
    const hash = have.get("deployment_block_hash");
    if ((block !== undefined && block !== wanted.deployment_block) || (hash !== undefined && hash !== wanted.deployment_block_hash)) {
      throw new CivilIdError(
        "DEPLOYMENT_MISMATCH",
        `${this.label} was created on the deployment whose block ${block ?? "?"} has hash ${hash ?? "?"}, but this deployment's block ` +
          `${wanted.deployment_block} has hash ${wanted.deployment_block_hash}: the chain was restarted or replaced (e.g. \`npm run node\` again) ` +
          "and its contracts were redeployed at the same addresses. The requests and credentials in this database belong to the old chain: " +
          "point the issuing server at that chain, or move the file aside (keep it for the audit) and import the HR requests again.",
        { details: { file: this.label, bound: { deploymentBlock: block, deploymentBlockHash: hash }, node: { deploymentBlock: binding.deploymentBlock, deploymentBlockHash: binding.deploymentBlockHash } } },
      );
    }
    const added: string[] = [];
    for (const [key, value] of Object.entries(wanted)) {
      if (!have.has(key)) {
        await this.db.run("INSERT INTO meta (key, value) VALUES (?, ?)", [key, value]);
        added.push(key);
      }
    }
    const previousSchema = have.get("schema_version");
    if (previousSchema !== undefined && previousSchema !== String(SCHEMA_VERSION)) {
      await this.db.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [String(SCHEMA_VERSION)]);
    }
    // A database of an earlier version (bound to chain and registry only) adopts this deployment once, audited.
    if (have.size > 0 && added.length > 0) {
      await this.appendAudit({
        requestId: null, at: Date.now(), actor: "system", action: "database-bound", from: null, to: null,
        details: { ...pick(wanted, added), ...(previousSchema !== undefined && previousSchema !== String(SCHEMA_VERSION) ? { upgradedFromSchema: previousSchema } : {}) },
      });
    }
  }

  /** Closes the database (waiting for a transaction in progress). */
  close(): Promise<void> {
    return this.db.close();
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  /** "sqlite" (embedded) or "postgres" (shared by several instances). */
  get dialect(): SqlDialect {
    return this.db.dialect;
  }

  /**
   * Runs `fn` in one transaction (BEGIN IMMEDIATE on SQLite; on PostgreSQL one client holding the store's
   * advisory lock, so the organisation's transactions run one at a time across instances). Calls made inside join
   * it; any throw (from `fn` or `beforeCommit`) rolls everything back.
   */
  transaction<T>(fn: () => Promise<T>, beforeCommit?: () => Promise<void> | void): Promise<T> {
    return this.db.transaction(async () => {
      const result = await fn();
      await beforeCommit?.();
      return result;
    });
  }

  private all(sql: string, ...params: SqlValue[]): Promise<Record<string, unknown>[]> {
    return this.db.all(sql, params);
  }

  private one(sql: string, ...params: SqlValue[]): Promise<Record<string, unknown> | undefined> {
    return this.db.one(sql, params);
  }

  private run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }> {
    return this.db.run(sql, params);
  }

  /** An INSERT … RETURNING id (both dialects): the new row's id. */
  private async insertId(sql: string, ...params: SqlValue[]): Promise<number> {
    const row = await this.db.one(`${sql} RETURNING id`, params);
    return new RowReader("insert", row ?? {}).int("id");
  }

  // ---------------------------------------------------------------- requests

  async request(id: string): Promise<RequestRecord | undefined> {
    const row = await this.one("SELECT * FROM requests WHERE id = ?", id);
    return row && requestFromRow(row);
  }

  async requestByHrId(source: string, hrRequestId: string): Promise<RequestRecord | undefined> {
    const row = await this.one("SELECT * FROM requests WHERE source = ? AND hr_request_id = ?", source, hrRequestId);
    return row && requestFromRow(row);
  }

  /** Requests of a holder that are still in progress (not in a final state). */
  async openRequestsOfHolder(holderRef: string): Promise<RequestRecord[]> {
    return (await this.all(
      `SELECT * FROM requests WHERE holder_ref = ? AND state NOT IN (${FINAL_STATES.map(() => "?").join(", ")}) ORDER BY created_at`,
      holderRef, ...FINAL_STATES,
    )).map(requestFromRow);
  }

  async requestBySubject(subjectDid: string): Promise<RequestRecord | undefined> {
    const row = await this.one("SELECT * FROM requests WHERE subject_did = ?", subjectDid);
    return row && requestFromRow(row);
  }

  async requestByCredential(credentialId: bigint): Promise<RequestRecord | undefined> {
    const row = await this.one("SELECT * FROM requests WHERE credential_id = ?", credentialId.toString());
    return row && requestFromRow(row);
  }

  async insertRequest(record: RequestRecord): Promise<void> {
    const { columns, values } = requestColumns(record);
    await this.run(`INSERT INTO requests (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`, ...values);
  }

  /** Updates a request that must be in `fromState` (compare-and-set); throws if it is not. */
  async updateRequest(id: string, fromState: WorkflowState, patch: RequestPatch): Promise<void> {
    const { columns, values } = requestColumns(patch);
    if (columns.length === 0) return;
    const r = await this.run(`UPDATE requests SET ${columns.map((c) => `${c} = ?`).join(", ")} WHERE id = ? AND state = ?`, ...values, id, fromState);
    if (r.changes !== 1) {
      throw new CivilIdError("INVALID_WORKFLOW_STATE", `Request ${id} is no longer ${fromState} (changed concurrently); reload it and retry.`);
    }
  }

  async listRequests(filter: { states?: readonly WorkflowState[]; source?: string; limit: number; offset: number }): Promise<RequestRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.states && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => "?").join(", ")})`);
      params.push(...filter.states);
    }
    if (filter.source) {
      where.push("source = ?");
      params.push(filter.source);
    }
    return (await this.all(
      `SELECT * FROM requests ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY created_at, id LIMIT ? OFFSET ?`,
      ...params, filter.limit, filter.offset,
    )).map(requestFromRow);
  }

  /** Credential ids already recorded here (to tell a known registration from an unrecorded one). */
  async knownCredentialIds(): Promise<Set<bigint>> {
    return new Set((await this.all("SELECT credential_id FROM requests WHERE credential_id IS NOT NULL")).map((r) => BigInt(new RowReader("requests", r).text("credential_id"))));
  }

  // ---------------------------------------------------------------- audit

  async appendAudit(entry: { requestId: string | null; at: number; actor: string; action: string; from: WorkflowState | null; to: WorkflowState | null; details: JsonObject }): Promise<void> {
    await this.run(
      "INSERT INTO audit (request_id, at, actor, action, from_state, to_state, details) VALUES (?, ?, ?, ?, ?, ?, ?)",
      entry.requestId, entry.at, entry.actor, entry.action, entry.from, entry.to, JSON.stringify(entry.details),
    );
  }

  async auditOf(requestId: string | null): Promise<AuditRecord[]> {
    const rows = requestId === null
      ? await this.all("SELECT * FROM audit WHERE request_id IS NULL ORDER BY seq")
      : await this.all("SELECT * FROM audit WHERE request_id = ? ORDER BY seq", requestId);
    return rows.map((row) => {
      const r = new RowReader("audit", row);
      return {
        seq: r.int("seq"), requestId: r.optText("request_id"), at: r.int("at"), actor: r.text("actor"), action: r.text("action"),
        from: r.optState("from_state"), to: r.optState("to_state"), details: r.json("details"),
      };
    });
  }

  // ---------------------------------------------------------------- identity sessions

  insertIdentitySession(session: Omit<IdentitySessionRecord, "id" | "attempts" | "closedAt">): Promise<number> {
    return this.insertId(
      "INSERT INTO identity_sessions (request_id, method, state, created_at, expires_at, max_attempts) VALUES (?, ?, ?, ?, ?, ?)",
      session.requestId, session.method, JSON.stringify(session.state), session.createdAt, session.expiresAt, session.maxAttempts,
    );
  }

  async identitySessions(requestId: string): Promise<IdentitySessionRecord[]> {
    return (await this.all("SELECT * FROM identity_sessions WHERE request_id = ? ORDER BY id", requestId)).map((row) => {
      const r = new RowReader("identity_sessions", row);
      return {
        id: r.int("id"), requestId: r.text("request_id"), method: r.text("method"), state: r.json("state"), createdAt: r.int("created_at"),
        expiresAt: r.int("expires_at"), maxAttempts: r.int("max_attempts"), attempts: r.int("attempts"), closedAt: r.optInt("closed_at"),
      };
    });
  }

  /** Counts one submission against a session (one conditional UPDATE: racing instances cannot both take the last); false when none is left. */
  async reserveIdentityAttempt(sessionId: number): Promise<boolean> {
    return (await this.run("UPDATE identity_sessions SET attempts = attempts + 1 WHERE id = ? AND attempts < max_attempts AND closed_at IS NULL", sessionId)).changes === 1;
  }

  async closeIdentitySessions(requestId: string, at: number): Promise<void> {
    await this.run("UPDATE identity_sessions SET closed_at = ? WHERE request_id = ? AND closed_at IS NULL", at, requestId);
  }

  // ---------------------------------------------------------------- invitations

  insertInvitation(invitation: Omit<InvitationRecord, "id" | "attempts" | "usedAt" | "revokedAt">): Promise<number> {
    return this.insertId(
      "INSERT INTO invitations (request_id, token_hash, code_hash, challenge, created_at, expires_at, max_attempts) VALUES (?, ?, ?, ?, ?, ?, ?)",
      invitation.requestId, invitation.tokenHash, invitation.codeHash, invitation.challenge, invitation.createdAt, invitation.expiresAt, invitation.maxAttempts,
    );
  }

  async invitationByToken(tokenHash: string): Promise<InvitationRecord | undefined> {
    const row = await this.one("SELECT * FROM invitations WHERE token_hash = ?", tokenHash);
    return row && invitationFromRow(row);
  }

  async invitations(requestId: string): Promise<InvitationRecord[]> {
    return (await this.all("SELECT * FROM invitations WHERE request_id = ? ORDER BY id", requestId)).map(invitationFromRow);
  }

  async revokeInvitations(requestId: string, at: number): Promise<void> {
    await this.run("UPDATE invitations SET revoked_at = ? WHERE request_id = ? AND used_at IS NULL AND revoked_at IS NULL", at, requestId);
  }

  /** Counts one activation-code attempt (one conditional UPDATE, counted in the database for every instance). */
  async reserveInvitationAttempt(invitationId: number): Promise<boolean> {
    return (await this.run(
      "UPDATE invitations SET attempts = attempts + 1 WHERE id = ? AND attempts < max_attempts AND used_at IS NULL AND revoked_at IS NULL",
      invitationId,
    )).changes === 1;
  }

  async markInvitationUsed(invitationId: number, at: number): Promise<void> {
    const r = await this.run("UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL", at, invitationId);
    if (r.changes !== 1) throw new CivilIdError("INVITATION_INVALID", "The invitation was already used or replaced.");
  }

  // ---------------------------------------------------------------- outbox

  enqueueSms(message: { requestId: string; purpose: OutboxRecord["purpose"]; to: string; body: string; redactedBody: string; at: number; expiresAt: number }): Promise<number> {
    return this.insertId(
      "INSERT INTO outbox (request_id, purpose, to_phone, body, redacted_body, created_at, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
      message.requestId, message.purpose, message.to, message.body, message.redactedBody, message.at, message.expiresAt,
    );
  }

  async outboxMessage(id: number): Promise<OutboxRecord | undefined> {
    const row = await this.one("SELECT * FROM outbox WHERE id = ?", id);
    return row && outboxFromRow(row);
  }

  async undelivered(): Promise<OutboxRecord[]> {
    return (await this.all("SELECT * FROM outbox WHERE status IN ('pending', 'failed') ORDER BY id")).map(outboxFromRow);
  }

  async outboxOf(requestId: string): Promise<OutboxRecord[]> {
    return (await this.all("SELECT * FROM outbox WHERE request_id = ? ORDER BY id", requestId)).map(outboxFromRow);
  }

  /** Records a delivery outcome. A delivered or expired message keeps only its redacted text. */
  async settleSms(id: number, outcome: { status: "sent" | "failed" | "expired"; at: number; error?: string }): Promise<void> {
    if (outcome.status === "failed") {
      await this.run("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?", outcome.error ?? "unknown", id);
    } else {
      await this.run(
        "UPDATE outbox SET status = ?, body = NULL, attempts = attempts + ?, sent_at = ? WHERE id = ?",
        outcome.status, outcome.status === "sent" ? 1 : 0, outcome.status === "sent" ? outcome.at : null, id,
      );
    }
  }

  /** Drops the plain text of still-undelivered messages of a request (e.g. when its code was replaced). */
  async expireSms(requestId: string, purpose: OutboxRecord["purpose"]): Promise<void> {
    await this.run("UPDATE outbox SET status = 'expired', body = NULL WHERE request_id = ? AND purpose = ? AND status IN ('pending', 'failed')", requestId, purpose);
  }
}

function locationLabel(location: StoreLocation): string {
  return location.kind === "sqlite" ? location.file : `PostgreSQL schema ${location.schema ?? "public"}`;
}

function invitationFromRow(row: Record<string, unknown>): InvitationRecord {
  const r = new RowReader("invitations", row);
  return {
    id: r.int("id"), requestId: r.text("request_id"), tokenHash: r.text("token_hash"), codeHash: r.text("code_hash"), challenge: r.text("challenge"),
    createdAt: r.int("created_at"), expiresAt: r.int("expires_at"), maxAttempts: r.int("max_attempts"), attempts: r.int("attempts"),
    usedAt: r.optInt("used_at"), revokedAt: r.optInt("revoked_at"),
  };
}

const OUTBOX_STATUSES: readonly OutboxStatus[] = ["pending", "sent", "failed", "expired"];
const SMS_PURPOSES: readonly OutboxRecord["purpose"][] = ["identity-code", "invitation"];

function outboxFromRow(row: Record<string, unknown>): OutboxRecord {
  const r = new RowReader("outbox", row);
  return {
    id: r.int("id"), requestId: r.text("request_id"), purpose: r.oneOf("purpose", SMS_PURPOSES), to: r.text("to_phone"), body: r.optText("body"),
    redactedBody: r.text("redacted_body"), createdAt: r.int("created_at"), expiresAt: r.int("expires_at"), status: r.oneOf("status", OUTBOX_STATUSES),
    attempts: r.int("attempts"), sentAt: r.optInt("sent_at"), lastError: r.optText("last_error"),
  };
}

function pick(values: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, values[k]!]));
}
