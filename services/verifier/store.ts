/**
 * The verifier service's state: single-use nonces (the challenge store, per audience and use) and presentation
 * transactions (OpenID4VP `state`): what was asked, the signed request object, and the one answer. Two backends
 * with the same contract — SQLite (embedded default, one machine) and PostgreSQL (several instances behind a load
 * balancer, pg-store.ts). Every single-use step is one conditional UPDATE, so of two instances racing on the same
 * nonce, answer or response code, exactly one wins.
 */
import { createHash, randomBytes } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { openDurableDatabase } from "../../sdk/util/sqlite.js";
import { SqliteChallengeStore, type ChallengeScope, type IssuedChallenge } from "../../sdk/verifier/challenge-store.js";
import type { ChallengeVerdict } from "../../sdk/verifier/challenges.js";
import type { UseId } from "../../sdk/relying-party/uses.js";

export type PresentationFlow = "cross-device" | "same-device";

export interface NewTransaction {
  /** Random 128-bit id, base64url; the request's `state`. */
  readonly id: string;
  readonly nonce: string;
  readonly clientId: string;
  readonly use: UseId;
  readonly flow: PresentationFlow;
  /** Same-device: where the wallet sends the holder's browser back (with `response_code`). */
  readonly redirectUri: string | undefined;
  readonly requestObject: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /**
   * Who started it and alone reads its outcome: the terminal's id (terminal API, kiosk sessions) or the login
   * service (LOGIN_REQUESTER). The id travels in the QR code's `request_uri`, so anyone at the gate can read it;
   * another relying party's terminal must still not read the holder's name from it.
   */
  readonly requester: string;
}

/** What the verifier concluded, as stored (JSON of the verification result). */
export interface TransactionAnswer {
  readonly ok: boolean;
  readonly result: Record<string, unknown>;
  readonly answeredAt: number;
}

export interface StoredTransaction extends Omit<NewTransaction, "requester"> {
  /** Undefined for a row written before requesters were recorded: it is read by no one (fail closed). */
  readonly requester: string | undefined;
  readonly answer: TransactionAnswer | undefined;
  readonly redeemedAt: number | undefined;
}

export type RedeemOutcome = { readonly status: "ok"; readonly answer: TransactionAnswer } | { readonly status: "unknown" | "redeemed" | "unanswered" };

/** The contract of both backends (async: PostgreSQL is). */
export interface VerifierStore {
  /** A fresh nonce for `scope`, single use, valid `ttlMs`. */
  issueNonce(scope: ChallengeScope, ttlMs: number): Promise<IssuedChallenge>;
  /** Consumes a nonce atomically: "ok" once, then "replayed"; "expired" when too late; "unknown" otherwise. */
  consumeNonce(scope: ChallengeScope, nonce: string): Promise<ChallengeVerdict>;
  createTransaction(tx: NewTransaction): Promise<void>;
  transaction(id: string): Promise<StoredTransaction | undefined>;
  /** Records the transaction's answer once; false when it was already answered (a replayed response). */
  answerTransaction(id: string, answer: TransactionAnswer, responseCode: string | undefined): Promise<boolean>;
  /** Same-device: hands the answer once to whoever holds the response code the wallet's redirect carried. */
  redeemResponseCode(id: string, responseCode: string, now: number): Promise<RedeemOutcome>;
  close(): Promise<void>;
}

/** 128 random bits, base64url: transaction ids and response codes. */
export function randomToken(): string {
  return randomBytes(16).toString("base64url");
}

/** Response codes are kept as SHA-256 only: a copy of the database redeems nothing. */
export function codeDigest(code: string): string {
  return createHash("sha256").update(code, "utf8").digest("hex");
}

/**
 * The presentation transactions table, one definition for both backends: times are 64-bit integers — INTEGER in a
 * STRICT SQLite table, BIGINT in PostgreSQL.
 */
export function transactionsSchema(dialect: "sqlite" | "postgres"): string {
  const int = dialect === "sqlite" ? "INTEGER" : "BIGINT";
  return `
CREATE TABLE IF NOT EXISTS presentation_transactions (
  id TEXT PRIMARY KEY,
  nonce TEXT NOT NULL,
  client_id TEXT NOT NULL,
  use TEXT NOT NULL,
  flow TEXT NOT NULL,
  redirect_uri TEXT,
  request_object TEXT NOT NULL,
  created_at ${int} NOT NULL,
  expires_at ${int} NOT NULL,
  answer TEXT,
  answered_at ${int},
  response_code_hash TEXT,
  redeemed_at ${int},
  requester TEXT
)${dialect === "sqlite" ? " STRICT" : ""};
CREATE INDEX IF NOT EXISTS presentation_transactions_expiry ON presentation_transactions (expires_at);
${dialect === "postgres" ? "ALTER TABLE presentation_transactions ADD COLUMN IF NOT EXISTS requester TEXT;\n" : ""}`;
}

