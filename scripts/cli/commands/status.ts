import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import { StatusClient, type StatusChangeOutcome } from "../../../sdk/status/client.js";
import { agencyOfCredential, parseAgencyCode, parseCredentialId } from "../../../sdk/chain/codes.js";
import { toCivilIdError } from "../../../sdk/chain/errors.js";
import { normalisePersonId } from "../../../sdk/issuer/hr-import.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { envValue } from "../parse.js";
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

async function change(ctx: CommandContext, verb: "lock" | "unlock" | "revoke", id: string | undefined, o: ChangeOpts) {
  const list = await ids(id, o.file);
  const client = new StatusClient((await ctx.signedLedger()).statusRegistry);
  const progress = ctx.out.progress(`${verb}`, list.length);
  const outcomes: StatusChangeOutcome[] = [];
  for (let i = 0; i < list.length; i += BATCH) {
    const chunk = list.slice(i, i + BATCH);
    const outcome = chunk.length === 1
      ? await client[verb](chunk[0]!, o.reason as never)
      : await client[`${verb}Batch`](chunk, o.reason as never);
    outcomes.push(outcome);
    progress(i + chunk.length);
  }
  const statuses = outcomes.flatMap((x) => x.statuses);
  const gasUsed = outcomes.reduce((a, x) => a + x.gasUsed, 0n);
  ctx.out.result({ ok: true, action: verb, count: statuses.length, transactions: outcomes.map((x) => x.txHash), gasUsed, statuses }, [
    ...statuses.slice(0, 20).map((s) => `${s.credentialId}: ${s.stateName}${s.reason !== "NONE" ? ` (${s.reason.toLowerCase().replace(/_/g, "-")})` : ""}`),
    ...(statuses.length > 20 ? [`… and ${statuses.length - 20} more`] : []),
    `${verb}: ${statuses.length} credential(s) in ${outcomes.length} transaction(s), gas ${gasUsed}`,
  ]);
}

export function registerStatus(program: Command): void {
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
      ctx.out.result({ ok: true, ...s }, [`${credentialId}: ${s.stateName}${s.reason !== "NONE" ? ` (${s.reason.toLowerCase().replace(/_/g, "-")})` : ""}`]);
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
      ctx.out.result({ ok: true, holderRef, credential: { ...s, agencyCode: owner, ofThisOrganisation: !elsewhere } }, [
        `Latest credential of this holder: ${latest}, ${s.stateName}${s.reason !== "NONE" ? ` (${s.reason.toLowerCase().replace(/_/g, "-")})` : ""}, of organisation ${owner}.`,
        ...(elsewhere && s.stateName !== "revoked"
          ? [`It belongs to organisation ${owner}: it must revoke it (e.g. left-service) before ${agencyCode} can issue to this holder.`]
          : []),
      ]);
    }));
}
