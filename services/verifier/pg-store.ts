/**
 * PostgreSQL backend of the verifier's store (node-postgres), for several verifier instances behind a load
 * balancer: the same contract as SqliteVerifierStore — and as the SDK's SqliteChallengeStore for nonces — with
 * every single-use step one conditional UPDATE … RETURNING, which PostgreSQL serialises per row: of two instances
 * consuming the same nonce, one gets "ok" and the other "replayed".
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { CivilIdError } from "../../sdk/errors.js";
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

// BIGINT columns come back as strings by default; our values are unix milliseconds, safe as numbers.
const INT8_OID = 20;

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db */
  readonly connectionString: string;
  /** Pool size (default 10). */
  readonly max?: number;
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
  private readonly pool: pg.Pool;
  private readonly retentionMs: number;
  private readonly now: () => number;

  private constructor(pool: pg.Pool, options: PostgresStoreOptions) {
    this.pool = pool;
    this.retentionMs = options.retentionMs ?? TRANSACTION_RETENTION_MS;
    this.now = options.now ?? Date.now;
  }

  /** Connects and creates the tables if needed (idempotent: every instance may run it at start). */
  static async open(options: PostgresStoreOptions): Promise<PostgresVerifierStore> {
    const types = {
      getTypeParser: (oid: number, format?: string): unknown => (oid === INT8_OID ? Number : (pg.types.getTypeParser(oid, format as "text") as unknown)),
    } as unknown as pg.CustomTypesConfig;
    const pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10, types });
    // An idle client's connection error must not crash the process: the next query reports it.
    pool.on("error", () => undefined);
    try {
      const client = await pool.connect();
      try {
        // Two instances starting at once: serialise the DDL.
        await client.query("SELECT pg_advisory_lock(72616001)");
        await client.query(SCHEMA);
        await client.query("SELECT pg_advisory_unlock(72616001)");
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      throw new CivilIdError("INVALID_INPUT", `Cannot open the PostgreSQL store: ${error instanceof Error ? error.message : String(error)}. Check the connection URL and that the server runs.`, { cause: error });
    }
    return new PostgresVerifierStore(pool, options);
  }

  async issueNonce(scope: ChallengeScope, ttlMs: number): Promise<IssuedChallenge> {
    checkScope(scope);
    if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_CHALLENGE_TTL_MS || ttlMs > MAX_CHALLENGE_TTL_MS) {
      throw new CivilIdError("INVALID_INPUT", `A challenge lifetime must be from ${MIN_CHALLENGE_TTL_MS / 1000} s to ${MAX_CHALLENGE_TTL_MS / 60_000} minutes.`);
    }
    const t = this.now();
    await this.pool.query("DELETE FROM challenges WHERE expires_at < $1", [t - this.retentionMs]);
    const challenge = randomBytes(16).toString("base64url");
    await this.pool.query("INSERT INTO challenges (challenge, audience, policy, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)", [challenge, scope.audience, scope.policy, t, t + ttlMs]);
    return { challenge, audience: scope.audience, policy: scope.policy, issuedAt: new Date(t).toISOString(), expiresAt: new Date(t + ttlMs).toISOString() };
  }

  async consumeNonce(scope: ChallengeScope, nonce: string): Promise<ChallengeVerdict> {
    checkScope(scope);
    if (typeof nonce !== "string" || nonce.length === 0 || nonce.length > 512) return "unknown";
    const t = this.now();
    const used = await this.pool.query<{ expires_at: number }>(
      "UPDATE challenges SET used_at = $1 WHERE challenge = $2 AND audience = $3 AND policy = $4 AND used_at IS NULL RETURNING expires_at",
      [t, nonce, scope.audience, scope.policy],
    );
    const row = used.rows[0];
    if (row !== undefined) return t > row.expires_at ? "expired" : "ok";
    const known = await this.pool.query("SELECT 1 FROM challenges WHERE challenge = $1 AND audience = $2 AND policy = $3", [nonce, scope.audience, scope.policy]);
    return known.rowCount === 1 ? "replayed" : "unknown";
  }

  async createTransaction(tx: NewTransaction): Promise<void> {
    await this.pool.query("DELETE FROM presentation_transactions WHERE expires_at < $1", [this.now() - this.retentionMs]);
    await this.pool.query(
      "INSERT INTO presentation_transactions (id, nonce, client_id, use, flow, redirect_uri, request_object, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      [tx.id, tx.nonce, tx.clientId, tx.use, tx.flow, tx.redirectUri ?? null, tx.requestObject, tx.createdAt, tx.expiresAt],
    );
  }

  async transaction(id: string): Promise<StoredTransaction | undefined> {
    const result = await this.pool.query("SELECT * FROM presentation_transactions WHERE id = $1", [id]);
    const row = result.rows[0] as Parameters<typeof transactionFromRow>[0] | undefined;
    return row === undefined ? undefined : transactionFromRow(row);
  }

  async answerTransaction(id: string, answer: TransactionAnswer, responseCode: string | undefined): Promise<boolean> {
    const result = await this.pool.query(
      "UPDATE presentation_transactions SET answer = $1, answered_at = $2, response_code_hash = $3 WHERE id = $4 AND answer IS NULL",
      [JSON.stringify({ ok: answer.ok, result: answer.result }), answer.answeredAt, responseCode === undefined ? null : codeDigest(responseCode), id],
    );
    return result.rowCount === 1;
  }

  async redeemResponseCode(id: string, responseCode: string, now: number): Promise<RedeemOutcome> {
    const digest = codeDigest(responseCode);
    const result = await this.pool.query("UPDATE presentation_transactions SET redeemed_at = $1 WHERE id = $2 AND response_code_hash = $3 AND redeemed_at IS NULL RETURNING *", [now, id, digest]);
    const row = result.rows[0] as Parameters<typeof transactionFromRow>[0] | undefined;
    if (row !== undefined) {
      const tx = transactionFromRow(row);
      return tx.answer === undefined ? { status: "unanswered" } : { status: "ok", answer: tx.answer };
    }
    const known = await this.pool.query<{ redeemed_at: number | null; response_code_hash: string | null }>("SELECT redeemed_at, response_code_hash FROM presentation_transactions WHERE id = $1", [id]);
    const k = known.rows[0];
    if (k?.response_code_hash === digest && k.redeemed_at !== null) return { status: "redeemed" };
    return { status: k !== undefined && k.response_code_hash === null ? "unanswered" : "unknown" };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
