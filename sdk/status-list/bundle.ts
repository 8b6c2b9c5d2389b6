/**
 * The national bundle: every organisation's status list at one block, in one download. A verifier that fetches
 * the bundle (rather than one organisation's list) reveals nothing about whose credential it checks — not even the
 * organisation — and holds the status of every credential for offline use. Each list inside stays an ordinary,
 * individually signed Token Status List JWT, so a stock verifier can use any of them as it is.
 */
import { getAddress, type SigningKey } from "ethers";
import { StatusListError, type StatusListRefusal } from "./errors.js";
import type { DetachedSignature } from "./jws.js";
import type { IssuerKeyState, LedgerState } from "./ledger-state.js";
import {
  buildStatusListToken,
  coSignStatusList,
  statusListUri,
  statusSigners,
  verifyStatusListToken,
  type BuildStatusListOptions,
  type VerifiedStatusList,
  type VerifyStatusListOptions,
} from "./token.js";

export const BUNDLE_TYPE = "mobile-civil-id/status-list-bundle@1";

export interface BundleEntry {
  readonly agency_code: number;
  readonly uri: string;
  readonly token: string;
  /** Consortium members' detached co-signatures over the token's payload (may be empty). */
  readonly cosignatures: readonly DetachedSignature[];
}

export interface StatusListBundle {
  readonly type: typeof BUNDLE_TYPE;
  readonly chain_id: number;
  readonly status_registry: string;
  readonly block_number: number;
  readonly block_hash: string;
  readonly block_timestamp: number;
  /** Entries over all lists (the herd every look-up hides in). */
  readonly total_entries: number;
  readonly lists: readonly BundleEntry[];
}

/** Signs one list per organisation that has a status key among `signers` (organisation → its issuer key). */
export function buildBundle(
  state: LedgerState,
  signers: ReadonlyMap<number, SigningKey>,
  options: BuildStatusListOptions & { readonly coSigners?: readonly SigningKey[] },
): StatusListBundle {
  const lists: BundleEntry[] = [];
  let total = 0;
  for (const org of state.organisations) {
    const signer = signers.get(org.agencyCode);
    if (!signer) continue;
    const token = buildStatusListToken(state, org.agencyCode, signer, options);
    const cosignatures = (options.coSigners ?? []).map((member) => coSignStatusList(token, state, member));
    total += Math.max(org.count, options.minEntries ?? 131_072);
    lists.push({ agency_code: org.agencyCode, uri: statusListUri(options.baseUri, org.agencyCode), token, cosignatures });
  }
  return {
    type: BUNDLE_TYPE,
    chain_id: state.chainId,
    status_registry: state.statusRegistry,
    block_number: state.blockNumber,
    block_hash: state.blockHash,
    block_timestamp: state.blockTimestamp,
    total_entries: total,
    lists,
  };
}

export interface VerifyBundleOptions extends Omit<VerifyStatusListOptions, "signers" | "uri" | "coSignatures"> {
  /** The accredited issuer keys (e.g. from the verifier's ledger view or snapshot): each list must be signed by one of its organisation's. */
  readonly keys: readonly IssuerKeyState[];
  readonly coSignatures?: { readonly trusted: readonly string[]; readonly threshold: number };
}

const refuse = (reason: StatusListRefusal, message: string): never => {
  throw new StatusListError("STATUS_LIST_REFUSED", reason, message);
};

/**
 * Verifies a whole bundle, fail closed: one refused list refuses the bundle (a verifier keeps its previous one),
 * and every list must show the bundle's block.
 */
export function verifyBundle(value: unknown, options: VerifyBundleOptions): Map<number, VerifiedStatusList> {
  const b = (typeof value === "string" ? parseJson(value) : value) as Partial<StatusListBundle> | undefined;
  if (typeof b !== "object" || b === null || b.type !== BUNDLE_TYPE || !Array.isArray(b.lists)) refuse("MALFORMED", `Not a ${BUNDLE_TYPE} document.`);
  const bundle = b as StatusListBundle;
  const out = new Map<number, VerifiedStatusList>();
  for (const entry of bundle.lists) {
    if (typeof entry !== "object" || entry === null || typeof entry.token !== "string" || !Array.isArray(entry.cosignatures ?? [])) {
      refuse("MALFORMED", "A bundle entry must carry a token and its co-signatures.");
    }
    const agency = entry.agency_code;
    const { coSignatures, keys: _keys, ...common } = options;
    const list = verifyStatusListToken(entry.token, {
      ...common,
      signers: statusSigners(options.keys, agency, options.now),
      uri: entry.uri,
      ...(coSignatures ? { coSignatures: { ...coSignatures, signatures: entry.cosignatures ?? [] } } : {}),
    });
    if (list.agencyCode !== agency) refuse("TAMPERED", `The list filed under ${agency} is organisation ${list.agencyCode}'s.`);
    if (list.ledger.block_number !== bundle.block_number || list.ledger.block_hash !== bundle.block_hash || list.ledger.chain_id !== bundle.chain_id) {
      refuse("TAMPERED", `Organisation ${agency}'s list shows another block than the bundle.`);
    }
    if (getAddress(list.ledger.status_registry) !== getAddress(String(bundle.status_registry))) refuse("TAMPERED", "A list shows another registry than the bundle.");
    if (out.has(agency)) refuse("TAMPERED", `Organisation ${agency} appears twice in the bundle.`);
    out.set(agency, list);
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // refused as malformed by the caller
  }
}
