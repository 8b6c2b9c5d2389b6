/**
 * One organisation's IETF OAuth Token Status List (draft-ietf-oauth-status-list) as a JWT: header
 * `{alg: ES256K, typ: statuslist+jwt, kid}`, payload `{iss, sub, iat, exp, ttl, status_list: {bits: 2, lst}}` plus
 * the private claim `mcid_ledger` naming the finalized block the list was built from (see docs/STATUS-LISTS.md).
 * Index i of organisation A's list is the status of credential `A << 40 | i`; the list is signed by one of A's
 * accredited issuer keys, and may be co-signed by consortium members (detached signatures, jws.ts).
 */
import { getAddress, type SigningKey } from "ethers";
import { agencyOfCredential, isValidAgencyCode, sequenceOfCredential } from "../chain/codes.js";
import { didForAddress } from "../did/did.js";
import { STATUS_BITS, TokenStatus, compressStatuses, decompressStatuses, tokenStatusOf } from "./bits.js";
import { StatusListError, type StatusListRefusal } from "./errors.js";
import { addressOf, coSign, decodeCompactJws, signCompactJws, signedBy, validCoSigners, type DetachedSignature } from "./jws.js";
import { BLOCK_HASH, type IssuerKeyState, type LedgerState, type OrganisationState } from "./ledger-state.js";

export const STATUS_LIST_TYP = "statuslist+jwt";
/** Herd privacy: lists are padded to at least this many entries (the size W3C Bitstring Status List asks for). */
export const MIN_LIST_ENTRIES = 131_072;
/** Largest list accepted when parsing (2^32 sequences would be 1 GiB of entries). */
export const MAX_LIST_ENTRIES = 1 << 26;
/** Largest status list JWT accepted when parsing. */
export const MAX_STATUS_LIST_JWT = 8 * 1024 * 1024;

/** The private claim: which ledger state the list shows. */
export interface LedgerClaim {
  readonly chain_id: number;
  readonly status_registry: string;
  readonly agency_code: number;
  readonly block_number: number;
  readonly block_hash: string;
  readonly block_timestamp: number;
  /** Registered credentials at the block: indexes at or past it are INVALID (nothing was issued there). */
  readonly entries: number;
}

export interface StatusListTimes {
  /** Signing time (unix s). */
  readonly issuedAt: number;
  /** exp − iat: how long the list may be used at all (offline verifiers). Default 86 400 (one day). */
  readonly validitySeconds?: number;
  /** The `ttl` claim and the HTTP max-age: how long a verifier may cache it before fetching anew. Default 60. */
  readonly ttlSeconds?: number;
}

export interface BuildStatusListOptions extends StatusListTimes {
  /** Where lists are served, e.g. https://status.civil-id.go.kr (no trailing slash needed). */
  readonly baseUri: string;
  /** Pad shorter lists to this many entries (herd privacy, hides the organisation's size). Default MIN_LIST_ENTRIES. */
  readonly minEntries?: number;
}

/** The URI of an organisation's list (the JWT's `sub`, the credential's `status.status_list.uri`). */
export function statusListUri(baseUri: string, agencyCode: number): string {
  return `${baseUri.replace(/\/+$/, "")}/status-lists/${agencyCode}`;
}

/** The credential's standard status entry (a top-level JWT claim beside the on-chain reference). */
export function statusListEntry(baseUri: string, credentialId: bigint): { status_list: { idx: number; uri: string } } {
  return { status_list: { idx: Number(sequenceOfCredential(credentialId)), uri: statusListUri(baseUri, agencyOfCredential(credentialId)) } };
}

/** The list's status values (one byte per entry) for an organisation, padded with INVALID. */
export function statusValues(org: OrganisationState, minEntries = MIN_LIST_ENTRIES): Uint8Array {
  const values = new Uint8Array(Math.max(org.count, minEntries)).fill(TokenStatus.INVALID);
  for (let s = 0; s < org.count; s++) values[s] = tokenStatusOf(org.statuses[s]! & 3);
  return values;
}

