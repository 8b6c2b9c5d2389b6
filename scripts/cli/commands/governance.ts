import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import { GovernanceActions, GovernanceClient, type GovernanceAction } from "../../../sdk/governance/client.js";
import { OrgKind, CIVIL_SERVANT_ID_TYPE, parseAgencyCode } from "../../../sdk/chain/codes.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";
import { address, duration, positiveInt, proposalId } from "../parse.js";
import { run, type CommandContext } from "../run.js";

type ProposeOpts = { agency?: string; kind?: string; admin?: string; types?: string; member?: string; threshold?: string; issuer?: string; lifetime: string };

const ACTIONS: Record<string, (a: GovernanceActions, o: ProposeOpts) => Promise<GovernanceAction>> = {
  accredit: (a, o) => a.accredit(parseAgencyCode(need(o.agency, "--agency")), kind(need(o.kind, "--kind")), address(need(o.admin, "--admin"), "--admin"),
    (o.types ?? CIVIL_SERVANT_ID_TYPE).split(",").map((t) => t.trim()).filter(Boolean)),
  suspend: (a, o) => a.suspend(parseAgencyCode(need(o.agency, "--agency"))),
  reinstate: (a, o) => a.reinstate(parseAgencyCode(need(o.agency, "--agency"))),
  remove: (a, o) => a.remove(parseAgencyCode(need(o.agency, "--agency"))),
  "set-admin": (a, o) => a.setOrganisationAdmin(parseAgencyCode(need(o.agency, "--agency")), address(need(o.admin, "--admin"), "--admin")),
  "compromise-key": (a, o) => a.markIssuerKeyCompromised(address(need(o.issuer, "--issuer"), "--issuer")),
  "add-member": (a, o) => a.addMember(address(need(o.member, "--member"), "--member")),
  "remove-member": (a, o) => a.removeMember(address(need(o.member, "--member"), "--member")),
  "set-threshold": (a, o) => a.setThreshold(positiveInt(need(o.threshold, "--threshold"), "--threshold", 255)),
};

function need(value: string | undefined, flag: string): string {
  if (value === undefined) throw new CivilIdError("INVALID_INPUT", `This action needs ${flag}.`);
  return value;
}

function kind(value: string): OrgKind {
  if (value === "central" || value === "e-saram") return OrgKind.CentralAgency;
  if (value === "local" || value === "insarang") return OrgKind.LocalGovernment;
  throw new CivilIdError("INVALID_INPUT", `--kind ${JSON.stringify(value)}: use central (e-사람) or local (차세대 인사랑).`);
}

async function member(ctx: CommandContext): Promise<{ ledger: LedgerContracts; client: GovernanceClient }> {
  const ledger = await ctx.signedLedger();
  return { ledger, client: new GovernanceClient(ledger.governor) };
}

export function registerGovernance(program: Command): void {
  const gov = program.command("governance").description("Consortium decisions: M-of-N proposals of member ministries");
  gov
    .command("propose <action>")
    .description(`Propose an action (${Object.keys(ACTIONS).join(", ")}); your approval is recorded`)
    .option("--agency <code>", "7-digit agency code (기관코드)")
    .option("--kind <kind>", "central (e-사람) or local (차세대 인사랑)")
    .option("--admin <address>", "organisation admin account")
    .option("--types <names>", "credential types it may issue", CIVIL_SERVANT_ID_TYPE)
    .option("--member <address>", "member account (add-member / remove-member)")
    .option("--threshold <n>", "new threshold (set-threshold)")
    .option("--issuer <address>", "issuer key (compromise-key)")
    .option("--lifetime <duration>", "how long approvals may be collected", "7d")
    .addHelpText("after", "\nExample:\n  mcid governance propose accredit --agency 1741000 --kind central --admin 0xAd… --network localhost --key keys/ministry-1.json")
    .action(run(async (ctx, opts: ProposeOpts, [name]) => {
      const build = ACTIONS[name ?? ""];
      if (!build) throw new CivilIdError("INVALID_INPUT", `Unknown action ${JSON.stringify(name)}: use one of ${Object.keys(ACTIONS).join(", ")}.`);
      const lifetime = duration(opts.lifetime, "--lifetime");
      const { ledger, client } = await member(ctx);
      const action = await build(new GovernanceActions(ledger.governor, ledger.issuerRegistry), opts);
      const outcome = await client.propose(action, lifetime);
      const tally = await client.tally(outcome.proposalId);
      ctx.out.result({ ok: true, proposalId: outcome.proposalId, description: action.description, ...tally, txHash: outcome.txHash, gasUsed: outcome.gasUsed }, [
        `Proposal ${outcome.proposalId}: ${action.description}`,
        `Approvals ${tally.approvals}/${tally.threshold}. Other members: mcid governance approve ${outcome.proposalId}`,
      ]);
    }));
  gov
    .command("approve <proposalId>")
    .description("Approve a proposal as a member")
    .addHelpText("after", "\nExample:\n  mcid governance approve 1 --network localhost --key keys/ministry-2.json")
    .action(run(async (ctx, _o, [id]) => {
      const pid = proposalId(id!);
      const { client } = await member(ctx);
      const r = await client.approve(pid);
      const tally = await client.tally(pid);
      ctx.out.result({ ok: true, proposalId: pid, ...tally, txHash: r.txHash, gasUsed: r.gasUsed }, [
        `Approved proposal ${pid}: ${tally.approvals}/${tally.threshold}${tally.approvals >= tally.threshold ? ` — ready: mcid governance execute ${pid}` : ""}`,
      ]);
    }));
  gov
    .command("execute <proposalId>")
    .description("Execute a proposal that reached the threshold")
    .addHelpText("after", "\nExample:\n  mcid governance execute 1 --network localhost --key keys/ministry-1.json")
    .action(run(async (ctx, _o, [id]) => {
      const pid = proposalId(id!);
      const { client } = await member(ctx);
      const r = await client.execute(pid);
      ctx.out.result({ ok: true, proposalId: pid, txHash: r.txHash, gasUsed: r.gasUsed }, [`Executed proposal ${pid} (gas ${r.gasUsed}).`]);
    }));
  gov
    .command("show <proposalId>")
    .description("Show a proposal and its approvals")
    .addHelpText("after", "\nExample:\n  mcid governance show 1 --network localhost")
    .action(run(async (ctx, _o, [id]) => {
      const pid = proposalId(id!);
      const ledger = await ctx.ledger();
      const p = await ledger.governor.proposal(pid);
      if (p.target === "0x0000000000000000000000000000000000000000") throw new CivilIdError("INVALID_INPUT", `No proposal ${pid}.`);
      const tally = await new GovernanceClient(ledger.governor).tally(pid);
      const state = p.executed ? "executed" : p.cancelled ? "cancelled" : Number(p.expiresAt) * 1000 <= Date.now() ? "expired" : "open";
      ctx.out.result({ ok: true, proposalId: pid, target: p.target, proposer: p.proposer, expiresAt: Number(p.expiresAt), state, ...tally }, [
        `Proposal ${pid}: ${state}, approvals ${tally.approvals}/${tally.threshold}, proposer ${p.proposer}, expires ${new Date(Number(p.expiresAt) * 1000).toISOString()}`,
      ]);
    }));
}
