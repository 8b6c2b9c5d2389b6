import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import { OperatorRole, OrgStatus, parseAgencyCode } from "../../../sdk/chain/codes.js";
import { toCivilIdError } from "../../../sdk/chain/errors.js";
import { getAddress, type ContractTransactionResponse } from "ethers";
import { address, duration } from "../parse.js";
import { iso, kindName, operatorRoleName } from "../names.js";
import { run } from "../run.js";

const ROLES: Record<string, OperatorRole> = { registrar: OperatorRole.Registrar, "lock-only": OperatorRole.LockOnly, none: OperatorRole.None };

async function send(action: string, iface: Parameters<typeof toCivilIdError>[1], call: () => Promise<ContractTransactionResponse>) {
  try {
    const receipt = await (await call()).wait();
    if (!receipt || receipt.status !== 1) throw new CivilIdError("CONTRACT_REVERTED", `${action} failed.`);
    return receipt;
  } catch (error) {
    throw toCivilIdError(error, iface, action);
  }
}

export function registerOrg(program: Command): void {
  const org = program.command("org").description("An organisation admin's tools: issuer keys and status operators");
  org
    .command("add-key")
    .description("Add an issuer key (the address of an issuer DID) to your organisation")
    .requiredOption("--agency <code>", "your organisation's agency code")
    .requiredOption("--issuer <address>", "the issuer key's address")
    .option("--valid-for <duration>", "signing window from now", "365d")
    .addHelpText("after", "\nExample:\n  mcid org add-key --agency 1741000 --issuer 0xIs… --key keys/org-admin.json --network localhost")
    .action(run(async (ctx, o: { agency: string; issuer: string; validFor: string }) => {
      const code = parseAgencyCode(o.agency);
      const issuer = address(o.issuer, "--issuer");
      const seconds = duration(o.validFor, "--valid-for");
      const ledger = await ctx.signedLedger();
      const now = (await (await ctx.chain()).provider.getBlock("latest"))!.timestamp;
      const r = await send("Adding the issuer key", ledger.issuerRegistry.interface, () => ledger.issuerRegistry.addIssuerKey(code, issuer, 0, now + seconds));
      ctx.out.result({ ok: true, agencyCode: code, issuer, validUntil: iso(now + seconds), txHash: r.hash, gasUsed: r.gasUsed.toString() },
        [`Issuer key ${issuer} added to ${code}, valid until ${new Date((now + seconds) * 1000).toISOString()}.`]);
    }));
  org
    .command("rotate-key")
    .description("Retire an issuer key and add its replacement in one transaction")
    .requiredOption("--agency <code>", "your organisation's agency code")
    .requiredOption("--old <address>", "the key to retire")
    .requiredOption("--new <address>", "the replacement key")
    .option("--valid-for <duration>", "signing window of the new key", "365d")
    .addHelpText("after", "\nExample:\n  mcid org rotate-key --agency 1741000 --old 0xOld… --new 0xNew… --key keys/org-admin.json --network localhost")
    .action(run(async (ctx, o: { agency: string; old: string; new: string; validFor: string }) => {
      const code = parseAgencyCode(o.agency);
      const [oldKey, newKey] = [address(o.old, "--old"), address(o.new, "--new")];
      const seconds = duration(o.validFor, "--valid-for");
      const ledger = await ctx.signedLedger();
      const now = (await (await ctx.chain()).provider.getBlock("latest"))!.timestamp;
      const r = await send("Key rotation", ledger.issuerRegistry.interface, () => ledger.issuerRegistry.rotateIssuerKey(code, oldKey, newKey, now + seconds));
      ctx.out.result({ ok: true, agencyCode: code, retired: oldKey, added: newKey, txHash: r.hash, gasUsed: r.gasUsed.toString() }, [`Rotated ${oldKey} → ${newKey} for ${code}.`]);
    }));
  org
    .command("retire-key")
    .description("Retire an issuer key now (--compromised: verifiers also refuse what it signed before)")
    .requiredOption("--agency <code>", "your organisation's agency code")
    .requiredOption("--issuer <address>", "the key to retire")
    .option("--compromised", "the key leaked", false)
    .addHelpText("after", "\nExample:\n  mcid org retire-key --agency 1741000 --issuer 0xIs… --compromised --key keys/org-admin.json --network localhost")
    .action(run(async (ctx, o: { agency: string; issuer: string; compromised: boolean }) => {
      const code = parseAgencyCode(o.agency);
      const issuer = address(o.issuer, "--issuer");
      const ledger = await ctx.signedLedger();
      const r = await send("Key retirement", ledger.issuerRegistry.interface, () => ledger.issuerRegistry.retireIssuerKey(code, issuer, o.compromised));
      ctx.out.result({ ok: true, agencyCode: code, issuer, compromised: o.compromised, txHash: r.hash, gasUsed: r.gasUsed.toString() },
        [`Issuer key ${issuer} retired${o.compromised ? " and marked compromised" : ""}.`]);
    }));
  org
    .command("set-operator")
    .description("Give an account a status role for your organisation: registrar (issuing server), lock-only (help desk) or none")
    .requiredOption("--agency <code>", "your organisation's agency code")
    .requiredOption("--operator <address>", "the operator account")
    .requiredOption("--role <role>", "registrar | lock-only | none")
    .addHelpText("after", "\nExample:\n  mcid org set-operator --agency 1741000 --operator 0xHd… --role lock-only --key keys/org-admin.json --network localhost")
    .action(run(async (ctx, o: { agency: string; operator: string; role: string }) => {
      const code = parseAgencyCode(o.agency);
      const operator = address(o.operator, "--operator");
      const role = ROLES[o.role];
      if (role === undefined) throw new CivilIdError("INVALID_INPUT", `--role ${JSON.stringify(o.role)}: use registrar, lock-only or none.`);
      const ledger = await ctx.signedLedger();
      const r = await send("Setting the operator", ledger.statusRegistry.interface, () => ledger.statusRegistry.setOperator(operator, code, role));
      ctx.out.result({ ok: true, agencyCode: code, operator, role: o.role, txHash: r.hash, gasUsed: r.gasUsed.toString() }, [`${operator} is now ${o.role} for ${code}.`]);
    }));
  org
    .command("show")
    .description("Show an organisation: its accreditation, issuer keys (valid, retired, compromised) and status operators")
    .requiredOption("--agency <code>", "agency code")
    .addHelpText("after", "\nExample:\n  mcid org show --agency 1741000 --network localhost")
    .action(run(async (ctx, o: { agency: string }) => {
      const code = parseAgencyCode(o.agency);
      const ledger = await ctx.ledger();
      const rec = await ledger.issuerRegistry.organisation(code);
      const status = Number(rec.status) as OrgStatus;
      if (status === OrgStatus.None) throw new CivilIdError("INVALID_AGENCY_CODE", `Organisation ${code} is not accredited in this consortium.`);
      const registered = await ledger.statusRegistry.nextSequence(code);
      const from = ledger.deployment.deploymentBlock;
      const now = Math.floor(Date.now() / 1000);
      // Keys and operators are found by their events, then read as they stand now.
      const added = await ledger.issuerRegistry.queryFilter(ledger.issuerRegistry.filters.IssuerKeyAdded(code), from);
      const keys = await Promise.all([...new Set(added.map((e) => getAddress(String(e.args.issuer))))].map(async (issuer) => {
        const k = await ledger.issuerRegistry.issuerKey(issuer);
        const validUntil = Number(k.validUntil);
        const state = k.compromised ? "compromised" : validUntil <= now ? "retired" : Number(k.validFrom) > now ? "not-yet-valid" : "valid";
        return { issuer, state, validFrom: iso(Number(k.validFrom)), validUntil: iso(validUntil), addedAt: iso(Number(k.addedAt)) };
      }));
      const set = await ledger.statusRegistry.queryFilter(ledger.statusRegistry.filters.OperatorSet(undefined, code), from);
      const operators = (await Promise.all([...new Set(set.map((e) => getAddress(String(e.args.operator))))].map(async (operator) => {
        const op = await ledger.statusRegistry.operators(operator);
        return { operator, role: operatorRoleName(op.role), agencyCode: Number(op.agencyCode) };
      }))).filter((op) => op.role !== "none" && op.agencyCode === code).map(({ operator, role }) => ({ operator, role }));
      const data = {
        ok: true, agencyCode: code, kind: kindName(Number(rec.kind)), status: OrgStatus[status].toLowerCase(), admin: rec.admin,
        accreditedAt: iso(Number(rec.accreditedAt)), credentialsRegistered: Number(registered), issuerKeys: keys, operators,
      };
      ctx.out.result(data, [
        `${code}: ${data.kind}, ${data.status}, admin ${rec.admin}, accredited ${data.accreditedAt}, ${registered} credential(s) registered`,
        `Issuer keys:${keys.length === 0 ? " none (mcid org add-key)" : ""}`,
        ...keys.map((k) => `  ${k.issuer}  ${k.state}, ${k.validFrom} → ${k.validUntil}`),
        `Status operators:${operators.length === 0 ? " none (mcid org set-operator)" : ""}`,
        ...operators.map((op) => `  ${op.operator}  ${op.role}`),
      ]);
    }));
}
