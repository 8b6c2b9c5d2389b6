/**
 * Phase 7 — reconcile: completes everything an interruption left half done. A `registering` request is decided by
 * its `CredentialRegistered` log (holderRef topic + binding digest, looked up in pages: sdk/status/registrations.ts)
 * or, when it provably was never mined and nothing is in flight, registered again; `registered` requests are
 * signed. Never registers a request twice.
 */
import { CivilIdError } from "../../errors.js";
import { agencyOfCredential } from "../../chain/codes.js";
import { toCivilIdError } from "../../chain/errors.js";
import { findRegistrations, nonceState } from "../../status/registrations.js";
import { statesFor } from "../transitions.js";
import type { ReconcileReport } from "../workflow-types.js";
import { checkActor, type WorkflowContext } from "./context.js";
import { recordIntent, recordRegistration, registerOnChain, sign } from "./issuance.js";
import { deliverOutbox } from "./outbox.js";

/** Delivers queued SMS, then resolves every `registering` request and signs every `registered` one. */
export async function reconcile(ctx: WorkflowContext, actor: string): Promise<ReconcileReport> {
  checkActor(actor);
  const sms = await deliverOutbox(ctx);
  return ctx.serial(async () => {
    const completed: string[] = [];
    const pending: { id: string; reason: string }[] = [];
    const failed: { id: string; code: string; message: string }[] = [];
    const interrupted = ctx.hasStore ? await ctx.store.listRequests({ states: statesFor("register", "issue"), limit: 10_000, offset: 0 }) : [];
    for (const request of interrupted) {
      try {
        if (request.state === "registering") {
          const outcome = await resolveRegistration(ctx, request.id, actor);
          if (!outcome.registered) {
            pending.push({ id: request.id, reason: outcome.reason });
            continue;
          }
        }
        await sign(ctx, request.id, actor);
        completed.push(request.id);
      } catch (error) {
        const e = error instanceof CivilIdError ? error : new CivilIdError("CONTRACT_REVERTED", String(error instanceof Error ? error.message : error));
        failed.push({ id: request.id, code: e.code, message: e.message });
      }
    }
    return { completed, pending, failed, sms };
  });
}

/**
 * Decides a `registering` request: "registered" when its registration was found (and recorded) or has now been
 * made; otherwise the reason it must wait.
 */
export async function resolveRegistration(ctx: WorkflowContext, id: string, actor: string): Promise<{ registered: true } | { registered: false; reason: string }> {
  const request = await ctx.request(id);
  const registry = ctx.options.ledger.statusRegistry;
  const digest = request.bindingDigest!;
  const fromBlock = request.intentBlock ?? ctx.options.ledger.deployment.deploymentBlock;
  const registrations = await findRegistrations(registry, { holderRef: request.holderRef, fromBlock, ...(ctx.maxLogRange === undefined ? {} : { maxRange: ctx.maxLogRange }) });
  let nonces;
  try {
    nonces = await nonceState(ctx.registrar);
  } catch (error) {
    throw toCivilIdError(error, registry.interface, "Registration look-up");
  }
  const known = await ctx.store.knownCredentialIds();
  const mine = registrations.filter((r) => r.credentialDigest === digest && agencyOfCredential(r.credentialId) === ctx.agencyCode && !known.has(r.credentialId));
  const found = mine.at(-1);
  if (found) {
    await recordRegistration(ctx, id, actor, "registration-recovered", found, { matchingLogs: mine.length, fromBlock });
    await ctx.step("credential-id-recorded", id);
    return { registered: true };
  }
  // Not mined. Register again only if the intent's transaction can no longer be mined: its nonce was used
  // by another transaction (mined > intent nonce), or nothing of the registrar is pending (never broadcast).
  const intentNonce = request.intentNonce ?? 0;
  if (nonces.mined <= intentNonce && nonces.pending > nonces.mined) {
    return { registered: false, reason: `IN_FLIGHT: a registrar transaction (nonce ${nonces.mined}) is pending; reconcile again once it is mined` };
  }
  await recordIntent(ctx, request, actor, "registration-retry");
  await ctx.step("intent-recorded", id);
  await registerOnChain(ctx, id, actor);
  return { registered: true };
}
