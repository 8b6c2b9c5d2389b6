import { createHash, randomBytes } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { openDurableDatabase } from "../../sdk/util/sqlite.js";

/**
 * The issuer service's own state, beside each organisation's workflow database: OpenID4VCI pre-authorized
 * codes, access tokens, nonces, issuance transactions (deferred issuance and notifications) and an event log of
 * what the service did on top of the workflows (staff chain actions, wallet notifications). Secrets — codes,
 * tokens, nonces, transaction ids — are stored only as SHA-256 hashes: they are 256-bit random values, so a
 * copy of the database gives nothing to replay. Every change that must not be half done is one transaction.
 */
export const SECRET_BYTES = 32;

export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

export function secretDigest(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export interface OfferRow {
  id: string;
  agency: number;
  request_id: string;
  invitation_id: number;
  code_expires_at: number;
  code_used_at: number | null;
  created_at: number;
}

export interface IssuanceRow {
  offer_id: string;
  agency: number;
  request_id: string;
  subject_did: string;
  transaction_hash: string;
  notification_id: string;
  created_at: number;
  delivered_at: number | null;
  notified_event: string | null;
}

export interface EventRow {
  seq: number;
  agency: number;
  request_id: string | null;
  at: number;
  actor: string;
  action: string;
  details: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS offers (
  id TEXT PRIMARY KEY,
  agency INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  invitation_id INTEGER NOT NULL,
  code_hash TEXT NOT NULL UNIQUE,
  code_expires_at INTEGER NOT NULL,
  code_used_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS offers_invitation ON offers (agency, invitation_id);
CREATE TABLE IF NOT EXISTS access_tokens (
  token_hash TEXT PRIMARY KEY,
  offer_id TEXT NOT NULL REFERENCES offers (id),
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
  nonce_hash TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE TABLE IF NOT EXISTS issuances (
  offer_id TEXT PRIMARY KEY REFERENCES offers (id),
  agency INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  subject_did TEXT NOT NULL,
  transaction_hash TEXT NOT NULL UNIQUE,
  notification_id TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER,
  notified_event TEXT,
  notified_at INTEGER
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  agency INTEGER NOT NULL,
  request_id TEXT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_request ON events (agency, request_id);
CREATE TRIGGER IF NOT EXISTS events_append_only_u BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_d BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
`;

export class IssuerServiceStore {
  private readonly db: DatabaseSync;

  constructor(file: string) {
    this.db = openDurableDatabase(file);
    try {
      this.db.exec("PRAGMA foreign_keys = ON;");
      this.db.exec(SCHEMA);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  transaction<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  // ------------------------------------------------------------ offers and pre-authorized codes

  insertOffer(row: { id: string; agency: number; requestId: string; invitationId: number; code: string; codeExpiresAt: number; at: number }): void {
    this.db
      .prepare("INSERT INTO offers (id, agency, request_id, invitation_id, code_hash, code_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(row.id, row.agency, row.requestId, row.invitationId, secretDigest(row.code), row.codeExpiresAt, row.at);
  }

  offerByCode(code: string): OfferRow | undefined {
    return this.db.prepare("SELECT id, agency, request_id, invitation_id, code_expires_at, code_used_at, created_at FROM offers WHERE code_hash = ?").get(secretDigest(code)) as
      | OfferRow
      | undefined;
  }

  offer(id: string): OfferRow | undefined {
    return this.db.prepare("SELECT id, agency, request_id, invitation_id, code_expires_at, code_used_at, created_at FROM offers WHERE id = ?").get(id) as OfferRow | undefined;
  }

  /** Whether a code of this invitation was already exchanged for an access token (the link is then spent). */
  invitationRedeemed(agency: number, invitationId: number): boolean {
    return this.db.prepare("SELECT 1 AS x FROM offers WHERE agency = ? AND invitation_id = ? AND code_used_at IS NOT NULL").get(agency, invitationId) !== undefined;
  }

  /**
   * Exchanges a pre-authorized code for an access token, once: marks every code of the invitation used (the link
   * is spent) and stores the token's hash. False when another request redeemed the invitation first.
   */
  redeem(offer: OfferRow, accessToken: string, expiresAt: number, at: number): boolean {
    return this.transaction(() => {
      const taken = this.db.prepare("SELECT 1 AS x FROM offers WHERE agency = ? AND invitation_id = ? AND code_used_at IS NOT NULL").get(offer.agency, offer.invitation_id);
      if (taken !== undefined) return false;
      this.db.prepare("UPDATE offers SET code_used_at = ? WHERE agency = ? AND invitation_id = ?").run(at, offer.agency, offer.invitation_id);
      this.db.prepare("INSERT INTO access_tokens (token_hash, offer_id, expires_at, created_at) VALUES (?, ?, ?, ?)").run(secretDigest(accessToken), offer.id, expiresAt, at);
      return true;
    });
  }

  accessToken(token: string): { offer_id: string; expires_at: number } | undefined {
    return this.db.prepare("SELECT offer_id, expires_at FROM access_tokens WHERE token_hash = ?").get(secretDigest(token)) as { offer_id: string; expires_at: number } | undefined;
  }

  // ------------------------------------------------------------ nonces

  insertNonce(nonce: string, expiresAt: number): void {
    this.db.prepare("INSERT INTO nonces (nonce_hash, expires_at) VALUES (?, ?)").run(secretDigest(nonce), expiresAt);
  }

  /** Consumes a nonce: "ok" once, then "used"; "unknown" or "expired" otherwise. */
  consumeNonce(nonce: string, at: number): "ok" | "unknown" | "used" | "expired" {
    return this.transaction(() => {
      const row = this.db.prepare("SELECT expires_at, used_at FROM nonces WHERE nonce_hash = ?").get(secretDigest(nonce)) as { expires_at: number; used_at: number | null } | undefined;
      if (row === undefined) return "unknown";
      if (row.used_at !== null) return "used";
      if (at >= row.expires_at) return "expired";
      this.db.prepare("UPDATE nonces SET used_at = ? WHERE nonce_hash = ?").run(at, secretDigest(nonce));
      return "ok";
    });
  }

  nonceExpiry(nonce: string): number | undefined {
    const row = this.db.prepare("SELECT expires_at FROM nonces WHERE nonce_hash = ?").get(secretDigest(nonce)) as { expires_at: number } | undefined;
    return row?.expires_at;
  }

  /** Drops expired codes' tokens and nonces (run now and then; nothing live is touched). */
  prune(at: number): void {
    this.transaction(() => {
      this.db.prepare("DELETE FROM nonces WHERE expires_at < ?").run(at - 86_400_000);
      this.db.prepare("DELETE FROM access_tokens WHERE expires_at < ?").run(at - 86_400_000);
    });
  }

  // ------------------------------------------------------------ issuance transactions

  insertIssuance(row: { offerId: string; agency: number; requestId: string; subjectDid: string; transactionId: string; notificationId: string; at: number }): void {
    this.db
      .prepare("INSERT INTO issuances (offer_id, agency, request_id, subject_did, transaction_hash, notification_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(row.offerId, row.agency, row.requestId, row.subjectDid, secretDigest(row.transactionId), row.notificationId, row.at);
  }

  issuanceOfOffer(offerId: string): IssuanceRow | undefined {
    return this.db.prepare("SELECT * FROM issuances WHERE offer_id = ?").get(offerId) as IssuanceRow | undefined;
  }

  issuanceByTransaction(transactionId: string): IssuanceRow | undefined {
    return this.db.prepare("SELECT * FROM issuances WHERE transaction_hash = ?").get(secretDigest(transactionId)) as IssuanceRow | undefined;
  }

  /** Replaces the deferred transaction id of an issuance (a credential request that repeats gets a fresh one). */
  setTransactionId(offerId: string, transactionId: string): void {
    this.db.prepare("UPDATE issuances SET transaction_hash = ? WHERE offer_id = ?").run(secretDigest(transactionId), offerId);
  }

  markDelivered(offerId: string, at: number): void {
    this.db.prepare("UPDATE issuances SET delivered_at = COALESCE(delivered_at, ?) WHERE offer_id = ?").run(at, offerId);
  }

  issuanceByNotification(notificationId: string): IssuanceRow | undefined {
    return this.db.prepare("SELECT * FROM issuances WHERE notification_id = ?").get(notificationId) as IssuanceRow | undefined;
  }

  setNotified(offerId: string, event: string, at: number): void {
    this.db.prepare("UPDATE issuances SET notified_event = ?, notified_at = ? WHERE offer_id = ?").run(event, at, offerId);
  }

  // ------------------------------------------------------------ events

  appendEvent(event: { agency: number; requestId: string | null; at: number; actor: string; action: string; details: Record<string, unknown> }): void {
    this.db
      .prepare("INSERT INTO events (agency, request_id, at, actor, action, details) VALUES (?, ?, ?, ?, ?, ?)")
      .run(event.agency, event.requestId, event.at, event.actor, event.action, JSON.stringify(event.details));
  }

  events(agency: number, requestId: string): EventRow[] {
    return this.db.prepare("SELECT * FROM events WHERE agency = ? AND request_id = ? ORDER BY seq").all(agency, requestId) as unknown as EventRow[];
  }
}
