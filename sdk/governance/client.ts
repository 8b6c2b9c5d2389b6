import type { ContractTransactionResponse, Interface } from "ethers";
import { CivilIdError } from "../errors.js";
import type { ConsortiumGovernor, IssuerRegistry } from "../chain/contracts.js";
import { toCivilIdError } from "../chain/errors.js";
import { OrgKind, credentialTypeId, parseAgencyCode } from "../chain/codes.js";
import { checkThreshold } from "./bounds.js";
import { normaliseOrganisationName } from "../chain/organisation-name.js";

/** `CredentialStatusRegistry.MAX_RETIREMENT_RANGE`: most sequences one retirement proposal covers. */
export const MAX_RETIREMENT_RANGE = 8192;

/** A consortium decision, encoded as the call the governor will make once enough members approved. */
export interface GovernanceAction {
  readonly target: string;
  readonly data: string;
  readonly description: string;
}

/** Builds the calls of consortium decisions on the issuer registry and on the governor itself. */
export class GovernanceActions {
  constructor(
    private readonly governor: ConsortiumGovernor,
    private readonly issuers: IssuerRegistry,
  ) {}

  async accredit(agencyCode: number, kind: OrgKind, admin: string, credentialTypes: readonly string[]): Promise<GovernanceAction> {
    const code = parseAgencyCode(agencyCode);
    if (kind !== OrgKind.CentralAgency && kind !== OrgKind.LocalGovernment) {
      throw new CivilIdError("INVALID_INPUT", "The organisation kind must be central (e-사람) or local (차세대 인사랑).");
    }
    return this.onIssuers("accredit", [code, kind, admin, credentialTypes.map(credentialTypeId)],
      `Accredit ${code} (${kind === OrgKind.CentralAgency ? "central agency" : "local government"}) for ${credentialTypes.join(", ")}`);
  }
  /** Sets an organisation's official name (what verifiers check credentials and the HR import checks rows against). */
  async setOrganisationName(agencyCode: number, name: string): Promise<GovernanceAction> {
    const code = parseAgencyCode(agencyCode);
    const official = normaliseOrganisationName(name);
    return this.onIssuers("setOrganisationName", [code, official], `Set the name of ${code} to ${official}`);
  }
  async suspend(agencyCode: number) { return this.onIssuers("suspend", [parseAgencyCode(agencyCode)], `Suspend ${agencyCode}`); }
  async reinstate(agencyCode: number) { return this.onIssuers("reinstate", [parseAgencyCode(agencyCode)], `Reinstate ${agencyCode}`); }
  async remove(agencyCode: number) { return this.onIssuers("remove", [parseAgencyCode(agencyCode)], `Remove ${agencyCode}`); }
  async setOrganisationAdmin(agencyCode: number, admin: string) {
    return this.onIssuers("setOrganisationAdmin", [parseAgencyCode(agencyCode), admin], `Set admin of ${agencyCode} to ${admin}`);
  }
  async markIssuerKeyCompromised(issuer: string) {
    return this.onIssuers("markIssuerKeyCompromised", [issuer], `Mark issuer key ${issuer} compromised`);
  }
  /**
   * Retires a removed organisation's credentials with sequences in [fromSequence, fromSequence + count): each one
   * not yet revoked becomes Revoked (ORGANISATION_RETIRED), so it no longer blocks its holder elsewhere. Large
   * organisations need one proposal per MAX_RETIREMENT_RANGE sequences.
   */
  async retireCredentials(agencyCode: number, fromSequence: bigint, count: number) {
    const code = parseAgencyCode(agencyCode);
    if (typeof fromSequence !== "bigint" || fromSequence < 0n || fromSequence >= 1n << 40n) {
      throw new CivilIdError("INVALID_INPUT", `The first sequence must be 0..2^40-1 (got ${String(fromSequence)}).`);
    }
    if (!Number.isInteger(count) || count < 1 || count > MAX_RETIREMENT_RANGE) {
      throw new CivilIdError("INVALID_INPUT", `A retirement covers 1..${MAX_RETIREMENT_RANGE} sequences (got ${count}); split the range.`);
    }
    return this.onIssuers("retireCredentials", [code, fromSequence, count],
      `Retire credentials ${fromSequence}..${fromSequence + BigInt(count) - 1n} of removed organisation ${code}`);
  }
  /** Adds a member; the governor raises the threshold to a strict majority of the new member set if needed. */
  async addMember(member: string) { return this.onGovernor("addMember", [member], `Add member ${member}`); }
  /** Removes a member; the governor lowers the threshold to members − 1 if needed (so a lost key never blocks). */
  async removeMember(member: string) { return this.onGovernor("removeMember", [member], `Remove member ${member}`); }
  /** Sets the threshold; refused here (as on chain) outside a strict majority .. members − 1. */
  async setThreshold(threshold: number) {
    checkThreshold(threshold, (await this.governor.members()).length);
    return this.onGovernor("setThreshold", [threshold], `Set threshold to ${threshold}`);
  }

