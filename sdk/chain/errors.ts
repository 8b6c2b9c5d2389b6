import { isCallException, isError, type Interface } from "ethers";
import { CivilIdError } from "../errors.js";

/** What to tell an operator for each contract refusal. */
const ADVICE: Record<string, string> = {
  NotAuthorised: "The account has no status-operator role for this action; ask the organisation admin (mcid org set-operator).",
  WrongOrganisation: "The credential belongs to another organisation; only its issuing organisation may change it.",
  UnknownCredential: "No credential with this id was registered; check the id.",
  InvalidTransition: "The credential's current status does not allow this (revoked is final; only locked can be unlocked).",
  InvalidReason: "This reason code is not accepted for this action.",
  NotOrgAdmin: "Only the organisation's admin account may do this.",
  InvalidOrgStatus: "The organisation is not active (suspended or removed).",
  HolderActiveElsewhere: "The holder has a live credential of another organisation; that organisation must revoke it first.",
  NotMember: "The account is not a consortium member.",
  AlreadyApproved: "This member already approved the proposal.",
  ThresholdNotReached: "Not enough members approved yet.",
  ProposalExpired: "The proposal expired; propose it again.",
  ProposalClosed: "The proposal was already executed or cancelled.",
  NotRelyingPartyAdmin: "Only the relying party's admin account may manage its verifier keys.",
  VerifierKeyExists: "This verifier key was listed before; keys are never reused: generate a new one.",
  UsesNotGranted: "The key asks for uses its relying party was not granted; ask the consortium to extend the grant.",
  InvalidRelyingPartyStatus: "The relying party is not active (suspended or removed).",
  AccessControlUnauthorizedAccount: "The account lacks the role for this call (governance actions go through proposals).",
};

const AUTH_ERRORS = new Set(["NotAuthorised", "NotOrgAdmin", "NotRelyingPartyAdmin", "NotMember", "AccessControlUnauthorizedAccount", "WrongOrganisation", "NotIdentityOwner", "OnlyGovernance"]);

/**
 * Turns an ethers error from a contract call into a typed CivilIdError: contract refusals become
 * CONTRACT_REVERTED / NOT_AUTHORISED with the decoded custom error; transport failures CHAIN_UNREACHABLE.
 */
export function toCivilIdError(error: unknown, iface: Interface, action: string): CivilIdError {
  if (error instanceof CivilIdError) return error;
  if (isCallException(error)) {
    let name = error.revert?.name;
    let args: readonly unknown[] = error.revert?.args ?? [];
    if (!name && error.data) {
      const parsed = iface.parseError(error.data);
      if (parsed) {
        name = parsed.name;
        args = parsed.args;
      }
    }
    const label = name ? `${name}(${args.map((a) => String(a)).join(", ")})` : (error.reason ?? "reverted without reason");
    const advice = name ? (ADVICE[name] ?? "") : "";
    return new CivilIdError(
      name && AUTH_ERRORS.has(name) ? "NOT_AUTHORISED" : "CONTRACT_REVERTED",
      `${action} refused by the contract: ${label}. ${advice}`.trim(),
      { cause: error, details: { error: name, args: args.map((a) => String(a)) } },
    );
  }
  if (isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") || isError(error, "SERVER_ERROR") || isError(error, "BAD_DATA")) {
    return new CivilIdError("CHAIN_UNREACHABLE", `${action} failed: the chain node did not answer properly (${error.shortMessage}). Check the RPC URL and that the node is running.`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/ECONNREFUSED|ENOTFOUND|fetch failed|socket hang up|ETIMEDOUT/i.test(message)) {
    return new CivilIdError("CHAIN_UNREACHABLE", `${action} failed: cannot reach the chain node (${message}). Check the RPC URL and that the node is running.`, { cause: error });
  }
  return new CivilIdError("CONTRACT_REVERTED", `${action} failed: ${message}`, { cause: error });
}
