/**
 * Verifier challenges in SQLite (node:sqlite, WAL), for verifiers whose challenge and verification run in different
 * processes — a gate controller that shows the QR code and a back end that checks the answer, or the `mcid challenge`
 * and `mcid verify` commands. Each challenge is issued for one scope (the verifier's audience and the use policy) and
 * consumed by one atomic `UPDATE … WHERE used_at IS NULL`, so of two processes verifying the same answer at most one
 * succeeds. Rows are kept for `retentionMs` after they expire, so a late replay is still told apart from a challenge
 * that was never issued; then they are deleted.
 */
import { randomBytes } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { openDurableDatabase } from "../util/sqlite.js";
import { CivilIdError } from "../errors.js";
import type { ChallengeStore, ChallengeVerdict } from "./challenges.js";

/** Who a challenge is for: the verifier's audience identifier and the use policy id. */
export interface ChallengeScope {
  readonly audience: string;
  readonly policy: string;
}

export interface IssuedChallenge extends ChallengeScope {
  /** 128 random bits, base64url. */
  readonly challenge: string;
  /** ISO 8601. */
  readonly issuedAt: string;
  readonly expiresAt: string;
}

export interface SqliteChallengeStoreOptions {
  /** Default lifetime of a challenge (ms); default 120 000. */
  readonly ttlMs?: number;
  /** How long a row is kept after its expiry (ms); default one day. */
  readonly retentionMs?: number;
  /** Clock (unix ms), injectable for tests. */
  readonly now?: () => number;
}

export const MIN_CHALLENGE_TTL_MS = 1_000;
export const MAX_CHALLENGE_TTL_MS = 3_600_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS challenges (
  challenge TEXT PRIMARY KEY,
  audience TEXT NOT NULL,
  policy TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS challenges_expiry ON challenges (expires_at);
`;

export class SqliteChallengeStore {
  private readonly db: DatabaseSync;
  private readonly ttlMs: number;
  private readonly retentionMs: number;
  private readonly now: () => number;

  constructor(file: string, options: SqliteChallengeStoreOptions = {}) {
    this.ttlMs = checkTtl(options.ttlMs ?? 120_000);
    this.retentionMs = options.retentionMs ?? 86_400_000;
    if (!Number.isSafeInteger(this.retentionMs) || this.retentionMs < 0) throw new CivilIdError("INVALID_INPUT", "retentionMs must be a non-negative integer.");
    this.now = options.now ?? Date.now;
    this.db = openDurableDatabase(file, SCHEMA);
  }

  /** Issues a challenge for `scope`, valid for `ttlMs` (default: the store's), and drops rows past their retention. */
  issue(scope: ChallengeScope, ttlMs: number = this.ttlMs): IssuedChallenge {
    checkScope(scope);
    const ttl = checkTtl(ttlMs);
    const t = this.now();
    this.db.prepare("DELETE FROM challenges WHERE expires_at < ?").run(t - this.retentionMs);
    const challenge = randomBytes(16).toString("base64url");
    this.db.prepare("INSERT INTO challenges (challenge, audience, policy, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .run(challenge, scope.audience, scope.policy, t, t + ttl);
    return { challenge, audience: scope.audience, policy: scope.policy, issuedAt: new Date(t).toISOString(), expiresAt: new Date(t + ttl).toISOString() };
  }

  /**
   * Consumes `challenge` for `scope` in one statement: "ok", "expired" (consumed, but answered too late), "replayed"
   * (already consumed) or "unknown" (never issued for this scope — a challenge of another audience or policy is not
   * touched, its own verifier can still use it).
   */
  consume(scope: ChallengeScope, challenge: string): ChallengeVerdict {
    checkScope(scope);
    if (typeof challenge !== "string" || challenge.length === 0 || challenge.length > 512) return "unknown";
    const t = this.now();
    const used = this.db
      .prepare("UPDATE challenges SET used_at = ? WHERE challenge = ? AND audience = ? AND policy = ? AND used_at IS NULL RETURNING expires_at")
      .get(t, challenge, scope.audience, scope.policy) as { expires_at: number } | undefined;
    if (used) return t > used.expires_at ? "expired" : "ok";
    const known = this.db.prepare("SELECT 1 AS known FROM challenges WHERE challenge = ? AND audience = ? AND policy = ?").get(challenge, scope.audience, scope.policy);
    return known ? "replayed" : "unknown";
  }

  /** The store seen by one verifier (audience and policy), as a {@link PresentationVerifier} takes it. */
  scoped(scope: ChallengeScope): ChallengeStore {
    checkScope(scope);
    return { issue: () => this.issue(scope).challenge, consume: (challenge) => this.consume(scope, challenge) };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function checkScope(scope: ChallengeScope): void {
  const ok = (v: unknown, max: number) => typeof v === "string" && v.trim().length > 0 && v.length <= max && /^\P{Cc}+$/u.test(v);
  if (typeof scope !== "object" || scope === null || !ok(scope.audience, 2048) || !ok(scope.policy, 128)) {
    throw new CivilIdError("INVALID_INPUT", "A challenge scope needs an audience (the verifier's DID or URL) and a policy id: printable text.");
  }
}

function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_CHALLENGE_TTL_MS || ttlMs > MAX_CHALLENGE_TTL_MS) {
    throw new CivilIdError("INVALID_INPUT", `A challenge lifetime must be from ${MIN_CHALLENGE_TTL_MS / 1000} s to ${MAX_CHALLENGE_TTL_MS / 60_000} minutes.`);
  }
  return ttlMs;
}
