import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { LOCK_OR_REVOKE_REASONS, UNLOCK_REASONS, agencyOfCredential, parseCredentialId, parseReason, reasonName, type ReasonName } from "../../sdk/chain/codes.js";
import { CivilIdError } from "../../sdk/errors.js";
import { WORKFLOW_STATES } from "../../sdk/issuer/transitions.js";
import type { AuditEntry, IssuanceRecord } from "../../sdk/issuer/workflow.js";
import { errorResponses, ServiceError, type ServiceApp, type StaffDirectory, type StaffMember } from "../common/index.js";
import type { Agencies, AgencyRuntime } from "./agencies.js";
import type { IssuerServiceStore } from "./store.js";

/** Staff roles of the issuing-officer API; every route names the roles it admits and the server checks them. */
export const STAFF_ROLES = ["hr-officer", "approver", "help-desk", "admin"] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

const ALL: StaffRole[] = [...STAFF_ROLES];

const recordSchema = z
  .object({
    id: z.string(),
    agencyCode: z.number().int(),
    source: z.string(),
    hrRequestId: z.string(),
    state: z.enum(WORKFLOW_STATES),
    nextStep: z.string(),
    kind: z.string(),
    reissueReason: z.string().optional(),
    name: z.string(),
    organisationName: z.string(),
    department: z.string(),
    position: z.string(),
    employeeRef: z.string(),
    mobile: z.string(),
    requestedAt: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    refusal: z.object({ code: z.string(), reason: z.string() }).optional(),
    approver: z.string().optional(),
    rejectionReason: z.string().optional(),
    identityVerifiedAt: z.string().optional(),
    subjectDid: z.string().optional(),
    activatedAt: z.string().optional(),
    credentialId: z.string().optional(),
    supersededId: z.string().optional(),
    supersededBy: z.string().optional(),
    txHash: z.string().optional(),
    blockNumber: z.number().int().optional(),
    issuedAt: z.string().optional(),
  })
  .meta({ id: "IssuanceRequest" });
type RecordJson = z.infer<typeof recordSchema>;

