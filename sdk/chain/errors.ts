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
 * Node refusals of a transaction before it runs (geth/Besu/Hardhat/anvil wordings): the contract never saw it.
 * Ordered: the first match names the refusal.
 */
const NODE_REFUSALS: readonly { readonly pattern: RegExp; readonly refusal: string; readonly advice: string }[] = [
  { pattern: /replacement (fee|transaction) too low|replacement transaction underpriced/i, refusal: "REPLACEMENT_UNDERPRICED", advice: "A transaction with this nonce is pending; wait for it or replace it with a higher fee." },
  { pattern: /nonce too low|nonce has already been used|nonce too high|invalid nonce/i, refusal: "NONCE", advice: "The account's nonce moved (another process sent a transaction); retry, the nonce is read again." },
  { pattern: /underpriced|fee cap less than block base fee|max fee per gas less than block base fee|gas price too low/i, refusal: "UNDERPRICED", advice: "The fee is below what the node accepts; retry with the node's current fee." },
  { pattern: /insufficient funds/i, refusal: "INSUFFICIENT_FUNDS", advice: "The sending account cannot pay for gas; fund it." },
  { pattern: /exceeds block gas limit|intrinsic gas too low|gas limit reached/i, refusal: "GAS_LIMIT", advice: "The transaction's gas does not fit what the node accepts; split the batch or adjust the gas limit." },
];

/** The node's refusal of a transaction, or undefined when the error is not one. */
function nodeRefusal(error: unknown): { refusal: string; advice: string; message: string } | undefined {
  if (isError(error, "NONCE_EXPIRED") || isError(error, "REPLACEMENT_UNDERPRICED") || isError(error, "INSUFFICIENT_FUNDS")) {
    const refusal = error.code === "NONCE_EXPIRED" ? "NONCE" : error.code;
    return { refusal, advice: NODE_REFUSALS.find((r) => r.refusal === refusal)?.advice ?? "", message: error.shortMessage };
  }
  const texts: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    texts.push(e.message);
    const info = (e as { info?: { error?: { message?: unknown } } }).info?.error?.message;
    if (typeof info === "string") texts.push(info);
  }
  const text = texts.join(" | ");
  const match = NODE_REFUSALS.find((r) => r.pattern.test(text));
  return match && { refusal: match.refusal, advice: match.advice, message: texts[0] ?? "" };
}

/**
 * Revert data carried by a non-ethers error: an EIP-1193 / JSON-RPC error (`code: 3`, "execution reverted") as
 * Hardhat's in-process provider, EDR and some wallets throw it, possibly wrapped in `cause`, `error` or `info.error`.
 */
function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 8) {
    const e = queue.shift();
    if (typeof e !== "object" || e === null || seen.has(e)) continue;
    seen.add(e);
    const v = e as { data?: unknown; cause?: unknown; error?: unknown; info?: { error?: unknown } };
    const data = typeof v.data === "object" && v.data !== null ? (v.data as { data?: unknown }).data : v.data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data;
    queue.push(v.cause, v.error, v.info?.error);
  }
  return undefined;
}

function decodedRevert(name: string, args: readonly unknown[], error: unknown, action: string): CivilIdError {
  const label = `${name}(${args.map((a) => String(a)).join(", ")})`;
  return new CivilIdError(
    AUTH_ERRORS.has(name) ? "NOT_AUTHORISED" : "CONTRACT_REVERTED",
    `${action} refused by the contract: ${label}. ${ADVICE[name] ?? ""}`.trim(),
    { cause: error, details: { error: name, args: args.map((a) => String(a)) } },
  );
}

/**
 * Turns an ethers error from a contract call or transaction into a typed CivilIdError, once, so no caller decodes
 * `cause` again:
 * - CONTRACT_REVERTED (or NOT_AUTHORISED for access errors) only for a decoded revert: `details.error` is the custom
 *   error's name, `details.args` its arguments;
 * - TRANSACTION_REJECTED when the node refused the transaction before running it (`details.refusal`: NONCE,
 *   REPLACEMENT_UNDERPRICED, UNDERPRICED, INSUFFICIENT_FUNDS, GAS_LIMIT);
 * - CHAIN_UNREACHABLE for transport failures;
 * - CHAIN_CALL_FAILED for everything else (a revert without data we can decode, a garbled answer).
 */
export function toCivilIdError(error: unknown, iface: Interface, action: string): CivilIdError {
  if (error instanceof CivilIdError) return error;
  const refused = nodeRefusal(error);
  if (refused) {
    return new CivilIdError("TRANSACTION_REJECTED", `${action}: the node refused the transaction (${refused.message}). ${refused.advice}`.trim(), {
      cause: error, details: { refusal: refused.refusal },
    });
  }
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
    if (name) return decodedRevert(name, args, error, action);
    return new CivilIdError("CHAIN_CALL_FAILED", `${action} failed: the call reverted without an error this SDK can decode (${error.reason ?? error.shortMessage}).`, {
      cause: error, details: { data: error.data ?? null },
    });
  }
  const data = revertData(error);
  if (data !== undefined) {
    const parsed = iface.parseError(data);
    if (parsed) return decodedRevert(parsed.name, parsed.args, error, action);
    return new CivilIdError("CHAIN_CALL_FAILED", `${action} failed: the call reverted with data this SDK cannot decode (${data.slice(0, 10)}…).`, {
      cause: error, details: { data },
    });
  }
  if (isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") || isError(error, "SERVER_ERROR") || isError(error, "BAD_DATA")) {
    return new CivilIdError("CHAIN_UNREACHABLE", `${action} failed: the chain node did not answer properly (${error.shortMessage}). Check the RPC URL and that the node is running.`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/ECONNREFUSED|ENOTFOUND|fetch failed|socket hang up|ETIMEDOUT/i.test(message)) {
    return new CivilIdError("CHAIN_UNREACHABLE", `${action} failed: cannot reach the chain node (${message}). Check the RPC URL and that the node is running.`, { cause: error });
  }
  return new CivilIdError("CHAIN_CALL_FAILED", `${action} failed: ${message}`, { cause: error });
}
