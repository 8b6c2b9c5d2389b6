import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { ServiceError } from "./errors.js";

/**
 * Bearer credentials for staff APIs. A credential is a random 256-bit token shown once to its holder; the
 * service stores only its SHA-256 (a fast hash is right for high-entropy tokens: there is no dictionary to
 * try). Roles are checked on the server for every route.
 */
export const BEARER_TOKEN_PREFIX = "mcid_";

/** A new random staff token (give it to the staff member once; configure only its hash). */
export function generateBearerToken(): string {
  return `${BEARER_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export function hashBearerToken(token: string): string {
  return `sha256:${createHash("sha256").update(token, "utf8").digest("hex")}`;
}

export const staffMemberSchema = <R extends readonly [string, ...string[]]>(roles: R) =>
  z
    .object({
      id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, . _ - (up to 64)"),
      roles: z.array(z.enum(roles)).min(1),
      tokenHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a hash from hashBearerToken ("sha256:" + 64 hex digits)'),
      /** Agencies (HR organisation codes) the member may act for; absent = all agencies of the service. */
      agencies: z.array(z.number().int().min(0)).optional(),
    })
    .strict();

export interface StaffMember<Role extends string> {
  id: string;
  roles: Role[];
  tokenHash: string;
  agencies?: number[] | undefined;
}

/**
 * A second way for staff to authenticate beside bearer tokens (e.g. a passkey sign-in session cookie): answers the
 * member id of the request's session, undefined when the request carries none, and throws a ServiceError (401/403)
 * for a session that is present but not good (expired, CSRF check failed).
 */
export interface StaffSessionAuthenticator {
  sessionMember(request: FastifyRequest): string | undefined;
}

export class StaffDirectory<Role extends string> {
  private readonly byHash = new Map<string, StaffMember<Role>>();
  private readonly byId = new Map<string, StaffMember<Role>>();
  private sessions: StaffSessionAuthenticator | undefined;

  constructor(members: readonly StaffMember<Role>[]) {
    for (const member of members) {
      if (this.byHash.has(member.tokenHash)) throw new Error(`two staff members share one token hash (${member.id})`);
      if (this.byId.has(member.id)) throw new Error(`two staff members share one id (${member.id})`);
      this.byHash.set(member.tokenHash, member);
      this.byId.set(member.id, member);
    }
  }

  /** The configured member with this id (sessions name their member by id: roles always come from here). */
  member(id: string): StaffMember<Role> | undefined {
    return this.byId.get(id);
  }

  members(): StaffMember<Role>[] {
    return [...this.byId.values()];
  }

  /** Accepts sessions (checked when a request has no Authorization header) beside bearer tokens. */
  acceptSessions(authenticator: StaffSessionAuthenticator): void {
    this.sessions = authenticator;
  }

  /** The member whose token this is, or undefined. Compares hashes in constant time. */
  lookup(token: string): StaffMember<Role> | undefined {
    const hash = hashBearerToken(token);
    const found = this.byHash.get(hash);
    if (found === undefined) return undefined;
    return timingSafeEqual(Buffer.from(found.tokenHash), Buffer.from(hash)) ? found : undefined;
  }

  /**
   * Authenticates the request's `Authorization: Bearer` header and checks that the member holds one of
   * `roles`: 401 `invalid_token` without a valid token, 403 `insufficient_scope` with the wrong role.
   */
  authorize(request: FastifyRequest, roles: readonly Role[]): StaffMember<Role> {
    const header = request.headers.authorization;
    if (header === undefined && this.sessions !== undefined) {
      const id = this.sessions.sessionMember(request);
      const member = id === undefined ? undefined : this.byId.get(id);
      if (id !== undefined && member === undefined) throw new ServiceError(401, "invalid_token", "The session's staff member is no longer configured: sign in again.");
      if (member !== undefined) return this.checkRoles(member, roles);
    }
    const match = typeof header === "string" ? /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/.exec(header) : null;
    const challenge = { "www-authenticate": 'Bearer realm="staff"' };
    if (match === null)
      throw new ServiceError(401, "invalid_token", "Send a staff bearer token: Authorization: Bearer <token>.", { headers: challenge });
    const member = this.lookup(match[1] as string);
    if (member === undefined)
      throw new ServiceError(401, "invalid_token", "The bearer token is not a configured staff credential.", {
        headers: { "www-authenticate": 'Bearer realm="staff", error="invalid_token"' },
      });
    return this.checkRoles(member, roles);
  }

  private checkRoles(member: StaffMember<Role>, roles: readonly Role[]): StaffMember<Role> {
    if (!member.roles.some((r) => roles.includes(r)))
      throw new ServiceError(403, "insufficient_scope", `This action needs the role ${roles.join(" or ")}.`, {
        headers: { "www-authenticate": 'Bearer realm="staff", error="insufficient_scope"' },
      });
    return member;
  }
}