function organisationOf(state: LedgerState, agencyCode: number): OrganisationState {
  const org = state.organisations.find((o) => o.agencyCode === agencyCode);
  if (!org) throw new StatusListError("STATUS_LIST_REFUSED", "MALFORMED", `Organisation ${agencyCode} is not accredited at block ${state.blockNumber}.`);
  return org;
}

/** Signs organisation `agencyCode`'s list of `state` with its issuer key `signer`. */
export function buildStatusListToken(state: LedgerState, agencyCode: number, signer: SigningKey, options: BuildStatusListOptions): string {
  const org = organisationOf(state, agencyCode);
  const iat = options.issuedAt;
  const ttl = options.ttlSeconds ?? 60;
  const exp = iat + (options.validitySeconds ?? 86_400);
  const ledger: LedgerClaim = {
    chain_id: state.chainId,
    status_registry: state.statusRegistry,
    agency_code: agencyCode,
    block_number: state.blockNumber,
    block_hash: state.blockHash,
    block_timestamp: state.blockTimestamp,
    entries: org.count,
  };
  const iss = didForAddress(state.chainId, addressOf(signer));
  return signCompactJws(
    { alg: "ES256K", typ: STATUS_LIST_TYP, kid: `${iss}#controller` },
    {
      iss,
      sub: statusListUri(options.baseUri, agencyCode),
      iat,
      exp,
      ttl,
      status_list: { bits: STATUS_BITS, lst: compressStatuses(statusValues(org, options.minEntries)) },
      mcid_ledger: ledger,
    },
    signer,
  );
}

/**
 * The issuer keys that may sign organisation `agencyCode`'s lists at time `at` (unix s): its keys at the state's
 * block that are in their window and not compromised.
 */
export function statusSigners(keys: readonly IssuerKeyState[], agencyCode: number, at: number): string[] {
  return keys.filter((k) => k.agencyCode === agencyCode && !k.compromised && at >= k.validFrom && at < k.validUntil).map((k) => k.issuer);
}

export interface VerifyStatusListOptions {
  /** Addresses allowed to sign this organisation's list (its accredited issuer keys; see statusSigners). */
  readonly signers: readonly string[];
  /** Now, unix s. */
  readonly now: number;
  /** Refuse a list whose block is older than this (s): the verifier's staleness bound. */
  readonly maxAgeSeconds: number;
  /** The URI the verifier fetched (the credential's `uri`): the list's `sub` must equal it. */
  readonly uri?: string;
  readonly chainId?: number;
  readonly statusRegistry?: string;
  /** Allowed clock difference (s). Default 30. */
  readonly clockSkewSeconds?: number;
  /** Require co-signatures: `threshold` distinct `trusted` addresses over the same payload. */
  readonly coSignatures?: { readonly signatures: readonly DetachedSignature[]; readonly trusted: readonly string[]; readonly threshold: number };
}

export interface VerifiedStatusList {
  readonly uri: string;
  readonly signer: string;
  readonly agencyCode: number;
  readonly iat: number;
  readonly exp: number;
  readonly ttl: number;
  readonly ledger: LedgerClaim;
  readonly size: number;
  /** Age of the list's state (now − block timestamp), s. */
  readonly ageSeconds: number;
  readonly coSigners: readonly string[];
  /** The status value at `idx` (0 VALID, 1 INVALID, 2 SUSPENDED); RangeError outside the list. */
  statusAt(idx: number): number;
}

const refuse = (reason: StatusListRefusal, message: string): never => {
  throw new StatusListError("STATUS_LIST_REFUSED", reason, message);
};