/** A SQLite table of an earlier version lacks the requester column (SQLite has no ADD COLUMN IF NOT EXISTS). */
function addRequesterColumn(db: DatabaseSync): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('presentation_transactions')").all() as { name: string }[];
  if (!columns.some((c) => c.name === "requester")) db.exec("ALTER TABLE presentation_transactions ADD COLUMN requester TEXT");
}

interface TransactionRow {
  id: string;
  nonce: string;
  client_id: string;
  use: string;
  flow: string;
  redirect_uri: string | null;
  request_object: string;
  created_at: number;
  expires_at: number;
  answer: string | null;
  answered_at: number | null;
  redeemed_at: number | null;
  requester: string | null;
}

/** Rows live this long past their expiry (a late replay is still told apart from an unknown id), then go. */
export const TRANSACTION_RETENTION_MS = 86_400_000;

export function transactionFromRow(row: TransactionRow): StoredTransaction {
  return {
    id: row.id,
    nonce: row.nonce,
    clientId: row.client_id,
    use: row.use as UseId,
    flow: row.flow as PresentationFlow,
    redirectUri: row.redirect_uri ?? undefined,
    requestObject: row.request_object,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    answer: row.answer === null ? undefined : { ...(JSON.parse(row.answer) as Omit<TransactionAnswer, "answeredAt">), answeredAt: Number(row.answered_at) },
    redeemedAt: row.redeemed_at === null ? undefined : Number(row.redeemed_at),
    requester: row.requester ?? undefined,
  };
}

/** SQLite backend: the SDK's SqliteChallengeStore for nonces, plus the transactions table, in one file. */
export class SqliteVerifierStore implements VerifierStore {
  private readonly challenges: SqliteChallengeStore;
  private readonly db: DatabaseSync;

  constructor(file: string, private readonly now: () => number = Date.now) {
    this.challenges = new SqliteChallengeStore(file, { now });
    try {
      this.db = openDurableDatabase(file, transactionsSchema("sqlite"));
      addRequesterColumn(this.db);
    } catch (error) {
      this.challenges.close();
      throw error;
    }
  }

  issueNonce(scope: ChallengeScope, ttlMs: number): Promise<IssuedChallenge> {
    return Promise.resolve(this.challenges.issue(scope, ttlMs));
  }

  consumeNonce(scope: ChallengeScope, nonce: string): Promise<ChallengeVerdict> {
    return Promise.resolve(this.challenges.consume(scope, nonce));
  }

  createTransaction(tx: NewTransaction): Promise<void> {
    this.db.prepare("DELETE FROM presentation_transactions WHERE expires_at < ?").run(this.now() - TRANSACTION_RETENTION_MS);
    this.db
      .prepare("INSERT INTO presentation_transactions (id, nonce, client_id, use, flow, redirect_uri, request_object, created_at, expires_at, requester) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(tx.id, tx.nonce, tx.clientId, tx.use, tx.flow, tx.redirectUri ?? null, tx.requestObject, tx.createdAt, tx.expiresAt, tx.requester);
    return Promise.resolve();
  }

  transaction(id: string): Promise<StoredTransaction | undefined> {
    const row = this.db.prepare("SELECT * FROM presentation_transactions WHERE id = ?").get(id) as TransactionRow | undefined;
    return Promise.resolve(row === undefined ? undefined : transactionFromRow(row));
  }

  answerTransaction(id: string, answer: TransactionAnswer, responseCode: string | undefined): Promise<boolean> {
    const changed = this.db
      .prepare("UPDATE presentation_transactions SET answer = ?, answered_at = ?, response_code_hash = ? WHERE id = ? AND answer IS NULL")
      .run(JSON.stringify({ ok: answer.ok, result: answer.result }), answer.answeredAt, responseCode === undefined ? null : codeDigest(responseCode), id);
    return Promise.resolve(Number(changed.changes) === 1);
  }

  redeemResponseCode(id: string, responseCode: string, now: number): Promise<RedeemOutcome> {
    const row = this.db
      .prepare("UPDATE presentation_transactions SET redeemed_at = ? WHERE id = ? AND response_code_hash = ? AND redeemed_at IS NULL RETURNING *")
      .get(now, id, codeDigest(responseCode)) as TransactionRow | undefined;
    if (row !== undefined) {
      const tx = transactionFromRow(row);
      return Promise.resolve(tx.answer === undefined ? { status: "unanswered" } : { status: "ok", answer: tx.answer });
    }
    const known = this.db.prepare("SELECT redeemed_at, response_code_hash FROM presentation_transactions WHERE id = ?").get(id) as
      | { redeemed_at: number | null; response_code_hash: string | null } | undefined;
    if (known?.response_code_hash === codeDigest(responseCode) && known.redeemed_at !== null) return Promise.resolve({ status: "redeemed" });
    return Promise.resolve({ status: known?.response_code_hash === null && known !== undefined ? "unanswered" : "unknown" });
  }

  close(): Promise<void> {
    this.challenges.close();
    if (this.db.isOpen) this.db.close();
    return Promise.resolve();
  }
}
