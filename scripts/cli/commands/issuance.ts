import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { HR_SOURCES, REISSUE_REASONS, formatHrExport, normalisePersonId, parseHrExport, type HrExportRow, type HrSource } from "../../../sdk/issuer/hr-import.js";
import { readHrExportFile } from "../../../sdk/issuer/hr-file.js";
import { WORKFLOW_STATES, type WorkflowState } from "../../../sdk/issuer/workflow-store.js";
import type { DeliveryOutcome, IssuanceRecord, IssuanceWorkflow } from "../../../sdk/issuer/workflow.js";
import { writeFileAtomic } from "../../../sdk/util/atomic-file.js";
import { EXIT, describeError } from "../output.js";
import { envValue, nonNegativeInt, oneOf, positiveInt, requestId } from "../parse.js";
import { personalDataPath } from "../personal-data.js";
import { run, type CommandContext } from "../run.js";
import { NO_CARRIER, actorOf, readHolderSecret, serverOptions, withWorkflow, type ServerOptions } from "../server.js";

const SIGN = { sign: true, create: false };
const READ = { sign: false, create: false };

/** One line per request, for lists. */
function summary(r: IssuanceRecord): string {
  return `${r.id}  ${r.state}  ${r.name} (${r.position}, ${r.department})  ${r.kind}${r.reissueReason ? `/${r.reissueReason}` : ""}`;
}

/** What an operator needs to know about a request. */
function describe(r: IssuanceRecord): string[] {
  const lines: (string | false)[] = [
    `${r.id}: ${r.state} — next: ${r.nextStep}`,
    `  ${r.name}, ${r.position}, ${r.department}, ${r.organisationName} (${r.agencyCode}); employee ${r.employeeRef}; mobile ${r.mobile}`,
    `  ${r.kind === "reissue" ? `reissue (${r.reissueReason})` : "new credential"}, requested ${r.requestedAt} in ${r.source} as ${r.hrRequestId}`,
    r.refusal !== undefined && `  refused: ${r.refusal.code} — ${r.refusal.reason}`,
    r.approver !== undefined && `  ${r.state === "rejected" ? "rejected" : "approved"} by ${r.approver} at ${r.decidedAt}${r.rejectionReason ? `: ${r.rejectionReason}` : ""}`,
    r.identityVerifiedAt !== undefined && `  identity verified (${r.identityMethod}) at ${r.identityVerifiedAt}`,
    r.subjectDid !== undefined && `  device ${r.subjectDid}, activated at ${r.activatedAt}`,
    r.credentialId !== undefined &&
      `  credential ${r.credentialId} (tx ${r.txHash}, block ${r.blockNumber})${r.supersededId !== undefined ? `, superseding ${r.supersededId}` : ""}`,
    r.supersededBy !== undefined && `  superseded by credential ${r.supersededBy}`,
  ];
  return lines.filter((l): l is string => l !== false);
}

function smsLine(what: string, outcome: DeliveryOutcome | undefined, agency: string): string {
  if (outcome === undefined) return `${what}: no SMS (this identity method sends none).`;
  if (outcome.delivered) return `${what}: SMS #${outcome.outboxId} sent.`;
  if (outcome.error === NO_CARRIER) return `${what}: SMS #${outcome.outboxId} waits in the outbox (no carrier): mcid sms outbox --agency ${agency}`;
  return `${what}: SMS #${outcome.outboxId} not delivered (${outcome.error}); retried by mcid request reconcile, readable with mcid sms outbox --agency ${agency}`;
}

/** A request command: `request <name> …` with the server options. */
function requestCommand(parent: Command, spec: string, description: string, example: string): Command {
  return serverOptions(parent.command(spec).description(description)).addHelpText("after", `\nExample:\n  ${example}`);
}

/**
 * One step over many requests (`request approve|invite|issue` with several ids or --all): one workflow session,
 * a progress bar on a terminal, every request tried (one refusal does not stop the others) and a summary; exit 4
 * when any was refused.
 */