const isTime = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Verifies a status list JWT and returns its entries. Refuses (StatusListError STATUS_LIST_REFUSED, fail closed):
 * a malformed or oversized token, another `typ` or algorithm, a signature that is not one of `signers`' (tampered,
 * or the wrong key), expired or not yet valid, a state older than `maxAgeSeconds`, a block hash that is not
 * 0x + 64 lower-case hex digits, another chain / registry / URI, too few co-signatures.
 */
export function verifyStatusListToken(jwt: string, options: VerifyStatusListOptions): VerifiedStatusList {
  if (typeof jwt !== "string") refuse("MALFORMED", "The status list is not a string.");
  const jws = decodeCompactJws(jwt.trim(), MAX_STATUS_LIST_JWT) ?? refuse("MALFORMED", "The status list is not a compact JWS with JSON header and payload.");
  const { header, payload: p } = jws;
  if (header.typ !== STATUS_LIST_TYP) refuse("WRONG_TYPE", `The token's typ is ${JSON.stringify(header.typ)}, not ${STATUS_LIST_TYP}.`);
  if (header.alg !== "ES256K") refuse("WRONG_TYPE", `Status list algorithm ${JSON.stringify(header.alg)} is not allowed (only ES256K).`);
  const signer = options.signers.map((a) => getAddress(a)).find((a) => signedBy(jws.signingInput, jws.signature, a));
  if (!signer) refuse("WRONG_KEY", "The status list is not signed by an accredited issuer key of its organisation (tampered, or signed by another key).");
  const skew = options.clockSkewSeconds ?? 30;
  const { iat, exp, ttl, sub } = p;
  if (!isTime(iat) || !isTime(exp) || (ttl !== undefined && !isTime(ttl)) || typeof sub !== "string") {
    refuse("MALFORMED", "The status list needs integer iat, exp, ttl and a string sub.");
  }
  const ledger = parseLedgerClaim(p.mcid_ledger);
  if (options.uri !== undefined && sub !== options.uri) refuse("WRONG_SUBJECT", `The list is ${JSON.stringify(sub)}, not the ${options.uri} the credential names.`);
  if (!(sub as string).endsWith(`/status-lists/${ledger.agency_code}`)) refuse("WRONG_SUBJECT", "The list's sub does not name its organisation.");
  if (options.chainId !== undefined && ledger.chain_id !== options.chainId) refuse("WRONG_CHAIN", `The list is for chain ${ledger.chain_id}, not ${options.chainId}.`);
  if (options.statusRegistry !== undefined && ledger.status_registry !== getAddress(options.statusRegistry)) {
    refuse("WRONG_CHAIN", "The list shows another status registry.");
  }
  if ((iat as number) > options.now + skew) refuse("NOT_YET_VALID", "The status list was issued in the future.");
  if ((exp as number) <= options.now - skew) refuse("EXPIRED", "The status list expired: fetch a newer one.");
  const ageSeconds = options.now - ledger.block_timestamp;
  if (ageSeconds > options.maxAgeSeconds) {
    refuse("STALE", `The list shows block ${ledger.block_number} of ${ageSeconds} s ago, beyond the bound of ${options.maxAgeSeconds} s: fetch a newer one.`);
  }
  const sl = p.status_list as { bits?: unknown; lst?: unknown } | undefined;
  if (typeof sl !== "object" || sl === null || sl.bits !== STATUS_BITS || typeof sl.lst !== "string") refuse("MALFORMED", "status_list must be {bits: 2, lst}.");
  let values: Uint8Array;
  try {
    values = decompressStatuses((sl as { lst: string }).lst, MAX_LIST_ENTRIES);
  } catch (error) {
    throw new StatusListError("STATUS_LIST_REFUSED", "MALFORMED", "status_list.lst is not a zlib stream of acceptable size.", { cause: error });
  }
  if (values.length < ledger.entries) refuse("MALFORMED", "The list is shorter than the number of credentials it claims.");
  let coSigners: string[] = [];
  if (options.coSignatures) {
    const payloadSegment = jws.signingInput.split(".")[1]!;
    coSigners = validCoSigners(payloadSegment, options.coSignatures.signatures, options.coSignatures.trusted, STATUS_LIST_TYP);
    if (coSigners.length < options.coSignatures.threshold) {
      refuse("INSUFFICIENT_SIGNATURES", `The list is co-signed by ${coSigners.length} trusted members, ${options.coSignatures.threshold} are required.`);
    }
  }
  return {
    uri: sub as string,
    signer: signer as string,
    agencyCode: ledger.agency_code,
    iat: iat as number,
    exp: exp as number,
    ttl: (ttl as number | undefined) ?? 0,
    ledger,
    size: values.length,
    ageSeconds,
    coSigners,
    statusAt(idx: number): number {
      if (!Number.isSafeInteger(idx) || idx < 0 || idx >= values.length) throw new RangeError(`Index ${idx} is outside the list (${values.length} entries).`);
      return values[idx]!;
    },
  };
}

