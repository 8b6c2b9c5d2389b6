import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import { StatusClient, type CredentialStatus, type StatusChangeOutcome } from "../../../sdk/status/client.js";
import { LOCK_OR_REVOKE_REASONS, UNLOCK_REASONS, agencyOfCredential, parseAgencyCode, parseCredentialId, parseReason } from "../../../sdk/chain/codes.js";
import { toCivilIdError } from "../../../sdk/chain/errors.js";
import { normalisePersonId } from "../../../sdk/issuer/hr-import.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { EXIT } from "../output.js";
import { envValue } from "../parse.js";
import { transactionState } from "../transactions.js";
import { readHolderSecret } from "../server.js";
import { run, type CommandContext } from "../run.js";

type ChangeOpts = { reason: string; file?: string };

/** Reads credential ids: one positional id, or a file with one id per line (blank lines and # comments ignored). */
async function ids(id: string | undefined, file: string | undefined): Promise<bigint[]> {
  if ((id === undefined) === (file === undefined)) throw new CivilIdError("INVALID_INPUT", "Give one credential id, or --file with one id per line (not both).");
  if (id !== undefined) return [parseCredentialId(id)];
  let text: string;
  try {
    text = await readFile(file!, "utf8");
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `Cannot read ${file}.`, { cause: error });
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (lines.length === 0) throw new CivilIdError("INVALID_INPUT", `${file} lists no credential ids.`);
  return lines.map((l, i) => {
    try {
      return parseCredentialId(l);
    } catch (error) {
      throw new CivilIdError("INVALID_INPUT", `${file} line ${i + 1}: ${(error as Error).message}`, { cause: error });
    }
  });
}

const BATCH = 500;
const READ_BATCH = 2000;

/** A credential's status as every command prints it in --json: the state as a word, the reason as its code. */
export function statusJson(s: CredentialStatus): { credentialId: string; registered: boolean; state: string; reason: string } {
  return { credentialId: s.credentialId.toString(), registered: s.registered, state: s.stateName, reason: s.reason };
}

function statusLine(s: CredentialStatus, suffix = ""): string {
  return `${s.credentialId}: ${s.stateName}${s.reason !== "NONE" ? ` (${s.reason.toLowerCase().replace(/_/g, "-")})` : ""}${suffix}`;
}

const TARGET = { lock: "locked", unlock: "active", revoke: "revoked" } as const;

async function statusesOf(client: StatusClient, list: readonly bigint[]): Promise<CredentialStatus[]> {
  const out: CredentialStatus[] = [];
  for (let i = 0; i < list.length; i += READ_BATCH) out.push(...(await client.statuses(list.slice(i, i + READ_BATCH))));
  return out;
}

/**
 * lock / unlock / revoke, idempotent as an operator needs them to be: a credential already in the wanted state is
 * reported as such (exit 0), one whose transaction from this data directory is still pending is waited for instead
 * of being sent twice, and a change the rules forbid (anything of a revoked credential, unlocking an active one) is
 * refused before anything is sent.
 */