async function bulk(
  ctx: CommandContext, o: ServerOptions,
  spec: { ids: readonly string[]; all: boolean; state: WorkflowState; verb: string; mode: { sign: boolean; create: boolean } },
  step: (wf: IssuanceWorkflow, id: string) => Promise<void> | void,
): Promise<number> {
  if (spec.all === (spec.ids.length > 0)) throw new CivilIdError("INVALID_INPUT", `Give request ids, or --all (every request in state ${spec.state}), not both.`);
  const given = spec.ids.map((id) => requestId(id));
  const report = await withWorkflow(ctx, o, spec.mode, async (wf) => {
    const ids = spec.all ? await listAll(wf, spec.state) : given;
    const done: string[] = [];
    const failed: { id: string; code: string; message: string }[] = [];
    const progress = ctx.out.progress(spec.verb, ids.length);
    for (const [i, id] of ids.entries()) {
      try {
        await step(wf, id);
        done.push(id);
      } catch (error) {
        const d = describeError(error);
        if (d.exit === EXIT.INFRASTRUCTURE || d.exit === EXIT.PENDING) throw error; // the node is gone: stop, the rest would fail alike
        failed.push({ id, code: d.code, message: d.message });
      }
      progress(i + 1);
    }
    return { ids, done, failed };
  });
  ctx.out.result({ ok: report.failed.length === 0, action: spec.verb, count: report.ids.length, done: report.done, failed: report.failed }, [
    ...report.failed.map((f) => `  refused ${f.id}: ${f.code} — ${f.message}`),
    `${spec.verb}: ${report.done.length} of ${report.ids.length} done${report.failed.length > 0 ? `, ${report.failed.length} refused` : ""}.`,
  ]);
  return report.failed.length > 0 ? EXIT.OPERATION_REFUSED : EXIT.OK;
}

/** Every request of the organisation in `state`, oldest first (paged through the workflow's list). */
async function listAll(wf: IssuanceWorkflow, state: WorkflowState): Promise<string[]> {
  const out: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await wf.list({ state: [state], limit: 1000, offset });
    out.push(...page.map((r) => r.id));
    if (page.length < 1000) return out;
  }
}