function parseLedgerClaim(value: unknown): LedgerClaim {
  if (typeof value !== "object" || value === null) return refuse("MALFORMED", "The list carries no mcid_ledger claim (the block it was built from).");
  const v = value as Record<string, unknown>;
  for (const k of ["chain_id", "block_number", "block_timestamp", "entries", "agency_code"] as const) {
    if (!isTime(v[k])) refuse("MALFORMED", `mcid_ledger.${k} must be a non-negative integer.`);
  }
  if (typeof v.block_hash !== "string" || !BLOCK_HASH.test(v.block_hash)) refuse("BAD_BLOCK_HASH", "mcid_ledger.block_hash must be 0x followed by 64 lower-case hex digits.");
  if (typeof v.status_registry !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(v.status_registry)) refuse("MALFORMED", "mcid_ledger.status_registry must be an address.");
  if (!isValidAgencyCode(v.agency_code as number)) refuse("MALFORMED", "mcid_ledger.agency_code is not an agency code.");
  return {
    chain_id: v.chain_id as number,
    status_registry: getAddress(v.status_registry as string),
    agency_code: v.agency_code as number,
    block_number: v.block_number as number,
    block_hash: v.block_hash as string,
    block_timestamp: v.block_timestamp as number,
    entries: v.entries as number,
  };
}

/**
 * A consortium member's co-signature of a published list: before signing, the member checks the list against its
 * *own* node's state at the same block (same block hash, same entries), so its signature vouches for the content.
 */
export function coSignStatusList(jwt: string, ownState: LedgerState, member: SigningKey): DetachedSignature {
  const jws = decodeCompactJws(jwt, MAX_STATUS_LIST_JWT) ?? refuse("MALFORMED", "Not a status list JWT.");
  const ledger = parseLedgerClaim(jws.payload.mcid_ledger);
  if (ledger.block_number !== ownState.blockNumber || ledger.block_hash !== ownState.blockHash) {
    refuse("FORK", `The list shows block ${ledger.block_number} ${ledger.block_hash}; this node has ${ownState.blockNumber} ${ownState.blockHash} — rebuild at the same block.`);
  }
  const org = organisationOf(ownState, ledger.agency_code);
  const sl = jws.payload.status_list as { lst?: unknown } | undefined;
  const theirs = typeof sl?.lst === "string" ? decompressStatuses(sl.lst, MAX_LIST_ENTRIES) : undefined;
  const ours = statusValues(org, 0);
  if (!theirs || ledger.entries !== org.count || theirs.length < ours.length || ours.some((v, i) => theirs[i] !== v) || theirs.subarray(ours.length).some((v) => v !== TokenStatus.INVALID)) {
    refuse("TAMPERED", `The list of organisation ${ledger.agency_code} differs from this node's state at block ${ledger.block_number}: not co-signing.`);
  }
  return coSign(jws.signingInput.split(".")[1]!, member, { typ: STATUS_LIST_TYP });
}
