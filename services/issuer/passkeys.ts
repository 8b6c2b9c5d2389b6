/**
 * Passkey (WebAuthn) sign-in for issuing staff: enrolment bound to an existing staff identity, then sign-in that
 * opens a short-lived session the staff API accepts beside bearer tokens (docs/WEB.md "Issuing officer console").
 *
 * - Enrolment: an administrator issues a one-time enrolment code for a configured staff member (or the member,
 *   signed in by bearer token or session, adds a passkey for themselves). The code is 100 random bits, stored only
 *   as its SHA-256, valid for a day, consumed in the same transaction that stores the new credential.
 * - Sign-in: discoverable credentials with user verification required. Every challenge is server-side, single
 *   use and short-lived, so a replayed assertion finds its challenge spent; the signature counter is advanced by
 *   compare-and-set in the transaction that opens the session (a cloned authenticator is refused).
 * - Session: a 256-bit token in an HttpOnly, SameSite=Strict cookie (`__Host-` and Secure over https), idle
 *   timeout 15 minutes, at most 8 hours. Requests that change anything must also carry the session's CSRF token
 *   in `x-csrf-token`, and a foreign `Origin` is refused. Roles are never stored in the session: every request
 *   takes them from the staff directory (configuration), so removing a member ends their sessions.
 *
 * State lives in its own SQLite file beside the issuer service's databases; secrets only as hashes.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import type { FastifyReply, FastifyRequest } from "fastify";
import { openSqlDatabase, SqlStore, sqlTypes, type SqlDialect, type StoreLocation } from "../../sdk/util/sql.js";
import { ServiceError, type StaffDirectory, type StaffMember, type StaffSessionAuthenticator } from "../common/index.js";

export const ENROLMENT_TTL_MS = 24 * 3600_000;
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const SESSION_IDLE_MS = 15 * 60_000;
export const SESSION_MAX_MS = 8 * 3600_000;
export const CSRF_HEADER = "x-csrf-token";

/** The WebAuthn relying party: the console's origin. */
export interface RelyingParty {
  readonly id: string;
  readonly name: string;
  readonly origins: readonly string[];
  /** https: the session cookie is `__Host-` prefixed and Secure. */
  readonly secure: boolean;
}

/** Loopback (and the unspecified addresses a development server binds): the browser reaches them as localhost. */
const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost", "0.0.0.0", "[::]"]);

/**
 * The relying party of a public base URL. WebAuthn refuses IP addresses as RP IDs, so a service on a loopback
 * address is a relying party for `localhost` (the console URL `serve` prints uses it).
 */
export function relyingPartyFor(baseUrl: string): RelyingParty {
  const url = new URL(baseUrl);
  const secure = url.protocol === "https:";
  if (LOOPBACK.has(url.hostname)) {
    const port = url.port === "" ? "" : `:${url.port}`;
    return { id: "localhost", name: "mobile-civil-id issuing console", origins: [`${url.protocol}//localhost${port}`], secure };
  }
  return { id: url.hostname, name: "mobile-civil-id issuing console", origins: [url.origin], secure };
}

/** The console's address for a public base URL (loopback addresses spelled `localhost`, see relyingPartyFor). */
export function consoleUrlFor(baseUrl: string, mount = "/officer"): string {
  return `${relyingPartyFor(baseUrl).origins[0]}${mount}/`;
}