export function registerIssuance(program: Command): void {
  // ------------------------------------------------------------------ HR import
  const hr = program.command("hr").description("HR requests for mobile IDs (e-사람, 차세대 인사랑) into the issuing server");
  serverOptions(
    hr.command("import")
      .description("Import an HR export: a file with any invalid row imports nothing; otherwise each row is created, a duplicate, refused or a conflict")
      .requiredOption("--source <system>", "e-saram (central agencies, JSON) | insarang (local governments, CSV)")
      .requiredOption("--file <file>", "the export file (UTF-8)"),
  )
    .addHelpText("after", "\nExample:\n  mcid hr import --source e-saram --file requests.json --agency 1741000 --key keys/registrar.json --issuer-key keys/issuer.json --network localhost")
    .action(run(async (ctx, o: ServerOptions & { source: string; file: string }) => {
      const source = oneOf<HrSource>(o.source, "--source", HR_SOURCES);
      const bytes = await readHrExportFile(o.file); // size limit enforced while reading
      const report = await withWorkflow(ctx, o, { sign: false, create: true }, (wf) => wf.importRequests(source, bytes, actorOf(o)));
      ctx.out.result({ ok: report.refused.length + report.conflicts.length === 0, ...report }, [
        `${report.rows} row(s) from ${source}: ${report.created.length} created, ${report.duplicates.length} duplicate(s), ${report.refused.length} refused, ${report.conflicts.length} conflict(s)`,
        ...report.created.map((id) => `  created   ${id} — next: mcid request approve ${id} --approver <department head> --agency ${o.agency}`),
        ...report.duplicates.map((id) => `  duplicate ${id} (already imported, unchanged)`),
        ...report.refused.map((r) => `  refused   ${r.id} (row ${r.row}): ${r.code} — ${r.reason}`),
        ...report.conflicts.map((c) => `  conflict  ${c.id} (row ${c.row}): exported again with other content; left unchanged, HR must use a new request id`),
        ...(report.refused.length + report.conflicts.length > 0 ? [`Not everything was imported: exit ${EXIT.OPERATION_REFUSED}. The rows above say why; HR corrects them and exports again.`] : []),
      ]);
      // A partial import is not a success for a script that chains the next step on the exit code.
      return report.refused.length + report.conflicts.length > 0 ? EXIT.OPERATION_REFUSED : EXIT.OK;
    }));

  // ------------------------------------------------------------------ requests
  const request = program.command("request").description("The issuing server's requests: approval, identity check, invitation, issuance, audit");

  requestCommand(request, "list", "List requests (oldest first)", "mcid request list --agency 1741000 --state requested,approved --network localhost")
    .option("--state <states>", `comma-separated: ${WORKFLOW_STATES.join(", ")}`)
    .option("--source <system>", "e-saram | insarang")
    .option("--limit <n>", "at most this many", "100")
    .option("--offset <n>", "skip this many", "0")
    .action(run(async (ctx, o: ServerOptions & { state?: string; source?: string; limit: string; offset: string }) => {
      const states = o.state?.split(",").map((s) => oneOf<WorkflowState>(s.trim(), "--state", WORKFLOW_STATES));
      const source = o.source === undefined ? undefined : oneOf<HrSource>(o.source, "--source", HR_SOURCES);
      const limit = positiveInt(o.limit, "--limit", 10_000);
      const offset = nonNegativeInt(o.offset, "--offset");
      const list = await withWorkflow(ctx, o, READ, (wf) => wf.list({ ...(states ? { state: states } : {}), ...(source ? { source } : {}), limit, offset }));
      ctx.out.result({ ok: true, count: list.length, requests: list }, list.length === 0 ? ["No requests."] : list.map(summary));
    }));

  requestCommand(request, "show <requestId>", "Show a request, its next step and its SMS", "mcid request show e-saram:ES-2026-000123 --agency 1741000 --network localhost")
    .action(run(async (ctx, o: ServerOptions, [id]) => {
      const rid = requestId(id);
      const { record, sms } = await withWorkflow(ctx, o, READ, async (wf) => ({ record: await wf.get(rid), sms: await wf.outbox(rid) }));
      ctx.out.result({ ok: true, request: record, sms }, [
        ...describe(record),
        ...sms.map((m) => `  SMS #${m.id} ${m.purpose} to ${m.to}: ${m.status}${m.attempts > 0 ? ` after ${m.attempts} attempt(s)` : ""}`),
      ]);
    }));

  requestCommand(request, "approve [requestIds...]", "Approve requests (department head's 결재): one, several, or --all requested ones",
    "mcid request approve e-saram:ES-2026-000123 --approver dept-head:kim --agency 1741000 --network localhost\n  mcid request approve --all --approver dept-head:kim --agency 1741000 --network localhost")
    .requiredOption("--approver <id>", "the department head approving, for the record")
    .option("--all", "every request waiting for approval (state requested)", false)
    .action(run(async (ctx, o: ServerOptions & { approver: string; all: boolean }, ids) => {
      if (!o.all && ids.length === 1) {
        const rid = requestId(ids[0]);
        const record = await withWorkflow(ctx, o, READ, (wf) => wf.approve(rid, o.approver));
        ctx.out.result({ ok: true, request: record }, [`${rid} approved by ${o.approver}. Next: mcid request verify-identity-start ${rid} --agency ${o.agency}`]);
        return;
      }
      return bulk(ctx, o, { ids, all: o.all, state: "requested", verb: "approve", mode: READ }, async (wf, rid) => void (await wf.approve(rid, o.approver)));
    }));

  requestCommand(request, "reject <requestId>", "Reject a request for good (department head), with the reason", 'mcid request reject e-saram:ES-2026-000123 --approver dept-head:kim --reason "not in this department" --agency 1741000 --network localhost')
    .requiredOption("--approver <id>", "the department head rejecting, for the record")
    .requiredOption("--reason <text>", "why (1-500 characters)")
    .action(run(async (ctx, o: ServerOptions & { approver: string; reason: string }, [id]) => {
      const rid = requestId(id);
      const record = await withWorkflow(ctx, o, READ, (wf) => wf.reject(rid, o.approver, o.reason));
      ctx.out.result({ ok: true, request: record }, [`${rid} rejected by ${o.approver}: ${record.rejectionReason}`]);
    }));

  requestCommand(request, "cancel <requestId>", "Cancel a request before it is registered (e.g. the phone was lost during activation)", 'mcid request cancel e-saram:ES-2026-000123 --reason "phone lost before activation" --agency 1741000 --network localhost')
    .requiredOption("--reason <text>", "why (1-500 characters)")
    .action(run(async (ctx, o: ServerOptions & { reason: string }, [id]) => {
      const rid = requestId(id);
      const record = await withWorkflow(ctx, o, READ, (wf) => wf.cancel(rid, actorOf(o), o.reason));
      ctx.out.result({ ok: true, request: record }, [`${rid} cancelled; its invitation link no longer works.`]);
    }));

  requestCommand(request, "verify-identity-start <requestId>", "Start the identity check: a one-time code is texted to the phone HR registered",
    "mcid request verify-identity-start e-saram:ES-2026-000123 --agency 1741000 --network localhost")
    .action(run(async (ctx, o: ServerOptions, [id]) => {
      const rid = requestId(id);
      const started = await withWorkflow(ctx, o, READ, (wf) => wf.startIdentityVerification(rid, actorOf(o)));
      ctx.out.result({ ok: true, requestId: rid, ...started }, [
        smsLine(`Identity check of ${rid} started (code valid until ${started.expiresAt})`, started.sms, o.agency),
        `Next: mcid request verify-identity ${rid} --name <name> --employee-ref <employee no.> --code <code> --agency ${o.agency}`,
      ]);
    }));

  requestCommand(request, "verify-identity <requestId>", "Check the applicant's name, employee number and the one-time code against the HR record",
    "mcid request verify-identity e-saram:ES-2026-000123 --name 홍길동 --employee-ref MOIS-20150042 --code 123456 --agency 1741000 --network localhost")
    .requiredOption("--name <name>", "the name the applicant states")
    .requiredOption("--employee-ref <ref>", "the employee number the applicant states")
    .requiredOption("--code <digits>", "the one-time code from the SMS (single use)")
    .action(run(async (ctx, o: ServerOptions & { name: string; employeeRef: string; code: string }, [id]) => {
      const rid = requestId(id);
      const record = await withWorkflow(ctx, o, READ, (wf) => wf.verifyIdentity(rid, { name: o.name, employeeRef: o.employeeRef, code: o.code }, o.actor ?? "applicant"));
      ctx.out.result({ ok: true, request: record }, [`Identity of ${rid} verified. Next: mcid request invite ${rid} --agency ${o.agency}`]);
    }));

  requestCommand(request, "invite [requestIds...]", "Send the invitation SMS: install/activation link and activation code (again: replaces the previous one); one, several, or --all identity-verified ones",
    "mcid request invite e-saram:ES-2026-000123 --agency 1741000 --network localhost")
    .option("--all", "every request whose identity was verified and not invited yet", false)
    .action(run(async (ctx, o: ServerOptions & { all: boolean }, ids) => {
      if (!o.all && ids.length === 1) {
        const rid = requestId(ids[0]);
        const invited = await withWorkflow(ctx, o, READ, (wf) => wf.invite(rid, actorOf(o)));
        ctx.out.result({ ok: true, requestId: rid, ...invited }, [
          smsLine(`Invitation ${invited.invitationId} for ${rid} (valid until ${invited.expiresAt})`, invited.sms, o.agency),
          "Next, on the phone: mcid wallet activate --token <token from the link> --code <activation code> --agency " + o.agency,
        ]);
        return;
      }
      return bulk(ctx, o, { ids, all: o.all, state: "identity_verified", verb: "invite", mode: READ }, (wf, rid) => void wf.invite(rid, actorOf(o)));
    }));

  requestCommand(request, "issue [requestIds...]", "Register credentials on chain and sign them (unlocks the registrar and issuer keys); one, several, or --all activated ones",
    "mcid request issue e-saram:ES-2026-000123 --agency 1741000 --key keys/registrar.json --issuer-key keys/issuer.json --network localhost")
    .option("--all", "every activated request", false)
    .action(run(async (ctx, o: ServerOptions & { all: boolean }, ids) => {
      if (!o.all && ids.length === 1) {
        const rid = requestId(ids[0]);
        const record = await withWorkflow(ctx, o, SIGN, (wf) => wf.issue(rid, actorOf(o)));
        ctx.out.result({ ok: true, request: record }, [
          `Issued credential ${record.credentialId} for ${rid} (tx ${record.txHash}, block ${record.blockNumber})${record.supersededId !== undefined ? `; it supersedes ${record.supersededId}` : ""}.`,
          `The phone collects it: mcid wallet collect --agency ${o.agency}`,
        ]);
        return;
      }
      return bulk(ctx, o, { ids, all: o.all, state: "activated", verb: "issue", mode: SIGN }, async (wf, rid) => void (await wf.issue(rid, actorOf(o))));
    }));

  requestCommand(request, "audit [requestId]", "The audit trail of a request (without an id: the imports)", "mcid request audit e-saram:ES-2026-000123 --agency 1741000 --network localhost --json")
    .action(run(async (ctx, o: ServerOptions, [id]) => {
      const rid = id === undefined ? undefined : requestId(id);
      const entries = await withWorkflow(ctx, o, READ, (wf) => wf.audit(rid));
      ctx.out.result({ ok: true, requestId: rid ?? null, entries }, entries.length === 0 ? ["No audit entries."] : entries.map((e) =>
        `#${e.seq} ${e.at} ${e.actor} ${e.action}${e.from !== undefined || e.to !== undefined ? ` ${e.from ?? "-"} → ${e.to ?? "-"}` : ""}${Object.keys(e.details).length > 0 ? ` ${JSON.stringify(e.details)}` : ""}`));
    }));

  requestCommand(request, "reconcile", "Finish what an interruption left half done (registrations, signatures) and retry undelivered SMS (unlocks the keys)",
    "mcid request reconcile --agency 1741000 --key keys/registrar.json --issuer-key keys/issuer.json --network localhost")
    .action(run(async (ctx, o: ServerOptions) => {
      const report = await withWorkflow(ctx, o, SIGN, (wf) => wf.reconcile(actorOf(o)));
      ctx.out.result({ ok: report.failed.length === 0, ...report }, [
        `Completed ${report.completed.length}, pending ${report.pending.length}, failed ${report.failed.length}; SMS delivered ${report.sms.delivered}, failed ${report.sms.failed}, expired ${report.sms.expired}.`,
        ...report.completed.map((id) => `  completed ${id}`),
        ...report.pending.map((p) => `  pending   ${p.id}: ${p.reason}`),
        ...report.failed.map((f) => `  failed    ${f.id}: ${f.code} — ${f.message}`),
      ]);
      return report.failed.length > 0 ? EXIT.OPERATION_REFUSED : EXIT.OK;
    }));

  // ------------------------------------------------------------------ reissue
  serverOptions(
    program.command("reissue")
      .summary("Write a holder's reissue request (lost phone, PIN lockout, …) as an HR export for HR to file")
      .description("Reissue (lost or replaced phone, PIN lockout, app deleted): HR files a reissue request, which then goes through the same flow as a new one. " +
        "This writes that request as an HR export, from the holder's issued request, for HR to file with `mcid hr import`.")
      .requiredOption("--from <requestId>", "the holder's issued request")
      .requiredOption("--reason <reason>", REISSUE_REASONS.join(" | "))
      .requiredOption("--request-id <id>", "the new HR request id")
      .requiredOption("--person-id-env <VAR>", "name of the environment variable holding the holder's national person id (never on the command line)")
      .option("--out <file>", "the HR export to write (e-사람 JSON or 인사랑 CSV, as the original request); default <data-dir>/hr-exports/reissue-<request id>.json|csv")
      .option("--allow-unignored-output", "allow --out inside a git work tree where git does not ignore it (the file holds personal data)", false),
  )
    .addHelpText("after", [
      "",
      "A reissue is an ordinary HR request with requestKind \"reissue\": in production HR exports it from e-사람 or 인사랑 like any",
      "other. Issuing it registers a new credential that supersedes the holder's current one on chain (Revoked,",
      "SUPERSEDED_BY_REISSUE) in the same transaction.",
      "",
      "The file holds the holder's person id, name and mobile: it is written under the data directory, which git and npm ignore.",
      "",
      "Example:",
      "  PERSON_ID=… mcid reissue --from e-saram:ES-2026-000123 --reason lost-device --request-id ES-2026-000187 --person-id-env PERSON_ID --agency 1741000 --network localhost",
      "  mcid hr import --source e-saram --file data/hr-exports/reissue-ES-2026-000187.json --agency 1741000 --network localhost",
    ].join("\n"))
    .action(run(async (ctx, o: ServerOptions & { from: string; reason: string; requestId: string; personIdEnv: string; out?: string; allowUnignoredOutput: boolean }) => {
      const from = requestId(o.from);
      const reason = oneOf(o.reason, "--reason", REISSUE_REASONS);
      const personId = normalisePersonId(envValue(o.personIdEnv, "--person-id-env"));
      if (personId === undefined) throw new CivilIdError("INVALID_INPUT", `${o.personIdEnv} does not hold a person id (6-64 letters or digits; hyphens and spaces are ignored).`);
      const original = await withWorkflow(ctx, o, READ, (wf) => wf.get(from));
      const defaultName = `reissue-${o.requestId.replace(/[^A-Za-z0-9._-]/g, "_")}.${original.source === "insarang" ? "csv" : "json"}`;
      const out = personalDataPath(o.out ?? path.join(ctx.global.dataDir, "hr-exports", defaultName), o.allowUnignoredOutput);
      if (await stat(out).then(() => true, () => false)) throw new CivilIdError("INVALID_INPUT", `${out} exists; choose another --out.`);
      const holderSecret = await readHolderSecret(o.holderSecretFile);
      if (original.state !== "issued") {
        throw new CivilIdError("INVALID_WORKFLOW_STATE", `${from} is ${original.state}, not issued: a reissue replaces an issued credential (file a new request otherwise).`);
      }
      if (holderReference(holderSecret, personId) !== original.holderRef) {
        throw new CivilIdError("INVALID_INPUT", `The person id in ${o.personIdEnv} is not the holder of ${from}.`);
      }
      const now = new Date();
      const row: HrExportRow = {
        requestId: o.requestId, personId, name: original.name, agencyCode: String(original.agencyCode), organisationName: original.organisationName,
        department: original.department, position: original.position, employeeRef: original.employeeRef, mobile: original.mobile,
        requestKind: "reissue", reissueReason: reason, requestedAt: now.toISOString(),
      };
      const text = formatHrExport(original.source, [row], now.toISOString());
      parseHrExport(original.source, text, now.getTime()); // the request must be one HR could file (e.g. a valid --request-id)
      await mkdir(path.dirname(out), { recursive: true });
      await writeFileAtomic(out, text);
      ctx.out.result({ ok: true, file: out, source: original.source, requestId: `${original.source}:${o.requestId}`, from, reissueReason: reason }, [
        `Reissue request ${original.source}:${o.requestId} for the holder of ${from} (${reason}) written to ${out}.`,
        `HR files it: mcid hr import --source ${original.source} --file ${path.relative(process.cwd(), out) || out} --agency ${o.agency}`,
      ]);
    }));

  // ------------------------------------------------------------------ SMS
  const sms = program.command("sms").description("The issuing server's SMS outbox");
  serverOptions(
    sms.command("outbox")
      .description("Show the SMS waiting for delivery, with their text (identity codes, invitation links and codes): what an operator hands over when no carrier is configured")
      .option("--request <requestId>", "only this request's")
      .option("--extract <what>", "print only the one-time code (identity code, or an invitation's activation code) or the link of the latest message, for a script or a file the phone reads"),
  )
    .addHelpText("after", "\nExample:\n  mcid sms outbox --agency 1741000 --network localhost\n  mcid sms outbox --request e-saram:ES-2026-000123 --extract link --agency 1741000 > data/invitation-link.txt")
    .action(run(async (ctx, o: ServerOptions & { request?: string; extract?: string }) => {
      const only = o.request === undefined ? undefined : requestId(o.request);
      const extract = o.extract === undefined ? undefined : oneOf(o.extract, "--extract", ["code", "link"] as const);
      const messages = (await withWorkflow(ctx, o, READ, (wf) => wf.undeliveredSms())).filter((m) => only === undefined || m.requestId === only);
      if (extract !== undefined) {
        const latest = messages.at(-1);
        const value = latest === undefined ? undefined : extract === "link" ? /https:\/\/\S+/.exec(latest.body)?.[0] : /코드 ([0-9]{6,8})/.exec(latest.body)?.[1];
        if (value === undefined) throw new CivilIdError("INVALID_INPUT", `No SMS waiting${only ? ` for ${only}` : ""} holds a ${extract}.`);
        ctx.out.result({ ok: true, smsId: latest!.id, requestId: latest!.requestId, purpose: latest!.purpose, [extract]: value }, [value]);
        return;
      }
      ctx.out.result({ ok: true, count: messages.length, messages }, messages.length === 0 ? ["No SMS waiting."] : messages.flatMap((m) => [
        `#${m.id} ${m.purpose} for ${m.requestId} to ${m.to} (${m.status}, expires ${m.expiresAt}):`,
        `  ${m.body}`,
      ]));
    }));
}
