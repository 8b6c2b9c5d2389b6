/**
 * The issuing-officer console's server side: the page at `/officer/`, passkey enrolment and sign-in
 * (`/staff/passkeys/…`, `/staff/session`), and the read/write routes the console needs beside the staff API of
 * staff.ts — the organisation view (accreditation, issuer key, status operators, read from the chain), the staff
 * list and enrolment codes (admin), and a reissue request filed from an issued one. Roles are checked by the
 * staff directory on every route, whichever way the member signed in.
 */
import path from "node:path";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import type { Provider, Signer } from "ethers";
import { connectLedger } from "../../sdk/chain/contracts.js";
import type { Deployment } from "../../sdk/chain/deployment.js";
import { REISSUE_REASONS } from "../../sdk/issuer/hr-import.js";
import { errorResponses, ServiceError, type ServiceApp, type StaffDirectory, type StaffMember } from "../common/index.js";
import { loadPage, registerPage, type BuiltPage } from "../common/pages.js";
import type { Agencies } from "./agencies.js";
import { PasskeyStore, relyingPartyFor, StaffPasskeys, type RelyingParty } from "./passkeys.js";
import { STAFF_ROLES, type StaffRole } from "./staff.js";
import type { IssuerServiceStore } from "./store.js";
import type { StoreLocation } from "../../sdk/util/sql.js";

export const OFFICER_MOUNT = "/officer";
import { PASSKEY_DB } from "./config.js";

export { PASSKEY_DB };

/** What the console shows of one organisation's keys: addresses only (the keys stay on the server). */
export interface ConsoleOrganisationKeys {
  readonly code: number;
  readonly name: string;
  readonly issuerDid: string;
  readonly operators: readonly { readonly purpose: "workflow-registrar" | "status-officer" | "help-desk"; readonly signer: Signer }[];
}

export interface OfficerConsoleOptions {
  readonly dataDir: string;
  /** The passkey tables (default: the SQLite file PASSKEY_DB in dataDir). */
  readonly passkeyStore?: StoreLocation;
  readonly agencies: Agencies;
  readonly organisations: readonly ConsoleOrganisationKeys[];
  readonly store: IssuerServiceStore;
  readonly staff: StaffDirectory<StaffRole>;
  readonly deployment: Deployment;
  readonly provider: Provider;
  readonly baseUrl: () => string;
  readonly now: () => number;
  /** The page, already built (tests); default built once per process from web/officer/. */
  readonly page?: BuiltPage;
}

export interface OfficerConsole {
  readonly passkeys: StaffPasskeys<StaffRole>;
  readonly relyingParty: () => RelyingParty;
  close(): Promise<void>;
}

let pageOnce: Promise<BuiltPage> | undefined;
function officerPage(): Promise<BuiltPage> {
  pageOnce ??= loadPage("officer").catch((error: unknown) => {
    pageOnce = undefined;
    throw error;
  });
  return pageOnce;
}

const webauthnResponse = z
  .looseObject({
    id: z.string().regex(/^[A-Za-z0-9_-]{16,1400}$/),
    rawId: z.string().max(1400),
    type: z.literal("public-key"),
    response: z.looseObject({ clientDataJSON: z.string().max(4096) }),
    clientExtensionResults: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "WebAuthnResponse", description: "A PublicKeyCredential as @simplewebauthn/browser returns it (JSON)." });

const memberSchema = z.object({ id: z.string(), roles: z.array(z.enum(STAFF_ROLES)), agencies: z.array(z.number().int()).optional() });
const sessionSchema = z.object({ member: memberSchema, via: z.enum(["passkey", "bearer"]), csrfToken: z.string().optional(), expiresAt: z.string().optional() });
const passkeySchema = z.object({ credentialId: z.string(), staffId: z.string(), label: z.string(), createdAt: z.string(), lastUsedAt: z.string().optional() });
const strictLimit = { rateLimit: { max: 30, timeWindow: 60_000 } };

function memberJson(m: StaffMember<StaffRole>): z.infer<typeof memberSchema> {
  return { id: m.id, roles: [...m.roles], ...(m.agencies === undefined ? {} : { agencies: [...m.agencies] }) };
}

const ORG_KINDS = ["none", "central-agency", "local-government"] as const;
const ORG_STATUSES = ["none", "active", "suspended", "removed"] as const;
const OPERATOR_ROLES = ["none", "lock-only", "registrar"] as const;