  private async onIssuers(fn: string, args: readonly unknown[], description: string): Promise<GovernanceAction> {
    // The typechain interface narrows encodeFunctionData per overload; the plain ethers Interface takes any name.
    const iface = this.issuers.interface as unknown as Interface;
    return { target: await this.issuers.getAddress(), data: iface.encodeFunctionData(fn, args), description };
  }
  private async onGovernor(fn: string, args: readonly unknown[], description: string): Promise<GovernanceAction> {
    const iface = this.governor.interface as unknown as Interface;
    return { target: await this.governor.getAddress(), data: iface.encodeFunctionData(fn, args), description };
  }
}

export interface ProposalOutcome {
  readonly proposalId: bigint;
  readonly txHash: string;
  readonly gasUsed: bigint;
}

/** One member ministry's governance calls (its governor handle is connected to the member's signer). */
export class GovernanceClient {
  constructor(private readonly governor: ConsortiumGovernor) {}

  /** Proposes an action (the proposer's approval is recorded). Lifetime in seconds, at most 30 days. */
  async propose(action: GovernanceAction, lifetimeSeconds = 7 * 86_400): Promise<ProposalOutcome> {
    const receipt = await this.send("Proposal", () => this.governor.propose(action.target, action.data, lifetimeSeconds, action.description));
    for (const log of receipt.logs) {
      const parsed = this.governor.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === "ProposalCreated") {
        return { proposalId: parsed.args.proposalId as bigint, txHash: receipt.hash, gasUsed: receipt.gasUsed };
      }
    }
    throw new CivilIdError("CONTRACT_REVERTED", "The proposal was mined without a ProposalCreated event.");
  }

  async approve(proposalId: bigint): Promise<{ txHash: string; gasUsed: bigint }> {
    const r = await this.send("Approval", () => this.governor.approve(proposalId));
    return { txHash: r.hash, gasUsed: r.gasUsed };
  }

  async execute(proposalId: bigint): Promise<{ txHash: string; gasUsed: bigint }> {
    const r = await this.send("Execution", () => this.governor.execute(proposalId));
    return { txHash: r.hash, gasUsed: r.gasUsed };
  }

  /** Approvals by current members versus the threshold. */
  async tally(proposalId: bigint): Promise<{ approvals: number; threshold: number }> {
    try {
      const [approvals, threshold] = await Promise.all([this.governor.approvalCount(proposalId), this.governor.threshold()]);
      return { approvals: Number(approvals), threshold: Number(threshold) };
    } catch (error) {
      throw toCivilIdError(error, this.governor.interface, "Tally");
    }
  }

  private async send(action: string, call: () => Promise<ContractTransactionResponse>) {
    try {
      const receipt = await (await call()).wait();
      if (!receipt || receipt.status !== 1) throw new CivilIdError("CONTRACT_REVERTED", `${action} transaction failed.`);
      return receipt;
    } catch (error) {
      throw toCivilIdError(error, this.governor.interface, action);
    }
  }
}
