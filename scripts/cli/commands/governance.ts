import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import { GovernanceActions, GovernanceClient, type GovernanceAction } from "../../../sdk/governance/client.js";
import { OrgKind, CIVIL_SERVANT_ID_TYPE, parseAgencyCode } from "../../../sdk/chain/codes.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";
import { address, duration, oneOf, positiveInt, proposalId } from "../parse.js";
import { EventDescriber } from "./watch.js";
import { run, type CommandContext } from "../run.js";

type ProposeOpts = { agency?: string; name?: string; kind?: string; admin?: string; types?: string; member?: string; threshold?: string; issuer?: string; lifetime: string };

const ACTIONS: Record<string, (a: GovernanceActions, o: ProposeOpts) => Promise<GovernanceAction>> = {
  accredit: (a, o) => a.accredit(parseAgencyCode(need(o.agency, "--agency")), kind(need(o.kind, "--kind")), address(need(o.admin, "--admin"), "--admin"),
    (o.types ?? CIVIL_SERVANT_ID_TYPE).split(",").map((t) => t.trim()).filter(Boolean)),
  "set-name": (a, o) => a.setOrganisationName(parseAgencyCode(need(o.agency, "--agency")), need(o.name, "--name")),
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
    .option("--name <text>", "the organisation's official name (set-name), e.g. 행정안전부: what verifiers and the HR import check")
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
      ctx.out.result({ ok: true, proposalId: outcome.proposalId.toString(), description: action.description, ...tally, txHash: outcome.txHash, gasUsed: outcome.gasUsed.toString() }, [
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
      const { ledger, client } = await member(ctx);
      const me = await (await ctx.signer()).getAddress();
      if (await ledger.governor.hasApproved(pid, me)) {
        // Idempotent: a retried approval is a success, not a revert.
        const tally = await client.tally(pid);
        ctx.out.result({ ok: true, proposalId: pid.toString(), ...tally, txHash: null, gasUsed: "0", alreadyDone: true }, [`${me} already approved proposal ${pid}: ${tally.approvals}/${tally.threshold}; nothing sent.`]);
        return;
      }
      const r = await client.approve(pid);
      const tally = await client.tally(pid);
      ctx.out.result({ ok: true, proposalId: pid.toString(), ...tally, txHash: r.txHash, gasUsed: r.gasUsed.toString(), alreadyDone: false }, [
        `Approved proposal ${pid}: ${tally.approvals}/${tally.threshold}${tally.approvals >= tally.threshold ? ` — ready: mcid governance execute ${pid}` : ""}`,
      ]);
    }));
  gov
    .command("execute <proposalId>")
    .description("Execute a proposal that reached the threshold")
    .addHelpText("after", "\nExample:\n  mcid governance execute 1 --network localhost --key keys/ministry-1.json")
    .action(run(async (ctx, _o, [id]) => {
      const pid = proposalId(id!);
      const { ledger, client } = await member(ctx);
      if ((await ledger.governor.proposal(pid)).executed) {
        ctx.out.result({ ok: true, proposalId: pid.toString(), txHash: null, gasUsed: "0", alreadyDone: true }, [`Proposal ${pid} was already executed; nothing sent.`]);
        return;
      }
      const r = await client.execute(pid);
      ctx.out.result({ ok: true, proposalId: pid.toString(), txHash: r.txHash, gasUsed: r.gasUsed.toString(), alreadyDone: false }, [`Executed proposal ${pid} (gas ${r.gasUsed}).`]);
    }));
  gov
    .command("show <proposalId>")
    .description("Show a proposal: what it does, its state and approvals")
    .addHelpText("after", "\nExample:\n  mcid governance show 1 --network localhost")
    .action(run(async (ctx, _o, [id]) => {
      const pid = proposalId(id!);
      const ledger = await ctx.ledger();
      const [view] = await proposals(ledger, [pid]);
      ctx.out.result({ ok: true, ...view! }, [proposalLine(view!)]);
    }));
  gov
    .command("list")
    .description("List the consortium's proposals, newest first, with what each does and its state")
    .option("--state <state>", "only open | executed | cancelled | expired")
    .option("--limit <n>", "at most this many", "50")
    .addHelpText("after", "\nExample:\n  mcid governance list --state open --network localhost")
    .action(run(async (ctx, o: { state?: string; limit: string }) => {
      const state = o.state === undefined ? undefined : oneOf(o.state, "--state", PROPOSAL_STATES);
      const limit = positiveInt(o.limit, "--limit", 10_000);
      const ledger = await ctx.ledger();
      const count = Number(await ledger.governor.proposalCount());
      const ids = Array.from({ length: count }, (_, i) => BigInt(count - i));
      const all = await proposals(ledger, ids);
      const shown = all.filter((p) => state === undefined || p.state === state).slice(0, limit);
      ctx.out.result({ ok: true, count: shown.length, total: count, proposals: shown }, shown.length === 0 ? ["No proposals."] : shown.map(proposalLine));
    }));
}

const PROPOSAL_STATES = ["open", "executed", "cancelled", "expired"] as const;

/** A proposal as `governance show` and `governance list` print it. */
export interface ProposalView {
  readonly proposalId: string;
  readonly state: (typeof PROPOSAL_STATES)[number];
  readonly description: string;
  /** What executing it calls, decoded (never raw calldata). */
  readonly call: string;
  readonly approvals: number;
  readonly threshold: number;
  readonly proposer: string;
  readonly target: string;
  readonly expiresAt: string;
}

async function proposals(ledger: LedgerContracts, ids: readonly bigint[]): Promise<ProposalView[]> {
  const governor = ledger.governor;
  const client = new GovernanceClient(governor);
  const describer = new EventDescriber(ledger);
  const created = await governor.queryFilter(governor.filters.ProposalCreated(), ledger.deployment.deploymentBlock);
  const descriptions = new Map<string, { description: string; call: string }>();
  for (const log of created) {
    const e = describer.describe(log);
    if (e) descriptions.set(String(e.args.proposalId), { description: String(e.args.description), call: String(e.args.call) });
  }
  const now = Date.now();
  return Promise.all(ids.map(async (pid) => {
    const p = await governor.proposal(pid);
    if (p.target === "0x0000000000000000000000000000000000000000") throw new CivilIdError("INVALID_INPUT", `No proposal ${pid}: see mcid governance list.`);
    const tally = await client.tally(pid);
    const expiresAt = Number(p.expiresAt) * 1000;
    const state = p.executed ? "executed" : p.cancelled ? "cancelled" : expiresAt <= now ? "expired" : "open";
    const known = descriptions.get(pid.toString());
    return {
      proposalId: pid.toString(), state, description: known?.description ?? "", call: known?.call ?? "", ...tally,
      proposer: p.proposer, target: p.target, expiresAt: new Date(expiresAt).toISOString(),
    } satisfies ProposalView;
  }));
}

function proposalLine(p: ProposalView): string {
  return `#${p.proposalId} ${p.state}: ${p.description || p.call} — approvals ${p.approvals}/${p.threshold}, proposer ${p.proposer}, ${p.state === "open" ? "expires" : "expiry"} ${p.expiresAt}` +
    (p.state === "open" && p.approvals >= p.threshold ? ` — ready: mcid governance execute ${p.proposalId}` : "");
}
