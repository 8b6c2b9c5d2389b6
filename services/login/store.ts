/**
 * The login service's state (SQLite): one row per login — the OIDC authorization request it answers, the
 * presentation that authenticates the public servant, and the one-time authorization code (stored as SHA-256).
 * Codes are redeemed by one conditional UPDATE: a code works once, within its lifetime. The token endpoint's access
 * token (also stored as SHA-256 only) lets the client read the same released claims at the userinfo endpoint until
 * it expires.
 */
import type { DatabaseSync } from "node:sqlite";
import { openDurableDatabase } from "../../sdk/util/sqlite.js";
import { codeDigest } from "../verifier/store.js";

export interface LoginRow {
  id: string;
  browser_hash: string;
  client_id: string;
  redirect_uri: string;
  state: string | null;
  nonce: string | null;
  code_challenge: string;
  presentation_id: string;
  created_at: number;
  expires_at: number;
  claims: string | null;
  code_expires_at: number | null;
  code_used_at: number | null;
  access_expires_at: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS logins (
  id TEXT PRIMARY KEY,
  browser_hash TEXT NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  state TEXT,
  nonce TEXT,
  code_challenge TEXT NOT NULL,
  presentation_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  claims TEXT,
  code_hash TEXT UNIQUE,
  code_expires_at INTEGER,
  code_used_at INTEGER,
  access_token_hash TEXT UNIQUE,
  access_expires_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS logins_expiry ON logins (expires_at);
`;

/** Columns added after the first release: a database created before gets them once (SQLite ALTER TABLE ADD COLUMN). */
const ADDED_COLUMNS: readonly (readonly [string, string])[] = [["access_token_hash", "TEXT"], ["access_expires_at", "INTEGER"]];

export class LoginStore {
  private readonly db: DatabaseSync;

  constructor(file: string) {
    this.db = openDurableDatabase(file);
    try {
      this.db.exec(SCHEMA);
      const have = new Set((this.db.prepare("PRAGMA table_info(logins)").all() as { name: string }[]).map((c) => c.name));
      for (const [column, type] of ADDED_COLUMNS) if (!have.has(column)) this.db.exec(`ALTER TABLE logins ADD COLUMN ${column} ${type}`);
      // UNIQUE cannot be added by ALTER TABLE: the index gives an upgraded database the same guarantee.
      this.db.exec("CREATE UNIQUE INDEX IF NOT EXISTS logins_access_token ON logins (access_token_hash)");
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  create(row: Omit<LoginRow, "claims" | "code_expires_at" | "code_used_at" | "access_expires_at">): void {
    this.db.prepare("DELETE FROM logins WHERE expires_at < ?").run(row.created_at - 86_400_000);
    this.db
      .prepare("INSERT INTO logins (id, browser_hash, client_id, redirect_uri, state, nonce, code_challenge, presentation_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(row.id, row.browser_hash, row.client_id, row.redirect_uri, row.state, row.nonce, row.code_challenge, row.presentation_id, row.created_at, row.expires_at);
  }

  get(id: string): LoginRow | undefined {
    return this.db.prepare("SELECT * FROM logins WHERE id = ?").get(id) as LoginRow | undefined;
  }

  /** Attaches the released claims and a fresh code to a login, once. */
  authenticate(id: string, claims: Record<string, unknown>, code: string, codeExpiresAt: number): boolean {
    const r = this.db
      .prepare("UPDATE logins SET claims = ?, code_hash = ?, code_expires_at = ? WHERE id = ? AND claims IS NULL")
      .run(JSON.stringify(claims), codeDigest(code), codeExpiresAt, id);
    return Number(r.changes) === 1;
  }

  /** Redeems an authorization code once; undefined when unknown, used or expired. */
  redeemCode(code: string, now: number): LoginRow | undefined {
    return this.db
      .prepare("UPDATE logins SET code_used_at = ? WHERE code_hash = ? AND code_used_at IS NULL AND code_expires_at >= ? RETURNING *")
      .get(now, codeDigest(code), now) as LoginRow | undefined;
  }

  /**
   * Ends the access token bought with a code that is presented again (a replayed code), also one not granted yet (the
   * first redemption still signing: its grant then fails). True when the login was not revoked already.
   */
  revokeAccessOfReusedCode(code: string): boolean {
    const r = this.db
      .prepare("UPDATE logins SET access_expires_at = 0 WHERE code_hash = ? AND code_used_at IS NOT NULL AND (access_expires_at IS NULL OR access_expires_at > 0)")
      .run(codeDigest(code));
    return Number(r.changes) === 1;
  }

  /** Binds the access token the token endpoint returned to the login (once: a redeemed code has one token). */
  grantAccess(id: string, accessToken: string, expiresAt: number): boolean {
    const r = this.db
      .prepare("UPDATE logins SET access_token_hash = ?, access_expires_at = ? WHERE id = ? AND access_token_hash IS NULL AND access_expires_at IS NULL")
      .run(codeDigest(accessToken), expiresAt, id);
    return Number(r.changes) === 1;
  }

  /** The login an access token was granted for, while it is valid; undefined when unknown or expired. */
  loginOfAccessToken(accessToken: string, now: number): LoginRow | undefined {
    return this.db
      .prepare("SELECT * FROM logins WHERE access_token_hash = ? AND access_expires_at >= ?")
      .get(codeDigest(accessToken), now) as LoginRow | undefined;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
