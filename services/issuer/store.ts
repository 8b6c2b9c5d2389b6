import { createHash, randomBytes } from "node:crypto";
import { appendOnly, openSqlDatabase, SqlStore, sqlTypes, type SqlDialect, type StoreLocation } from "../../sdk/util/sql.js";

/**
 * The issuer service's own state, beside each organisation's workflow database: OpenID4VCI pre-authorized
 * codes, access tokens, nonces, issuance transactions (deferred issuance and notifications) and an event log of
 * what the service did on top of the workflows (staff chain actions, wallet notifications). Secrets — codes,
 * tokens, nonces, transaction ids — are stored only as SHA-256 hashes: they are 256-bit random values, so a
 * copy of the database gives nothing to replay. Every change that must not be half done is one transaction. SQLite
 * (embedded) or PostgreSQL (several instances behind a load balancer share it), over sdk/util/sql.ts.
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

function serviceSchema(dialect: SqlDialect): string {
  const t = sqlTypes(dialect);
  return `
CREATE TABLE IF NOT EXISTS offers (
  id TEXT PRIMARY KEY,
  agency ${t.int} NOT NULL,
  request_id TEXT NOT NULL,
  invitation_id ${t.int} NOT NULL,
  code_hash TEXT NOT NULL UNIQUE,
  code_expires_at ${t.int} NOT NULL,
  code_used_at ${t.int},
  created_at ${t.int} NOT NULL
);
CREATE INDEX IF NOT EXISTS offers_invitation ON offers (agency, invitation_id);
CREATE TABLE IF NOT EXISTS access_tokens (
  token_hash TEXT PRIMARY KEY,
  offer_id TEXT NOT NULL REFERENCES offers (id),
  expires_at ${t.int} NOT NULL,
  created_at ${t.int} NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
  nonce_hash TEXT PRIMARY KEY,
  expires_at ${t.int} NOT NULL,
  used_at ${t.int}
);
CREATE TABLE IF NOT EXISTS issuances (
  offer_id TEXT PRIMARY KEY REFERENCES offers (id),
  agency ${t.int} NOT NULL,
  request_id TEXT NOT NULL,
  subject_did TEXT NOT NULL,
  transaction_hash TEXT NOT NULL UNIQUE,
  notification_id TEXT NOT NULL UNIQUE,
  created_at ${t.int} NOT NULL,
  delivered_at ${t.int},
  notified_event TEXT,
  notified_at ${t.int}
);
CREATE TABLE IF NOT EXISTS events (
  seq ${t.serial},
  agency ${t.int} NOT NULL,
  request_id TEXT,
  at ${t.int} NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_request ON events (agency, request_id);
${dialect === "sqlite" ? `
CREATE TRIGGER IF NOT EXISTS events_append_only_u BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_d BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;` : appendOnly(dialect, "events")}
`;
}

export class IssuerServiceStore extends SqlStore {
  /** Opens the store at `location` (SQLite file, or PostgreSQL shared by every issuer instance). */
  static async open(location: StoreLocation): Promise<IssuerServiceStore> {
    return new IssuerServiceStore(await openSqlDatabase(location, serviceSchema, "issuer-service"));
  }

  // ------------------------------------------------------------ offers and pre-authorized codes

  async insertOffer(row: { id: string; agency: number; requestId: string; invitationId: number; code: string; codeExpiresAt: number; at: number }): Promise<void> {
    await this.db.run("INSERT INTO offers (id, agency, request_id, invitation_id, code_hash, code_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [row.id, row.agency, row.requestId, row.invitationId, secretDigest(row.code), row.codeExpiresAt, row.at]);
  }

  async offerByCode(code: string): Promise<OfferRow | undefined> {
    return (await this.db.one("SELECT id, agency, request_id, invitation_id, code_expires_at, code_used_at, created_at FROM offers WHERE code_hash = ?", [secretDigest(code)])) as OfferRow | undefined;
  }

  async offer(id: string): Promise<OfferRow | undefined> {
    return (await this.db.one("SELECT id, agency, request_id, invitation_id, code_expires_at, code_used_at, created_at FROM offers WHERE id = ?", [id])) as OfferRow | undefined;
  }

  /** Whether a code of this invitation was already exchanged for an access token (the link is then spent). */
  async invitationRedeemed(agency: number, invitationId: number): Promise<boolean> {
    return (await this.db.one("SELECT 1 AS x FROM offers WHERE agency = ? AND invitation_id = ? AND code_used_at IS NOT NULL", [agency, invitationId])) !== undefined;
  }

  /**
   * Exchanges a pre-authorized code for an access token, once: marks every code of the invitation used (the link
   * is spent) and stores the token's hash. False when another request — on this instance or another — redeemed
   * the invitation first: the mark is one conditional UPDATE, inside the store's serialised transaction.
   */
  redeem(offer: OfferRow, accessToken: string, expiresAt: number, at: number): Promise<boolean> {
    return this.transaction(async () => {
      if (await this.invitationRedeemed(offer.agency, offer.invitation_id)) return false;
      const marked = await this.db.run("UPDATE offers SET code_used_at = ? WHERE agency = ? AND invitation_id = ? AND code_used_at IS NULL", [at, offer.agency, offer.invitation_id]);
      if (marked.changes === 0) return false;
      await this.db.run("INSERT INTO access_tokens (token_hash, offer_id, expires_at, created_at) VALUES (?, ?, ?, ?)", [secretDigest(accessToken), offer.id, expiresAt, at]);
      return true;
    });
  }

  async accessToken(token: string): Promise<{ offer_id: string; expires_at: number } | undefined> {
    return (await this.db.one("SELECT offer_id, expires_at FROM access_tokens WHERE token_hash = ?", [secretDigest(token)])) as { offer_id: string; expires_at: number } | undefined;
  }

  // ------------------------------------------------------------ nonces

  async insertNonce(nonce: string, expiresAt: number): Promise<void> {
    await this.db.run("INSERT INTO nonces (nonce_hash, expires_at) VALUES (?, ?)", [secretDigest(nonce), expiresAt]);
  }

  /** Consumes a nonce: "ok" once (one conditional UPDATE: of two instances, one wins), then "used"; "unknown" or "expired" otherwise. */
  async consumeNonce(nonce: string, at: number): Promise<"ok" | "unknown" | "used" | "expired"> {
    const hash = secretDigest(nonce);
    const taken = await this.db.run("UPDATE nonces SET used_at = ? WHERE nonce_hash = ? AND used_at IS NULL AND expires_at > ?", [at, hash, at]);
    if (taken.changes === 1) return "ok";
    const row = (await this.db.one("SELECT expires_at, used_at FROM nonces WHERE nonce_hash = ?", [hash])) as { expires_at: number; used_at: number | null } | undefined;
    if (row === undefined) return "unknown";
    return row.used_at !== null ? "used" : "expired";
  }

  async nonceExpiry(nonce: string): Promise<number | undefined> {
    const row = (await this.db.one("SELECT expires_at FROM nonces WHERE nonce_hash = ?", [secretDigest(nonce)])) as { expires_at: number } | undefined;
    return row?.expires_at;
  }

  /** Drops expired codes' tokens and nonces (run now and then; nothing live is touched). */
  prune(at: number): Promise<void> {
    return this.transaction(async () => {
      await this.db.run("DELETE FROM nonces WHERE expires_at < ?", [at - 86_400_000]);
      await this.db.run("DELETE FROM access_tokens WHERE expires_at < ?", [at - 86_400_000]);
    });
  }

  // ------------------------------------------------------------ issuance transactions

  async insertIssuance(row: { offerId: string; agency: number; requestId: string; subjectDid: string; transactionId: string; notificationId: string; at: number }): Promise<void> {
    await this.db.run("INSERT INTO issuances (offer_id, agency, request_id, subject_did, transaction_hash, notification_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [row.offerId, row.agency, row.requestId, row.subjectDid, secretDigest(row.transactionId), row.notificationId, row.at]);
  }

  async issuanceOfOffer(offerId: string): Promise<IssuanceRow | undefined> {
    return (await this.db.one("SELECT * FROM issuances WHERE offer_id = ?", [offerId])) as IssuanceRow | undefined;
  }

  async issuanceByTransaction(transactionId: string): Promise<IssuanceRow | undefined> {
    return (await this.db.one("SELECT * FROM issuances WHERE transaction_hash = ?", [secretDigest(transactionId)])) as IssuanceRow | undefined;
  }

  /** Replaces the deferred transaction id of an issuance (a credential request that repeats gets a fresh one). */
  async setTransactionId(offerId: string, transactionId: string): Promise<void> {
    await this.db.run("UPDATE issuances SET transaction_hash = ? WHERE offer_id = ?", [secretDigest(transactionId), offerId]);
  }

  async markDelivered(offerId: string, at: number): Promise<void> {
    await this.db.run("UPDATE issuances SET delivered_at = COALESCE(delivered_at, ?) WHERE offer_id = ?", [at, offerId]);
  }

  async issuanceByNotification(notificationId: string): Promise<IssuanceRow | undefined> {
    return (await this.db.one("SELECT * FROM issuances WHERE notification_id = ?", [notificationId])) as IssuanceRow | undefined;
  }

  async setNotified(offerId: string, event: string, at: number): Promise<void> {
    await this.db.run("UPDATE issuances SET notified_event = ?, notified_at = ? WHERE offer_id = ?", [event, at, offerId]);
  }

  // ------------------------------------------------------------ events

  async appendEvent(event: { agency: number; requestId: string | null; at: number; actor: string; action: string; details: Record<string, unknown> }): Promise<void> {
    await this.db.run("INSERT INTO events (agency, request_id, at, actor, action, details) VALUES (?, ?, ?, ?, ?, ?)",
      [event.agency, event.requestId, event.at, event.actor, event.action, JSON.stringify(event.details)]);
  }

  async events(agency: number, requestId: string): Promise<EventRow[]> {
    return (await this.db.all("SELECT * FROM events WHERE agency = ? AND request_id = ? ORDER BY seq", [agency, requestId])) as unknown as EventRow[];
  }
}