function recordJson(r: IssuanceRecord): RecordJson {
  const out: RecordJson = {
    id: r.id, agencyCode: r.agencyCode, source: r.source, hrRequestId: r.hrRequestId, state: r.state, nextStep: r.nextStep, kind: r.kind,
    name: r.name, organisationName: r.organisationName, department: r.department, position: r.position, employeeRef: r.employeeRef,
    mobile: r.mobile, requestedAt: r.requestedAt, createdAt: r.createdAt, updatedAt: r.updatedAt,
  };
  const optional = {
    reissueReason: r.reissueReason, refusal: r.refusal, approver: r.approver, rejectionReason: r.rejectionReason, identityVerifiedAt: r.identityVerifiedAt,
    subjectDid: r.subjectDid, activatedAt: r.activatedAt, credentialId: r.credentialId?.toString(), supersededId: r.supersededId?.toString(),
    supersededBy: r.supersededBy?.toString(), txHash: r.txHash, blockNumber: r.blockNumber, issuedAt: r.issuedAt,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const auditSchema = z.object({
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  from: z.string().optional(),
  to: z.string().optional(),
  origin: z.enum(["workflow", "service"]),
  details: z.record(z.string(), z.unknown()),
});

const statusChangeSchema = z.object({
  credentialId: z.string(),
  state: z.string(),
  reason: z.string(),
  txHash: z.string(),
  blockNumber: z.number().int(),
});

const reasonText = z.string().min(1).max(500);
const agencyParam = z.coerce.number().int().min(1_000_000).max(9_999_999);
const requestParams = z.object({ agency: agencyParam, id: z.string().min(1).max(200) }).strict();
const credentialParams = z.object({ credentialId: z.string().regex(/^[0-9]{1,40}$/, "a decimal credential id") }).strict();

export interface StaffContext {
  readonly agencies: Agencies;
  readonly store: IssuerServiceStore;
  readonly staff: StaffDirectory<StaffRole>;
  readonly now: () => number;
}

/**
 * The issuing-officer API (`/staff/…`): what the HR / approval / help-desk console needs. Bearer credentials per
 * staff member (configured as hashes), roles and agencies enforced here on every route; the chain keys are the
 * service's, never the staff's. Every action is audited under the member's id.
 */
export function registerStaffRoutes(app: ServiceApp, ctx: StaffContext): void {
  const tags = ["issuing officer"];
  const security = [{ bearer: [] }];
  const authorize = (request: FastifyRequest, roles: readonly StaffRole[], agency?: number): StaffMember<StaffRole> => {
    const member = ctx.staff.authorize(request, roles);
    if (agency !== undefined && member.agencies !== undefined && !member.agencies.includes(agency)) {
      throw new ServiceError(403, "insufficient_scope", `You are not authorised for organisation ${agency}.`);
    }
    return member;
  };
  const agencyOf = (code: number): AgencyRuntime => {
    if (!ctx.agencies.has(code)) throw new ServiceError(404, "not_found", `Organisation ${code} is not served by this issuer service.`);
    return ctx.agencies.get(code);
  };
  const actor = (member: StaffMember<StaffRole>) => `staff:${member.id}`;

  app.get(
    "/staff/requests",
    {
      schema: {
        tags, security, summary: "Request queue, filtered (roles: any staff)",
        querystring: z.object({
          agency: agencyParam.optional(),
          state: z.union([z.enum(WORKFLOW_STATES), z.array(z.enum(WORKFLOW_STATES))]).optional(),
          source: z.enum(["e-saram", "insarang"]).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          offset: z.coerce.number().int().min(0).default(0),
        }).strict(),
        response: { 200: z.object({ requests: z.array(recordSchema) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const member = authorize(request, ALL, request.query.agency);
      const codes = request.query.agency !== undefined ? [request.query.agency] : ctx.agencies.codes().filter((c) => member.agencies === undefined || member.agencies.includes(c));
      const { state, source, limit, offset } = request.query;
      const lists = await Promise.all(codes.map((code) => agencyOf(code).workflow.list({ ...(state === undefined ? {} : { state }), ...(source === undefined ? {} : { source }), limit, offset })));
      const requests = lists.flat().map(recordJson);
      return { requests };
    },
  );

  app.get(
    "/staff/requests/:agency/:id",
    { schema: { tags, security, summary: "One request (roles: any staff)", params: requestParams, response: { 200: recordSchema, ...errorResponses(401, 403, 404) } } },
    async (request) => {
      authorize(request, ALL, request.params.agency);
      return recordJson(await agencyOf(request.params.agency).workflow.get(request.params.id));
    },
  );

  app.post(
    "/staff/requests/:agency/import",
    {
      schema: {
        tags, security, summary: "Import an HR export (e-사람 JSON / 차세대 인사랑 CSV); reissue requests come the same way (roles: hr-officer, admin)",
        params: z.object({ agency: agencyParam }).strict(),
        body: z.object({ source: z.enum(["e-saram", "insarang"]), content: z.string().min(1).max(1_000_000) }).strict(),
        response: {
          200: z.object({
            rows: z.number().int(), created: z.array(z.string()), duplicates: z.array(z.string()),
            refused: z.array(z.object({ id: z.string(), row: z.number().int(), code: z.string(), reason: z.string() })),
            conflicts: z.array(z.object({ id: z.string(), row: z.number().int() })),
          }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
      bodyLimit: 1_100_000,
    },
    async (request) => {
      const member = authorize(request, ["hr-officer", "admin"], request.params.agency);
      const report = await agencyOf(request.params.agency).workflow.importRequests(request.body.source, request.body.content, actor(member));
      return { rows: report.rows, created: [...report.created], duplicates: [...report.duplicates], refused: report.refused.map((r) => ({ ...r })), conflicts: report.conflicts.map((c) => ({ ...c })) };
    },
  );

  const transition = (path: string, summary: string, roles: StaffRole[], body: z.ZodType<{ reason?: string | undefined }> | undefined, run: (a: AgencyRuntime, id: string, who: string, reason: string | undefined) => IssuanceRecord | Promise<IssuanceRecord>) => {
    app.post(
      `/staff/requests/:agency/:id/${path}`,
      { schema: { tags, security, summary: `${summary} (roles: ${roles.join(", ")})`, params: requestParams, ...(body === undefined ? {} : { body }), response: { 200: recordSchema, ...errorResponses(400, 401, 403, 404, 409) } } },
      async (request) => {
        const member = authorize(request, roles, request.params.agency);
        const reason = (request.body as { reason?: string } | undefined)?.reason;
        return recordJson(await run(agencyOf(request.params.agency), request.params.id, actor(member), reason));
      },
    );
  };
  const withReason = z.object({ reason: reasonText }).strict();
  transition("approve", "Department head approves", ["approver"], undefined, (a, id, who) => a.workflow.approve(id, who));
  transition("reject", "Department head rejects (final)", ["approver"], withReason, (a, id, who, reason) => a.workflow.reject(id, who, reason!));
  transition("cancel", "Cancel a request not yet registering", ["hr-officer", "admin"], withReason, (a, id, who, reason) => a.workflow.cancel(id, who, reason!));
  transition("invite", "Send (or resend) the invitation SMS: the credential offer link and tx_code", ["hr-officer"], undefined, async (a, id, who) => {
    await a.workflow.invite(id, who);
    return await a.workflow.get(id);
  });

  app.post(
    "/staff/requests/:agency/:id/identity/start",
    {
      schema: {
        tags, security, summary: "Start identity verification: texts a one-time code to the HR-registered phone (roles: hr-officer)", params: requestParams,
        response: { 200: z.object({ sessionId: z.number().int(), expiresAt: z.string(), smsDelivered: z.boolean() }), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const member = authorize(request, ["hr-officer"], request.params.agency);
      const out = await agencyOf(request.params.agency).workflow.startIdentityVerification(request.params.id, actor(member));
      return { sessionId: out.sessionId, expiresAt: out.expiresAt, smsDelivered: out.sms?.delivered ?? false };
    },
  );
  app.post(
    "/staff/requests/:agency/:id/identity/verify",
    {
      schema: {
        tags, security, summary: "Check the applicant's identity evidence: name, employee reference and the SMS code (roles: hr-officer)", params: requestParams,
        body: z.object({ name: z.string().min(1).max(100), employeeRef: z.string().min(1).max(32), code: z.string().regex(/^[0-9]{4,12}$/) }).strict(),
        response: { 200: recordSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const member = authorize(request, ["hr-officer"], request.params.agency);
      return recordJson(await agencyOf(request.params.agency).workflow.verifyIdentity(request.params.id, request.body, actor(member)));
    },
  );

  app.get(
    "/staff/requests/:agency/:id/audit",
    { schema: { tags, security, summary: "Audit trail of a request: workflow transitions and service events, oldest first (roles: any staff)", params: requestParams, response: { 200: z.object({ entries: z.array(auditSchema) }), ...errorResponses(401, 403, 404) } } },
    async (request) => {
      authorize(request, ALL, request.params.agency);
      const workflowEntries = (await agencyOf(request.params.agency).workflow.audit(request.params.id)).map((e: AuditEntry) => ({
        at: e.at, actor: e.actor, action: e.action, ...(e.from === undefined ? {} : { from: e.from }), ...(e.to === undefined ? {} : { to: e.to }), origin: "workflow" as const, details: { ...e.details },
      }));
      const serviceEntries = (await ctx.store.events(request.params.agency, request.params.id)).map((e) => ({
        at: new Date(e.at).toISOString(), actor: e.actor, action: e.action, origin: "service" as const, details: JSON.parse(e.details) as Record<string, unknown>,
      }));
      return { entries: [...workflowEntries, ...serviceEntries].sort((a, b) => a.at.localeCompare(b.at)) };
    },
  );

  app.get(
    "/staff/requests/:agency/:id/sms",
    {
      schema: {
        tags, security, summary: "SMS of a request as the outbox holds them — redacted text only, codes never shown (roles: hr-officer, help-desk, admin)", params: requestParams,
        response: { 200: z.object({ messages: z.array(z.object({ id: z.number().int(), purpose: z.string(), to: z.string(), status: z.string(), text: z.string(), attempts: z.number().int() })) }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      authorize(request, ["hr-officer", "help-desk", "admin"], request.params.agency);
      const messages = (await agencyOf(request.params.agency).workflow.outbox(request.params.id)).map((m) => ({ id: m.id, purpose: m.purpose, to: m.to, status: m.status, text: m.redactedBody, attempts: m.attempts }));
      return { messages };
    },
  );

  app.get(
    "/staff/sms/undelivered",
    {
      schema: {
        tags, security, summary: "SMS waiting for delivery, with their text, for a carrier integration that polls (role: admin)",
        querystring: z.object({ agency: agencyParam }).strict(),
        response: { 200: z.object({ messages: z.array(z.object({ id: z.number().int(), requestId: z.string(), purpose: z.string(), to: z.string(), body: z.string(), status: z.string(), expiresAt: z.string() })) }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      authorize(request, ["admin"], request.query.agency);
      const messages = (await agencyOf(request.query.agency).workflow.undeliveredSms()).map((m) => ({ id: m.id, requestId: m.requestId, purpose: m.purpose, to: m.to, body: m.body, status: m.status, expiresAt: m.expiresAt }));
      return { messages };
    },
  );

  // ---------------------------------------------------------------- credential status on chain

  const statusChange = (path: "lock" | "unlock" | "revoke", summary: string, roles: StaffRole[], allowed: readonly ReasonName[]) => {
    app.post(
      `/staff/credentials/:credentialId/${path}`,
      {
        schema: {
          tags, security, summary: `${summary} (roles: ${roles.join(", ")}); reasons: ${allowed.map((r) => r.toLowerCase().replace(/_/g, "-")).join(", ")}`,
          params: credentialParams,
          body: z.object({ reason: z.string().min(1).max(40), note: reasonText.optional(), requestId: z.string().max(200).optional() }).strict(),
          response: { 200: statusChangeSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
        },
      },
      async (request) => {
        const credentialId = parseCredentialId(request.params.credentialId);
        const agency = agencyOfCredential(credentialId);
        const member = authorize(request, roles, agency);
        const runtime = agencyOf(agency);
        const reason = parseReason(request.body.reason, allowed);
        const client = path === "lock" ? runtime.lockClient : runtime.statusClient;
        const outcome = await client[path](credentialId, reason);
        const status = outcome.statuses[0];
        if (status === undefined) throw new CivilIdError("CONTRACT_REVERTED", "The status change returned no status.");
        await ctx.store.appendEvent({
          agency, requestId: request.body.requestId ?? null, at: ctx.now(), actor: actor(member), action: `credential-${path}`,
          details: { credentialId: credentialId.toString(), reason: reasonName(reason), txHash: outcome.txHash, blockNumber: outcome.blockNumber, ...(request.body.note === undefined ? {} : { note: request.body.note }) },
        });
        return { credentialId: credentialId.toString(), state: status.stateName, reason: status.reason, txHash: outcome.txHash, blockNumber: outcome.blockNumber };
      },
    );
  };
  statusChange("lock", "Lost phone (or PIN lockout) report: lock the credential on chain at once", ["help-desk", "admin"], LOCK_OR_REVOKE_REASONS);
  statusChange("unlock", "Unlock a locked credential (phone found)", ["admin"], UNLOCK_REASONS);
  statusChange("revoke", "Revoke a credential for good, with a reason", ["admin"], LOCK_OR_REVOKE_REASONS);

  app.get(
    "/staff/credentials/:credentialId",
    { schema: { tags, security, summary: "Status of a credential on chain (roles: any staff)", params: credentialParams, response: { 200: z.object({ credentialId: z.string(), state: z.string(), reason: z.string() }), ...errorResponses(401, 403, 404, 503) } } },
    async (request) => {
      const credentialId = parseCredentialId(request.params.credentialId);
      const agency = agencyOfCredential(credentialId);
      authorize(request, ALL, agency);
      const status = await agencyOf(agency).statusClient.status(credentialId);
      return { credentialId: credentialId.toString(), state: status.stateName, reason: status.reason };
    },
  );

  app.post(
    "/staff/reconcile",
    {
      schema: {
        tags, security, summary: "Complete interrupted issuances and deliver queued SMS for every organisation (role: admin)",
        response: { 200: z.object({ completed: z.array(z.string()), pending: z.array(z.string()), failed: z.array(z.object({ id: z.string(), code: z.string() })) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const member = authorize(request, ["admin"]);
      const completed: string[] = [];
      const pending: string[] = [];
      const failed: { id: string; code: string }[] = [];
      for (const a of ctx.agencies.all()) {
        if (member.agencies !== undefined && !member.agencies.includes(a.code)) continue;
        const report = await a.workflow.reconcile(actor(member));
        completed.push(...report.completed);
        pending.push(...report.pending.map((p) => p.id));
        failed.push(...report.failed.map((f) => ({ id: f.id, code: f.code })));
      }
      return { completed, pending, failed };
    },
  );
}
