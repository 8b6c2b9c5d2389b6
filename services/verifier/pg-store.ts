/**
 * PostgreSQL backend of the verifier's store (sdk/util/sql.ts over node-postgres), for several verifier instances behind a load
 * balancer: the same contract as SqliteVerifierStore — and as the SDK's SqliteChallengeStore for nonces — with
 * every single-use step one conditional UPDATE … RETURNING, which PostgreSQL serialises per row: of two instances
 * consuming the same nonce, one gets "ok" and the other "replayed".
 */
import { randomBytes } from "node:crypto";
import { CivilIdError } from "../../sdk/errors.js";
import { openSqlDatabase, type SqlDatabase } from "../../sdk/util/sql.js";
import { MAX_CHALLENGE_TTL_MS, MIN_CHALLENGE_TTL_MS, type ChallengeScope, type IssuedChallenge } from "../../sdk/verifier/challenge-store.js";
import type { ChallengeVerdict } from "../../sdk/verifier/challenges.js";
import {
  TRANSACTION_RETENTION_MS,
  codeDigest,
  transactionFromRow,
  transactionsSchema,
  type NewTransaction,
  type RedeemOutcome,
  type StoredTransaction,
  type TransactionAnswer,
  type VerifierStore,
} from "./store.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS challenges (
  challenge TEXT PRIMARY KEY,
  audience TEXT NOT NULL,
  policy TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX IF NOT EXISTS challenges_expiry ON challenges (expires_at);
${transactionsSchema("postgres")}`;

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db */
  readonly connectionString: string;
  readonly retentionMs?: number;
  readonly now?: () => number;
}

function checkScope(scope: ChallengeScope): void {
  const ok = (v: unknown, max: number) => typeof v === "string" && v.trim().length > 0 && v.length <= max && /^\P{Cc}+$/u.test(v);
  if (typeof scope !== "object" || scope === null || !ok(scope.audience, 2048) || !ok(scope.policy, 128)) {
    throw new CivilIdError("INVALID_INPUT", "A challenge scope needs an audience (the verifier's DID or URL) and a policy id: printable text.");
  }
}

export class PostgresVerifierStore implements VerifierStore {
  private readonly db: SqlDatabase;
  private readonly retentionMs: number;
  private readonly now: () => number;

  private constructor(db: SqlDatabase, options: PostgresStoreOptions) {
    this.db = db;
    this.retentionMs = options.retentionMs ?? TRANSACTION_RETENTION_MS;
    this.now = options.now ?? Date.now;
  }

  /** Connects and creates the tables if needed (idempotent and serialised: every instance may run it at start). */
  static async open(options: PostgresStoreOptions): Promise<PostgresVerifierStore> {
    return new PostgresVerifierStore(await openSqlDatabase({ kind: "postgres", url: options.connectionString }, () => SCHEMA, "verifier"), options);
  }

  async issueNonce(scope: ChallengeScope, ttlMs: number): Promise<IssuedChallenge> {
    checkScope(scope);
    if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_CHALLENGE_TTL_MS || ttlMs > MAX_CHALLENGE_TTL_MS) {
      throw new CivilIdError("INVALID_INPUT", `A challenge lifetime must be from ${MIN_CHALLENGE_TTL_MS / 1000} s to ${MAX_CHALLENGE_TTL_MS / 60_000} minutes.`);
    }
    const t = this.now();
    await this.db.run("DELETE FROM challenges WHERE expires_at < ?", [t - this.retentionMs]);
    const challenge = randomBytes(16).toString("base64url");
    await this.db.run("INSERT INTO challenges (challenge, audience, policy, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)", [challenge, scope.audience, scope.policy, t, t + ttlMs]);
    return { challenge, audience: scope.audience, policy: scope.policy, issuedAt: new Date(t).toISOString(), expiresAt: new Date(t + ttlMs).toISOString() };
  }

  async consumeNonce(scope: ChallengeScope, nonce: string): Promise<ChallengeVerdict> {
    checkScope(scope);
    if (typeof nonce !== "string" || nonce.length === 0 || nonce.length > 512) return "unknown";
    const t = this.now();
    const row = (await this.db.one(
      "UPDATE challenges SET used_at = ? WHERE challenge = ? AND audience = ? AND policy = ? AND used_at IS NULL RETURNING expires_at",
      [t, nonce, scope.audience, scope.policy],
    )) as { expires_at: number } | undefined;
    if (row !== undefined) return t > row.expires_at ? "expired" : "ok";
    const known = await this.db.one("SELECT 1 AS known FROM challenges WHERE challenge = ? AND audience = ? AND policy = ?", [nonce, scope.audience, scope.policy]);
    return known !== undefined ? "replayed" : "unknown";
  }

  async createTransaction(tx: NewTransaction): Promise<void> {
    await this.db.run("DELETE FROM presentation_transactions WHERE expires_at < ?", [this.now() - this.retentionMs]);
    await this.db.run(
      "INSERT INTO presentation_transactions (id, nonce, client_id, use, flow, redirect_uri, request_object, created_at, expires_at, requester) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [tx.id, tx.nonce, tx.clientId, tx.use, tx.flow, tx.redirectUri ?? null, tx.requestObject, tx.createdAt, tx.expiresAt, tx.requester],
    );
  }

  async transaction(id: string): Promise<StoredTransaction | undefined> {
    const row = (await this.db.one("SELECT * FROM presentation_transactions WHERE id = ?", [id])) as Parameters<typeof transactionFromRow>[0] | undefined;
    return row === undefined ? undefined : transactionFromRow(row);
  }

  async answerTransaction(id: string, answer: TransactionAnswer, responseCode: string | undefined): Promise<boolean> {
    const result = await this.db.run(
      "UPDATE presentation_transactions SET answer = ?, answered_at = ?, response_code_hash = ? WHERE id = ? AND answer IS NULL",
      [JSON.stringify({ ok: answer.ok, result: answer.result }), answer.answeredAt, responseCode === undefined ? null : codeDigest(responseCode), id],
    );
    return result.changes === 1;
  }

  async redeemResponseCode(id: string, responseCode: string, now: number): Promise<RedeemOutcome> {
    const digest = codeDigest(responseCode);
    const row = (await this.db.one("UPDATE presentation_transactions SET redeemed_at = ? WHERE id = ? AND response_code_hash = ? AND redeemed_at IS NULL RETURNING *", [now, id, digest])) as
      | Parameters<typeof transactionFromRow>[0]
      | undefined;
    if (row !== undefined) {
      const tx = transactionFromRow(row);
      return tx.answer === undefined ? { status: "unanswered" } : { status: "ok", answer: tx.answer };
    }
    const k = (await this.db.one("SELECT redeemed_at, response_code_hash FROM presentation_transactions WHERE id = ?", [id])) as
      | { redeemed_at: number | null; response_code_hash: string | null }
      | undefined;
    if (k?.response_code_hash === digest && k.redeemed_at !== null) return { status: "redeemed" };
    return { status: k !== undefined && k.response_code_hash === null ? "unanswered" : "unknown" };
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