async function change(ctx: CommandContext, verb: "lock" | "unlock" | "revoke", id: string | undefined, o: ChangeOpts) {
  const list = await ids(id, o.file);
  parseReason(o.reason, verb === "unlock" ? UNLOCK_REASONS : LOCK_OR_REVOKE_REASONS); // a wrong reason first, before any look-up
  const ledger = await ctx.signedLedger();
  const client = new StatusClient(ledger.statusRegistry);
  const chain = await ctx.chain();
  const tracker = await ctx.tracker();
  const target = TARGET[verb];
  const before = await statusesOf(new StatusClient(ledger.statusRegistry), list);
  const unregistered = before.filter((s) => !s.registered).map((s) => s.credentialId.toString());
  if (unregistered.length > 0) throw new CivilIdError("INVALID_CREDENTIAL_ID", `Not registered on this chain: ${unregistered.slice(0, 10).join(", ")}${unregistered.length > 10 ? ` and ${unregistered.length - 10} more` : ""}. Nothing was sent.`);
  const forbidden = before.filter((s) => s.stateName !== target && (s.stateName === "revoked" || (verb === "unlock" && s.stateName !== "locked")));
  if (forbidden.length > 0) {
    throw new CivilIdError("CONTRACT_REVERTED", `Cannot ${verb} ${forbidden.slice(0, 10).map((s) => `${s.credentialId} (${s.stateName})`).join(", ")}: ` +
      (verb === "unlock" ? "only a locked credential can be unlocked" : "revoked is final") + ". Nothing was sent.", { details: { credentialIds: forbidden.map((s) => s.credentialId.toString()) } });
  }
  const already = before.filter((s) => s.stateName === target);
  let pending = before.filter((s) => s.stateName !== target).map((s) => s.credentialId);

  // A transaction of this data directory still pending for these credentials: wait for it rather than send again.
  const awaited: string[] = [];
  const journal = ctx.journal();
  const waiting = new Set(pending.map(String));
  const earlier = journal.unsettled(chain.chainId).filter((t) => t.action === verb && t.credentialIds.some((c) => waiting.has(c)));
  for (const tx of earlier) {
    const state = await transactionState(chain.provider, tx.hash);
    if (state.state === "pending") {
      ctx.out.note(`A ${verb} of ${tx.credentialIds.length} credential(s) sent at ${tx.sentAt} is still pending (${tx.hash}): waiting for it instead of sending it again.`);
      const response = await chain.provider.getTransaction(tx.hash);
      if (response) {
        tracker.sent(response);
        await response.wait();
      }
      awaited.push(tx.hash);
    }
    journal.settle(tx.hash);
  }
  if (earlier.length > 0) {
    // Those transactions may have been mined since the first look: read again what is left to do.
    const now = await statusesOf(client, pending);
    pending = now.filter((s) => s.stateName !== target).map((s) => s.credentialId);
  }

  const progress = ctx.out.progress(verb, pending.length);
  const outcomes: StatusChangeOutcome[] = [];
  for (let i = 0; i < pending.length; i += BATCH) {
    const chunk = pending.slice(i, i + BATCH);
    tracker.purpose = { action: verb, credentialIds: chunk.map(String) };
    const outcome = chunk.length === 1
      ? await client[verb](chunk[0]!, o.reason as never)
      : await client[`${verb}Batch`](chunk, o.reason as never);
    outcomes.push(outcome);
    progress(i + chunk.length);
  }
  tracker.purpose = undefined;
  const changed = new Set(pending.map(String));
  const statuses = await statusesOf(client, list);
  const gasUsed = outcomes.reduce((a, x) => a + x.gasUsed, 0n);
  const unchanged = already.length;
  ctx.out.result({
    ok: true, action: verb, count: statuses.length, changed: changed.size, alreadyInState: unchanged, awaitedPending: awaited,
    transactions: outcomes.map((x) => x.txHash), gasUsed: gasUsed.toString(), statuses: statuses.map(statusJson),
  }, [
    ...statuses.slice(0, 20).map((s) => statusLine(s, changed.has(s.credentialId.toString()) ? "" : ` — already ${target}, nothing sent`)),
    ...(statuses.length > 20 ? [`… and ${statuses.length - 20} more`] : []),
    `${verb}: ${changed.size} changed in ${outcomes.length} transaction(s)${unchanged > 0 ? `, ${unchanged} already ${target}` : ""}${awaited.length > 0 ? `, ${awaited.length} pending transaction(s) awaited` : ""}; gas ${gasUsed}`,
  ]);
}

/** Status changes sent from this data directory and not mined yet (a lock in flight is not "active"). */
async function pendingChanges(ctx: CommandContext, credentialId: string): Promise<{ action: string; txHash: string; sentAt: string }[]> {
  const chain = await ctx.chain();
  const journal = ctx.journal();
  const out: { action: string; txHash: string; sentAt: string }[] = [];
  for (const tx of journal.unsettled(chain.chainId, credentialId)) {
    const { state } = await transactionState(chain.provider, tx.hash);
    if (state === "pending") out.push({ action: tx.action, txHash: tx.hash, sentAt: tx.sentAt });
    else journal.settle(tx.hash);
  }
  return out;
}