/** Registers the console page and its routes; makes the staff directory accept passkey sessions. */
export async function registerOfficerConsole(app: ServiceApp, options: OfficerConsoleOptions): Promise<OfficerConsole> {
  const relyingParty = () => relyingPartyFor(options.baseUrl());
  const store = await PasskeyStore.open(options.passkeyStore ?? { kind: "sqlite", file: path.join(options.dataDir, PASSKEY_DB) });
  const passkeys = new StaffPasskeys<StaffRole>({ store, directory: options.staff, relyingParty, now: options.now });
  options.staff.acceptSessions(passkeys);
  // The staff directory checks sessions synchronously: read the cookie's session first (it may live in PostgreSQL).
  app.addHook("onRequest", async (request) => {
    if (request.headers.authorization === undefined && request.headers.cookie !== undefined) await passkeys.loadSession(request);
  });
  const tags = ["issuing officer console"];
  const security = [{ bearer: [] }];
  const ALL = [...STAFF_ROLES];
  const authorize = (request: FastifyRequest, roles: readonly StaffRole[]) => options.staff.authorize(request, roles);
  const mayActFor = (member: StaffMember<StaffRole>, agency: number) => member.agencies === undefined || member.agencies.includes(agency);
  /** An admin limited to some organisations manages only members limited to (a subset of) them. */
  const mayManage = (admin: StaffMember<StaffRole>, target: StaffMember<StaffRole>) =>
    admin.agencies === undefined || (target.agencies !== undefined && target.agencies.every((a) => admin.agencies!.includes(a)));

  await registerPage(app, "officer", { mount: OFFICER_MOUNT, page: options.page ?? (await officerPage()) });

  /** The ceremonies run only from the console's own origin (no login CSRF from another site's page). */
  const sameOrigin = (request: FastifyRequest): Promise<void> => {
    const origin = request.headers.origin;
    if (origin !== undefined && !relyingParty().origins.includes(origin)) return Promise.reject(new ServiceError(403, "access_denied", "Passkey ceremonies are accepted only from the console's origin."));
    return Promise.resolve();
  };

  // ---------------------------------------------------------------- sign-in

  app.post(
    "/staff/passkeys/register/options",
    {
      config: strictLimit,
      preHandler: sameOrigin,
      schema: {
        tags, summary: "Start enrolling a passkey: with a one-time enrolment code, or signed in (bearer token or session) for yourself",
        body: z.object({ code: z.string().min(10).max(40).optional() }).strict(),
        response: { 200: z.object({ staffId: z.string(), options: z.record(z.string(), z.unknown()) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const code = request.body.code;
      const out = code !== undefined ? await passkeys.registrationOptions({ code }) : await passkeys.registrationOptions({ self: authorize(request, ALL) });
      return { staffId: out.staffId, options: out.options as unknown as Record<string, unknown> };
    },
  );

  app.post(
    "/staff/passkeys/register",
    {
      config: strictLimit,
      preHandler: sameOrigin,
      schema: {
        tags, summary: "Finish enrolling: the authenticator's attestation (the enrolment code is spent)",
        body: z.object({ response: webauthnResponse, label: z.string().min(1).max(60).default("passkey") }).strict(),
        response: { 200: passkeySchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => passkeys.register(request.body.response as unknown as RegistrationResponseJSON, request.body.label),
  );

  app.post(
    "/staff/session/options",
    { config: strictLimit, preHandler: sameOrigin, schema: { tags, summary: "Start a passkey sign-in (a single-use challenge)", response: { 200: z.record(z.string(), z.unknown()) } } },
    async () => (await passkeys.authenticationOptions()) as unknown as Record<string, unknown>,
  );

  app.post(
    "/staff/session",
    {
      config: strictLimit,
      preHandler: sameOrigin,
      schema: {
        tags, summary: "Sign in with a passkey assertion: sets the HttpOnly session cookie; answers the CSRF token to send on changes",
        body: z.object({ response: webauthnResponse }).strict(),
        response: { 200: sessionSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const signed = await passkeys.signIn(request.body.response as unknown as AuthenticationResponseJSON, reply);
      void reply.header("cache-control", "no-store");
      return { member: memberJson(signed.member as StaffMember<StaffRole>), via: "passkey" as const, csrfToken: signed.csrfToken, expiresAt: new Date(signed.expiresAt).toISOString() };
    },
  );

  app.get(
    "/staff/session",
    { schema: { tags, security, summary: "Who is signed in (session or bearer token), with the session's CSRF token", response: { 200: sessionSchema, ...errorResponses(401) } } },
    (request, reply) => {
      const member = authorize(request, ALL);
      void reply.header("cache-control", "no-store");
      const session = request.headers.authorization === undefined ? passkeys.currentSession(request) : undefined;
      if (session === undefined) return { member: memberJson(member), via: "bearer" as const };
      return { member: memberJson(member), via: "passkey" as const, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString() };
    },
  );

  app.delete(
    "/staff/session",
    { schema: { tags, summary: "Sign out: ends the session (needs its CSRF token) and clears the cookie", response: { 204: z.null(), ...errorResponses(401, 403) } } },
    async (request, reply) => {
      authorize(request, ALL); // a session's sign-out is a change: CSRF-checked like any other
      await passkeys.signOut(request, reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/staff/passkeys",
    { schema: { tags, security, summary: "Your passkeys (admin: ?staffId= another member's)", querystring: z.object({ staffId: z.string().max(64).optional() }).strict(), response: { 200: z.object({ passkeys: z.array(passkeySchema) }), ...errorResponses(401, 403, 404) } } },
    async (request) => {
      const member = authorize(request, ALL);
      const staffId = request.query.staffId ?? member.id;
      if (staffId !== member.id) {
        const target = options.staff.member(staffId);
        authorize(request, ["admin"]);
        if (target === undefined) throw new ServiceError(404, "not_found", `No staff member ${staffId} is configured.`);
        if (!mayManage(member, target)) throw new ServiceError(403, "insufficient_scope", `You do not manage ${staffId}.`);
      }
      return { passkeys: await passkeys.passkeysOf(staffId) };
    },
  );

  app.delete(
    "/staff/passkeys/:credentialId",
    { schema: { tags, security, summary: "Remove a passkey (yours, or as admin a member's you manage); its sessions end", params: z.object({ credentialId: z.string().regex(/^[A-Za-z0-9_-]{16,1400}$/) }).strict(), response: { 204: z.null(), ...errorResponses(401, 403, 404) } } },
    async (request, reply) => {
      const member = authorize(request, ALL);
      const found = await passkeys.passkey(request.params.credentialId);
      if (found === undefined) throw new ServiceError(404, "not_found", "No such passkey.");
      if (found.staffId !== member.id) {
        authorize(request, ["admin"]);
        const target = options.staff.member(found.staffId);
        if (target !== undefined && !mayManage(member, target)) throw new ServiceError(403, "insufficient_scope", `You do not manage ${found.staffId}.`);
      }
      await passkeys.removePasskey(found.credentialId);
      return reply.code(204).send(null);
    },
  );

  // ---------------------------------------------------------------- administration

  app.get(
    "/staff/members",
    { schema: { tags, security, summary: "Configured staff members you manage, with their passkey count (role: admin)", response: { 200: z.object({ members: z.array(memberSchema.extend({ passkeys: z.number().int() })) }), ...errorResponses(401, 403) } } },
    async (request) => {
      const admin = authorize(request, ["admin"]);
      const members = options.staff.members().filter((m) => mayManage(admin, m));
      return { members: await Promise.all(members.map(async (m) => ({ ...memberJson(m), passkeys: (await passkeys.passkeysOf(m.id)).length }))) };
    },
  );

  app.post(
    "/staff/enrolments",
    {
      schema: {
        tags, security, summary: "A one-time passkey enrolment code for a staff member, valid 24 hours; shown once (role: admin)",
        body: z.object({ staffId: z.string().min(1).max(64) }).strict(),
        response: { 200: z.object({ staffId: z.string(), code: z.string(), expiresAt: z.string() }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const admin = authorize(request, ["admin"]);
      const target = options.staff.member(request.body.staffId);
      if (target === undefined) throw new ServiceError(404, "not_found", `No staff member ${request.body.staffId} is configured.`);
      if (!mayManage(admin, target)) throw new ServiceError(403, "insufficient_scope", `You do not manage ${target.id}.`);
      const issued = await passkeys.issueEnrolmentCode(target.id, `staff:${admin.id}`);
      void reply.header("cache-control", "no-store");
      return { staffId: target.id, code: issued.code, expiresAt: new Date(issued.expiresAt).toISOString() };
    },
  );

  // ---------------------------------------------------------------- organisation view

  const ledger = connectLedger(options.deployment, options.provider);
  app.get(
    "/staff/organisations",
    {
      schema: {
        tags, security, summary: "Organisations you act for: accreditation on chain, this service's issuer key and status operators (roles: any staff)",
        response: {
          200: z.object({
            blockNumber: z.number().int(),
            organisations: z.array(z.object({
              code: z.number().int(), name: z.string(),
              accreditation: z.object({ kind: z.enum(ORG_KINDS), status: z.enum(ORG_STATUSES), accreditedAt: z.string().optional(), statusChangedAt: z.string().optional(), admin: z.string() }),
              issuerKey: z.object({ did: z.string(), address: z.string(), registeredFor: z.number().int(), validFrom: z.string().optional(), validUntil: z.string().optional(), compromised: z.boolean() }),
              operators: z.array(z.object({ purpose: z.string(), address: z.string(), role: z.enum(OPERATOR_ROLES), agencyCode: z.number().int() })),
            })),
          }),
          ...errorResponses(401, 403, 503),
        },
      },
    },
    async (request) => {
      const member = authorize(request, ALL);
      const time = (t: bigint) => (t === 0n ? undefined : new Date(Number(t) * 1000).toISOString());
      const blockNumber = await options.provider.getBlockNumber();
      const organisations = [];
      for (const org of options.organisations.filter((o) => mayActFor(member, o.code))) {
        const address = org.issuerDid.split(":").at(-1)!;
        const [accreditation, key, operators] = await Promise.all([
          ledger.issuerRegistry.organisation(org.code),
          ledger.issuerRegistry.issuerKey(address),
          Promise.all(
            org.operators.map(async (o) => {
              const operator = await o.signer.getAddress();
              return { purpose: o.purpose, address: operator, onChain: await ledger.statusRegistry.operators(operator) };
            }),
          ),
        ]);
        organisations.push({
          code: org.code, name: org.name,
          accreditation: {
            kind: ORG_KINDS[Number(accreditation.kind)] ?? "none", status: ORG_STATUSES[Number(accreditation.status)] ?? "none", admin: accreditation.admin,
            ...(time(accreditation.accreditedAt) === undefined ? {} : { accreditedAt: time(accreditation.accreditedAt) }),
            ...(time(accreditation.statusChangedAt) === undefined ? {} : { statusChangedAt: time(accreditation.statusChangedAt) }),
          },
          issuerKey: {
            did: org.issuerDid, address, registeredFor: Number(key.agencyCode), compromised: key.compromised,
            ...(time(key.validFrom) === undefined ? {} : { validFrom: time(key.validFrom) }),
            // validUntil is the uint40 maximum for a key without an end
            ...(key.validUntil === 0n || key.validUntil >= 2n ** 40n - 1n ? {} : { validUntil: time(key.validUntil) }),
          },
          operators: operators.map((o) => ({ purpose: o.purpose, address: o.address, role: OPERATOR_ROLES[Number(o.onChain.role)] ?? "none", agencyCode: Number(o.onChain.agencyCode) })),
        });
      }
      return { blockNumber, organisations };
    },
  );

  // ---------------------------------------------------------------- reissue

  app.post(
    "/staff/requests/:agency/:id/reissue",
    {
      schema: {
        tags, security, summary: "File a reissue request for the holder of an issued request (lost or replaced phone, PIN lockout, app deleted); the person id is checked against the holder and never stored (roles: hr-officer, admin)",
        params: z.object({ agency: z.coerce.number().int().min(1_000_000).max(9_999_999), id: z.string().min(1).max(200) }).strict(),
        body: z.object({ reason: z.enum(REISSUE_REASONS), hrRequestId: z.string().min(1).max(64), personId: z.string().min(13).max(14) }).strict(),
        response: { 200: z.object({ requestId: z.string(), created: z.boolean() }), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const member = authorize(request, ["hr-officer", "admin"]);
      const { agency, id } = request.params;
      if (!mayActFor(member, agency)) throw new ServiceError(403, "insufficient_scope", `You are not authorised for organisation ${agency}.`);
      if (!options.agencies.has(agency)) throw new ServiceError(404, "not_found", `Organisation ${agency} is not served by this issuer service.`);
      const workflow = options.agencies.get(agency).workflow;
      const exported = await workflow.reissueExport(id, request.body);
      const report = await workflow.importRequests(exported.source, exported.text, `staff:${member.id}`);
      const refusal = report.refused[0];
      if (refusal !== undefined) throw new ServiceError(409, "conflict", `The reissue request was refused: ${refusal.reason}`);
      if (report.conflicts.length > 0) throw new ServiceError(409, "conflict", `Another request with the HR request id ${request.body.hrRequestId} exists.`);
      await options.store.appendEvent({ agency, requestId: id, at: options.now(), actor: `staff:${member.id}`, action: "reissue-requested", details: { reason: request.body.reason, newRequest: exported.requestId } });
      return { requestId: exported.requestId, created: report.created.includes(exported.requestId) };
    },
  );

  return { passkeys, relyingParty, close: () => store.close() };
}