function digest(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** 100 random bits as 20 Crockford base-32 characters in groups of five: typeable, no 0/O or 1/I confusion. */
export function newEnrolmentCode(): string {
  const bytes = randomBytes(13);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = "";
  for (let i = 0; i < 20; i++) out += CROCKFORD[Number((bits >> BigInt(i * 5)) & 31n)];
  return out.match(/.{5}/g)!.join("-");
}

/** Normalises a typed enrolment code (case, spaces, dashes, the look-alikes Crockford allows). */
export function normaliseEnrolmentCode(input: string): string {
  const compact = input.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return compact.match(/.{1,5}/g)?.join("-") ?? "";
}

function passkeySchema(dialect: SqlDialect): string {
  const t = sqlTypes(dialect);
  return `
CREATE TABLE IF NOT EXISTS staff_users (
  staff_id TEXT PRIMARY KEY,
  user_handle TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS staff_enrolments (
  code_hash TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  expires_at ${t.int} NOT NULL,
  used_at ${t.int}
);
CREATE TABLE IF NOT EXISTS staff_challenges (
  challenge_hash TEXT PRIMARY KEY,
  purpose TEXT NOT NULL CHECK (purpose IN ('register', 'authenticate')),
  staff_id TEXT,
  enrolment_hash TEXT,
  expires_at ${t.int} NOT NULL,
  used_at ${t.int}
);
CREATE TABLE IF NOT EXISTS staff_passkeys (
  credential_id TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL,
  public_key ${dialect === "sqlite" ? "BLOB" : "BYTEA"} NOT NULL,
  counter ${t.int} NOT NULL,
  transports TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  last_used_at ${t.int}
);
CREATE INDEX IF NOT EXISTS staff_passkeys_staff ON staff_passkeys (staff_id);
CREATE TABLE IF NOT EXISTS staff_sessions (
  token_hash TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  credential_id TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  last_seen_at ${t.int} NOT NULL,
  ended_at ${t.int}
);
`;
}

interface PasskeyRow {
  credential_id: string;
  staff_id: string;
  public_key: Uint8Array;
  counter: number;
  transports: string;
  label: string;
  created_at: number;
  last_used_at: number | null;
}

interface SessionRow {
  token_hash: string;
  staff_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  ended_at: number | null;
}

interface ChallengeRow {
  purpose: "register" | "authenticate";
  staff_id: string | null;
  enrolment_hash: string | null;
  expires_at: number;
  used_at: number | null;
}

export interface PasskeyInfo {
  readonly credentialId: string;
  readonly staffId: string;
  readonly label: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
}

/** The passkey tables (SQLite file, or PostgreSQL shared by every issuer instance); every multi-row change is one transaction. */
export class PasskeyStore extends SqlStore {
  /** Opens the store at `location` (SQLite file, or PostgreSQL shared by every issuer instance). */
  static async open(location: StoreLocation): Promise<PasskeyStore> {
    return new PasskeyStore(await openSqlDatabase(location, passkeySchema, "staff-passkeys"));
  }

  userHandle(staffId: string): Promise<string> {
    return this.transaction(async () => {
      const row = (await this.db.one("SELECT user_handle FROM staff_users WHERE staff_id = ?", [staffId])) as { user_handle: string } | undefined;
      if (row !== undefined) return row.user_handle;
      const handle = randomBytes(32).toString("base64url");
      await this.db.run("INSERT INTO staff_users (staff_id, user_handle) VALUES (?, ?)", [staffId, handle]);
      return handle;
    });
  }

  async insertEnrolment(code: string, staffId: string, createdBy: string, at: number, expiresAt: number): Promise<void> {
    await this.db.run("INSERT INTO staff_enrolments (code_hash, staff_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)", [digest(code), staffId, createdBy, at, expiresAt]);
  }

  /** The staff id of a live (unused, unexpired) enrolment code. */
  async enrolment(code: string, at: number): Promise<string | undefined> {
    const row = (await this.db.one("SELECT staff_id, expires_at, used_at FROM staff_enrolments WHERE code_hash = ?", [digest(code)])) as
      | { staff_id: string; expires_at: number; used_at: number | null }
      | undefined;
    if (row === undefined || row.used_at !== null || at >= row.expires_at) return undefined;
    return row.staff_id;
  }

  async insertChallenge(challenge: string, purpose: ChallengeRow["purpose"], staffId: string | null, enrolmentCode: string | null, expiresAt: number): Promise<void> {
    await this.db.run("INSERT INTO staff_challenges (challenge_hash, purpose, staff_id, enrolment_hash, expires_at) VALUES (?, ?, ?, ?, ?)",
      [digest(challenge), purpose, staffId, enrolmentCode === null ? null : digest(enrolmentCode), expiresAt]);
  }

  /**
   * Spends a challenge: its row once (purpose, staff), then never again; undefined when unknown, used or expired.
   * One conditional UPDATE … RETURNING: of two instances answering with the same assertion, one gets the row.
   */
  async consumeChallenge(challenge: string, purpose: ChallengeRow["purpose"], at: number): Promise<ChallengeRow | undefined> {
    const row = (await this.db.one(
      "UPDATE staff_challenges SET used_at = ? WHERE challenge_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? RETURNING purpose, staff_id, enrolment_hash, expires_at, used_at",
      [at, digest(challenge), purpose, at],
    )) as ChallengeRow | undefined;
    return row;
  }

  /**
   * Stores a new passkey and, when it was enrolled with a code, spends the code — together, or not at all (a code
   * spent meanwhile by another ceremony refuses this one).
   */
  insertPasskey(row: { credentialId: string; staffId: string; publicKey: Uint8Array; counter: number; transports: readonly string[]; label: string; at: number }, enrolmentHash: string | null): Promise<boolean> {
    return this.transaction(async () => {
      if (enrolmentHash !== null) {
        const spent = await this.db.run("UPDATE staff_enrolments SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? AND staff_id = ?", [row.at, enrolmentHash, row.at, row.staffId]);
        if (spent.changes !== 1) return false;
      }
      await this.db.run("INSERT INTO staff_passkeys (credential_id, staff_id, public_key, counter, transports, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [row.credentialId, row.staffId, row.publicKey, row.counter, JSON.stringify(row.transports), row.label, row.at]);
      return true;
    });
  }

  async passkey(credentialId: string): Promise<PasskeyRow | undefined> {
    return (await this.db.one("SELECT * FROM staff_passkeys WHERE credential_id = ?", [credentialId])) as PasskeyRow | undefined;
  }

  async passkeysOf(staffId: string): Promise<PasskeyRow[]> {
    return (await this.db.all("SELECT * FROM staff_passkeys WHERE staff_id = ? ORDER BY created_at", [staffId])) as unknown as PasskeyRow[];
  }

  /** Removes a passkey and ends the sessions it opened. */
  deletePasskey(credentialId: string, at: number): Promise<boolean> {
    return this.transaction(async () => {
      const gone = await this.db.run("DELETE FROM staff_passkeys WHERE credential_id = ?", [credentialId]);
      await this.db.run("UPDATE staff_sessions SET ended_at = ? WHERE credential_id = ? AND ended_at IS NULL", [at, credentialId]);
      return gone.changes === 1;
    });
  }

  /**
   * Advances the passkey's counter from `expected` to `next` and opens a session, in one transaction. False when
   * the counter moved meanwhile (two sign-ins with one assertion race: only one wins).
   */
  openSession(credentialId: string, expected: number, next: number, session: { token: string; csrf: string; staffId: string; at: number }): Promise<boolean> {
    return this.transaction(async () => {
      const moved = await this.db.run("UPDATE staff_passkeys SET counter = ?, last_used_at = ? WHERE credential_id = ? AND counter = ?", [next, session.at, credentialId, expected]);
      if (moved.changes !== 1) return false;
      await this.db.run("INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, credential_id, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
        [digest(session.token), session.staffId, session.csrf, credentialId, session.at, session.at]);
      return true;
    });
  }

  async session(token: string): Promise<SessionRow | undefined> {
    return (await this.db.one("SELECT token_hash, staff_id, csrf_token, created_at, last_seen_at, ended_at FROM staff_sessions WHERE token_hash = ?", [digest(token)])) as SessionRow | undefined;
  }

  async touchSession(tokenHash: string, at: number): Promise<void> {
    await this.db.run("UPDATE staff_sessions SET last_seen_at = ? WHERE token_hash = ? AND ended_at IS NULL", [at, tokenHash]);
  }

  async endSession(tokenHash: string, at: number): Promise<void> {
    await this.db.run("UPDATE staff_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL", [at, tokenHash]);
  }

  /** Drops challenges and sessions that ended (or expired) more than a day ago, and spent enrolment codes. */
  prune(at: number): Promise<void> {
    const before = at - 86_400_000;
    return this.transaction(async () => {
      await this.db.run("DELETE FROM staff_challenges WHERE expires_at < ?", [before]);
      await this.db.run("DELETE FROM staff_sessions WHERE COALESCE(ended_at, last_seen_at + ?) < ? OR created_at + ? < ?", [SESSION_IDLE_MS, before, SESSION_MAX_MS, before]);
      await this.db.run("DELETE FROM staff_enrolments WHERE expires_at < ?", [before]);
    });
  }
}

/** The challenge a WebAuthn response answers (from its clientDataJSON; verification checks it again). */
function challengeOf(response: { response: { clientDataJSON: string } }): string {
  try {
    const client = JSON.parse(Buffer.from(response.response.clientDataJSON, "base64url").toString("utf8")) as { challenge?: unknown };
    if (typeof client.challenge === "string" && /^[A-Za-z0-9_-]{16,200}$/.test(client.challenge)) return client.challenge;
  } catch {
    // falls through to the refusal below: not JSON
  }
  throw new ServiceError(400, "invalid_request", "The WebAuthn response's clientDataJSON is not valid.");
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface SignedIn {
  readonly member: StaffMember<string>;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface StaffPasskeysOptions<Role extends string> {
  readonly store: PasskeyStore;
  readonly directory: StaffDirectory<Role>;
  /** The relying party (a getter: the public URL is known once the service listens). */
  readonly relyingParty: () => RelyingParty;
  readonly now: () => number;
}

/** The passkey ceremonies and sessions over a PasskeyStore; also the staff directory's session authenticator. */
export class StaffPasskeys<Role extends string> implements StaffSessionAuthenticator {
  /** Sessions read by loadSession, per request ("ended": a cookie whose session is over). */
  private readonly sessions = new WeakMap<FastifyRequest, SessionRow | "ended">();

  constructor(private readonly options: StaffPasskeysOptions<Role>) {}

  private get store(): PasskeyStore {
    return this.options.store;
  }

  cookieName(): string {
    return this.options.relyingParty().secure ? "__Host-mcid_staff" : "mcid_staff";
  }

  /** A one-time enrolment code for a configured staff member (shown once to whoever hands it over). */
  async issueEnrolmentCode(staffId: string, createdBy: string): Promise<{ code: string; expiresAt: number }> {
    if (this.options.directory.member(staffId) === undefined) throw new ServiceError(404, "not_found", `No staff member ${staffId} is configured.`);
    const at = this.options.now();
    const code = newEnrolmentCode();
    await this.store.insertEnrolment(code, staffId, createdBy, at, at + ENROLMENT_TTL_MS);
    return { code, expiresAt: at + ENROLMENT_TTL_MS };
  }

  /** Creation options for a new passkey of the member an enrolment code names (or of `self`, already signed in). */
  async registrationOptions(input: { code: string } | { self: StaffMember<Role> }): Promise<{ staffId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const at = this.options.now();
    await this.store.prune(at);
    let staffId: string;
    let code: string | null = null;
    if ("code" in input) {
      code = normaliseEnrolmentCode(input.code);
      const found = await this.store.enrolment(code, at);
      if (found === undefined) throw new ServiceError(401, "invalid_token", "This enrolment code is unknown, used or expired: ask an administrator for a new one.");
      staffId = found;
    } else {
      staffId = input.self.id;
    }
    if (this.options.directory.member(staffId) === undefined) throw new ServiceError(403, "access_denied", `Staff member ${staffId} is no longer configured.`);
    const rp = this.options.relyingParty();
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: staffId,
      userDisplayName: staffId,
      userID: Buffer.from(await this.store.userHandle(staffId), "base64url"),
      attestationType: "none",
      excludeCredentials: (await this.store.passkeysOf(staffId)).map((p) => ({ id: p.credential_id, transports: JSON.parse(p.transports) as string[] })),
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
      timeout: CHALLENGE_TTL_MS,
    });
    await this.store.insertChallenge(options.challenge, "register", staffId, code, at + CHALLENGE_TTL_MS);
    return { staffId, options };
  }

  /** Verifies the authenticator's attestation and stores the passkey (spending the enrolment code). */
  async register(response: RegistrationResponseJSON, label: string): Promise<PasskeyInfo> {
    const at = this.options.now();
    const challenge = challengeOf(response);
    const row = await this.store.consumeChallenge(challenge, "register", at);
    if (row === undefined || row.staff_id === null) throw new ServiceError(401, "invalid_token", "This enrolment ceremony is unknown, finished or expired: start again.");
    const rp = this.options.relyingParty();
    let verified;
    try {
      verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: [...rp.origins], expectedRPID: rp.id, requireUserVerification: true });
    } catch (error) {
      throw new ServiceError(401, "access_denied", `The passkey could not be verified: ${(error as Error).message}`.slice(0, 300));
    }
    if (!verified.verified) throw new ServiceError(401, "access_denied", "The passkey could not be verified.");
    const credential = verified.registrationInfo.credential;
    if (await this.store.passkey(credential.id) !== undefined) throw new ServiceError(409, "conflict", "This passkey is already enrolled.");
    const stored = await this.store.insertPasskey(
      { credentialId: credential.id, staffId: row.staff_id, publicKey: credential.publicKey, counter: credential.counter, transports: credential.transports ?? [], label, at },
      row.enrolment_hash,
    );
    if (!stored) throw new ServiceError(401, "invalid_token", "The enrolment code was used or expired meanwhile: ask an administrator for a new one.");
    return { credentialId: credential.id, staffId: row.staff_id, label, createdAt: new Date(at).toISOString() };
  }

  /** Request options for signing in: any enrolled passkey of this relying party (discoverable credentials). */
  async authenticationOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const at = this.options.now();
    await this.store.prune(at);
    const options = await generateAuthenticationOptions({ rpID: this.options.relyingParty().id, userVerification: "required", timeout: CHALLENGE_TTL_MS });
    await this.store.insertChallenge(options.challenge, "authenticate", null, null, at + CHALLENGE_TTL_MS);
    return options;
  }

  /** Verifies a sign-in assertion, opens a session and sets its cookie on `reply`. */
  async signIn(response: AuthenticationResponseJSON, reply: FastifyReply): Promise<SignedIn> {
    const at = this.options.now();
    const passkey = await this.store.passkey(response.id);
    // The challenge is spent before anything else: an assertion is worth one try, whatever the outcome.
    const challenge = challengeOf(response);
    const row = await this.store.consumeChallenge(challenge, "authenticate", at);
    if (row === undefined) throw new ServiceError(401, "invalid_token", "This sign-in challenge is unknown, used or expired (an assertion counts once): sign in again.");
    if (passkey === undefined) throw new ServiceError(401, "access_denied", "This passkey is not enrolled here: enrol it with a code from your administrator.");
    const rp = this.options.relyingParty();
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response, expectedChallenge: challenge, expectedOrigin: [...rp.origins], expectedRPID: rp.id, requireUserVerification: true,
        credential: { id: passkey.credential_id, publicKey: new Uint8Array(passkey.public_key), counter: passkey.counter, transports: JSON.parse(passkey.transports) as string[] },
      });
    } catch (error) {
      throw new ServiceError(401, "access_denied", `The passkey assertion was refused: ${(error as Error).message}`.slice(0, 300));
    }
    if (!verified.verified) throw new ServiceError(401, "access_denied", "The passkey assertion was refused.");
    if (response.response.userHandle !== undefined && response.response.userHandle !== await this.store.userHandle(passkey.staff_id)) {
      throw new ServiceError(401, "access_denied", "The passkey's user handle does not match its enrolment.");
    }
    const member = this.options.directory.member(passkey.staff_id);
    if (member === undefined) throw new ServiceError(403, "access_denied", `Staff member ${passkey.staff_id} is no longer configured.`);
    const token = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    if (!await this.store.openSession(passkey.credential_id, passkey.counter, verified.authenticationInfo.newCounter, { token, csrf, staffId: member.id, at })) {
      throw new ServiceError(401, "access_denied", "The passkey was used by another sign-in at the same moment: sign in again.");
    }
    this.setCookie(reply, token, SESSION_MAX_MS);
    return { member, csrfToken: csrf, expiresAt: Math.min(at + SESSION_IDLE_MS, at + SESSION_MAX_MS) };
  }

  private setCookie(reply: FastifyReply, value: string, maxAgeMs: number): void {
    const rp = this.options.relyingParty();
    const attributes = [`${this.cookieName()}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${Math.floor(maxAgeMs / 1000)}`, ...(rp.secure ? ["Secure"] : [])];
    void reply.header("set-cookie", attributes.join("; "));
  }

  /**
   * Reads the session of the request's cookie from the store (an onRequest hook, see console.ts): the staff
   * directory's check is synchronous, and on PostgreSQL the session row lives in another instance's database too.
   * A session refreshed more than 30 s ago is touched here.
   */
  async loadSession(request: FastifyRequest): Promise<void> {
    const token = parseCookies(request.headers.cookie).get(this.cookieName());
    if (token === undefined) return;
    const at = this.options.now();
    const row = /^[A-Za-z0-9_-]{43}$/.test(token) ? await this.store.session(token) : undefined;
    if (row === undefined || row.ended_at !== null || at >= row.last_seen_at + SESSION_IDLE_MS || at >= row.created_at + SESSION_MAX_MS) {
      this.sessions.set(request, "ended");
      return;
    }
    if (at - row.last_seen_at > 30_000) await this.store.touchSession(row.token_hash, at);
    this.sessions.set(request, row);
  }

  /** The session loadSession found (none without the cookie; a request it did not see has none: fail closed). */
  private live(request: FastifyRequest): SessionRow | undefined {
    const row = this.sessions.get(request);
    if (row === "ended") {
      throw new ServiceError(401, "invalid_token", "Your session has ended: sign in again with your passkey.", { headers: { "www-authenticate": 'Bearer realm="staff", error="invalid_token"' } });
    }
    return row;
  }

  /** StaffSessionAuthenticator: the member id of the request's session cookie (CSRF and Origin checked on changes). */
  sessionMember(request: FastifyRequest): string | undefined {
    const row = this.live(request);
    if (row === undefined) return undefined;
    if (!SAFE_METHODS.has(request.method)) {
      const origin = request.headers.origin;
      if (origin !== undefined && !this.options.relyingParty().origins.includes(origin)) throw new ServiceError(403, "access_denied", "Requests from another origin are refused.");
      const sent = request.headers[CSRF_HEADER];
      const ok = typeof sent === "string" && timingSafeEqual(Buffer.from(digest(sent)), Buffer.from(digest(row.csrf_token)));
      if (!ok) throw new ServiceError(403, "access_denied", `Send the session's CSRF token in ${CSRF_HEADER} (from the sign-in answer or GET /staff/session).`);
    }
    return row.staff_id;
  }

  /**
   * The request's session (member id, CSRF token, expiry), undefined without a session cookie. The CSRF token is
   * kept in the clear beside the token's hash: it proves only that a request comes from the console's own page
   * (which can read it), and is worthless without the HttpOnly cookie.
   */
  currentSession(request: FastifyRequest): { staffId: string; csrfToken: string; expiresAt: number } | undefined {
    const row = this.live(request);
    if (row === undefined) return undefined;
    return { staffId: row.staff_id, csrfToken: row.csrf_token, expiresAt: Math.min(row.last_seen_at + SESSION_IDLE_MS, row.created_at + SESSION_MAX_MS) };
  }

  /** Signs out: ends the session and clears its cookie. */
  async signOut(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const row = this.live(request);
    if (row !== undefined) await this.store.endSession(row.token_hash, this.options.now());
    this.setCookie(reply, "", 0);
  }

  async passkeysOf(staffId: string): Promise<PasskeyInfo[]> {
    return (await this.store.passkeysOf(staffId)).map((p) => ({
      credentialId: p.credential_id, staffId: p.staff_id, label: p.label, createdAt: new Date(p.created_at).toISOString(),
      ...(p.last_used_at === null ? {} : { lastUsedAt: new Date(p.last_used_at).toISOString() }),
    }));
  }

  async passkey(credentialId: string): Promise<PasskeyInfo | undefined> {
    const p = await this.store.passkey(credentialId);
    return p === undefined ? undefined : (await this.passkeysOf(p.staff_id)).find((x) => x.credentialId === credentialId);
  }

  removePasskey(credentialId: string): Promise<boolean> {
    return this.store.deletePasskey(credentialId, this.options.now());
  }
}