export function registerStatus(program: Command): void {
  program
    .command("tx <hash>")
    .description("Where a transaction is now: pending, mined (with its block) or failed, or unknown to the node")
    .addHelpText("after", "\nExample:\n  mcid tx 0x5c50…e1 --network localhost")
    .action(run(async (ctx, _o, [hash]) => {
      if (hash === undefined || !/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new CivilIdError("INVALID_INPUT", `${JSON.stringify(hash ?? "")} is not a transaction hash (0x + 64 hex digits).`);
      const chain = await ctx.chain();
      const { state, blockNumber } = await transactionState(chain.provider, hash);
      const head = await chain.provider.getBlockNumber();
      ctx.out.result({ ok: true, txHash: hash, state, blockNumber, confirmations: blockNumber === null ? 0 : head - blockNumber + 1 }, [
        state === "mined" ? `${hash}: mined in block ${blockNumber} (${head - blockNumber! + 1} confirmation(s))`
          : state === "failed" ? `${hash}: mined in block ${blockNumber} but reverted: nothing changed`
          : state === "pending" ? `${hash}: pending (known to the node, not in a block yet)`
          : `${hash}: unknown to this node (dropped, or sent to another chain): nothing changed; it is safe to send again`,
      ]);
      return state === "mined" || state === "pending" ? EXIT.OK : EXIT.OPERATION_REFUSED;
    }));
  for (const [verb, help, example] of [
    ["lock", "Lock a credential at once (e.g. phone reported lost); lock-only operators may", "mcid lock 1914249743958016000 --reason lost-device --key keys/help-desk.json --network localhost"],
    ["unlock", "Unlock a locked credential (registrar)", "mcid unlock 1914249743958016000 --reason found-device --key keys/registrar.json --network localhost"],
    ["revoke", "Revoke credentials for good (registrar)", "mcid revoke --file left-service.txt --reason left-service --key keys/registrar.json --network localhost"],
  ] as const) {
    program
      .command(`${verb} [credentialId]`)
      .description(help)
      .requiredOption("--reason <reason>", verb === "unlock" ? "found-device | administrative" : "lost-device | pin-lockout | app-deleted | device-replaced | left-service | key-compromise | administrative")
      .option("--file <file>", "batch: one credential id per line")
      .addHelpText("after", `\nExample:\n  ${example}`)
      .action(run(async (ctx, o: ChangeOpts, [id]) => change(ctx, verb, id, o)));
  }
  const status = program
    .command("status")
    .argument("[credentialId]", "the credential id (decimal)")
    .description("Show a credential's on-chain status (or `status holder`: a holder's latest credential)")
    .addHelpText("after", "\nExample:\n  mcid status 1914249743958016000 --network localhost --json\n  PERSON_ID=… mcid status holder --person-id-env PERSON_ID --agency 1741000 --network localhost")
    .action(run(async (ctx, _o, [id]) => {
      if (id === undefined) throw new CivilIdError("INVALID_INPUT", "Give a credential id (mcid status <credentialId>), or use mcid status holder.");
      const credentialId = parseCredentialId(id);
      const s = await new StatusClient((await ctx.ledger()).statusRegistry).status(credentialId);
      if (!s.registered) throw new CivilIdError("INVALID_CREDENTIAL_ID", `Credential ${credentialId} is not registered on this chain.`);
      const pending = await pendingChanges(ctx, credentialId.toString());
      ctx.out.result({ ok: true, ...statusJson(s), pending }, [
        statusLine(s),
        ...pending.map((p) => `  ${p.action} pending: transaction ${p.txHash} sent at ${p.sentAt}, not mined yet`),
      ]);
    }));
  status
    .command("holder")
    .description(
      "Show a holder's latest credential and its status, found by the holder reference (HMAC of the consortium secret and the person id). " +
        "The person id is read from the environment variable you name, never from the command line, and is not printed.",
    )
    .requiredOption("--person-id-env <VAR>", "name of the environment variable holding the national person id")
    .requiredOption("--agency <code>", "your organisation: a credential of another organisation is reported as such")
    .option("--holder-secret-file <file>", "consortium holder-reference secret as hex (default MCID_HOLDER_SECRET_FILE, else the hex in MCID_HOLDER_SECRET)", process.env.MCID_HOLDER_SECRET_FILE || undefined)
    .addHelpText("after", "\nExample:\n  PERSON_ID=… mcid status holder --person-id-env PERSON_ID --agency 1741000 --network localhost")
    .action(run(async (ctx, o: { personIdEnv: string; agency: string; holderSecretFile?: string }) => {
      const agencyCode = parseAgencyCode(o.agency);
      const personId = normalisePersonId(envValue(o.personIdEnv, "--person-id-env"));
      if (personId === undefined) throw new CivilIdError("INVALID_INPUT", `${o.personIdEnv} does not hold a person id (6-64 letters or digits; hyphens and spaces are ignored).`);
      const holderRef = holderReference(await readHolderSecret(o.holderSecretFile), personId);
      const registry = (await ctx.ledger()).statusRegistry;
      let latest: bigint;
      try {
        latest = await registry.latestCredentialOf(holderRef);
      } catch (error) {
        throw toCivilIdError(error, registry.interface, "Holder look-up");
      }
      if (latest === 0n) {
        ctx.out.result({ ok: true, holderRef, credential: null }, [`No credential was ever registered for this holder (holder reference ${holderRef}).`]);
        return;
      }
      const s = await new StatusClient(registry).status(latest);
      const owner = agencyOfCredential(latest);
      const elsewhere = owner !== agencyCode;
      ctx.out.result({ ok: true, holderRef, credential: { ...statusJson(s), agencyCode: owner, ofThisOrganisation: !elsewhere } }, [
        `Latest credential of this holder: ${latest}, ${s.stateName}${s.reason !== "NONE" ? ` (${s.reason.toLowerCase().replace(/_/g, "-")})` : ""}, of organisation ${owner}.`,
        ...(elsewhere && s.stateName !== "revoked"
          ? [`It belongs to organisation ${owner}: it must revoke it (e.g. left-service) before ${agencyCode} can issue to this holder.`]
          : []),
      ]);
    }));
}
