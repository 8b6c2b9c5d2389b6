/**
 * A signed ledger snapshot for offline gates: the whole state a verifier needs at one finalized block — every
 * credential's status and binding digest, every organisation's accreditation and credential types, every issuer key
 * and its window — signed by consortium members. The manifest (JSON, in a JWS general serialization with one
 * signature per member) commits to each organisation's data section by SHA-256, so the large binary part travels
 * beside it (file, USB stick, another gate) and any change to it is detected.
 *
 * The manifest depends on the chain state only (no signing time in the payload; each signature's protected header
 * carries its own `iat`), so members build it independently from their own nodes and their signatures combine.
 */
import { createHash } from "node:crypto";
import { deflateSync, inflateSync } from "node:zlib";
import { getAddress, type SigningKey } from "ethers";
import { isValidAgencyCode } from "../chain/codes.js";
import { StatusListError, type StatusListRefusal } from "./errors.js";
import { coSign, decodeJsonSegment, encodeJsonPart, validCoSigners, type DetachedSignature } from "./jws.js";
import { BLOCK_HASH, type IssuerKeyState, type LedgerState, type OrganisationState } from "./ledger-state.js";

export const SNAPSHOT_TYPE = "mobile-civil-id/ledger-snapshot@1";
const SNAPSHOT_SIGNATURE_TYP = "mcid-ledger-snapshot";
const SECTION_BYTES_PER_ENTRY = 33; // status byte + 32-byte binding digest

interface ManifestOrganisation {
  readonly agency_code: number;
  readonly kind: number;
  readonly status: number;
  readonly credential_types: readonly string[];
  readonly count: number;
  /** SHA-256 (hex) of the section's uncompressed bytes: count status bytes, then count × 32 digest bytes. */
  readonly section_sha256: string;
}

interface ManifestKey {
  readonly issuer: string;
  readonly agency_code: number;
  readonly valid_from: number;
  readonly valid_until: number;
  readonly compromised: boolean;
  readonly did_owner: string;
  readonly did_deactivated: boolean;
}

export interface SnapshotManifest {
  readonly type: typeof SNAPSHOT_TYPE;
  readonly chain_id: number;
  readonly status_registry: string;
  readonly issuer_registry: string;
  readonly block_number: number;
  readonly block_hash: string;
  readonly block_timestamp: number;
  readonly organisations: readonly ManifestOrganisation[];
  readonly keys: readonly ManifestKey[];
}

/** The document that travels: JWS general JSON serialization of the manifest, plus the data sections. */
export interface LedgerSnapshotDocument {
  readonly payload: string;
  readonly signatures: readonly DetachedSignature[];
  /** Agency code → base64url of the zlib-compressed section. */
  readonly sections: Readonly<Record<string, string>>;
}

function sectionBytes(org: OrganisationState): Buffer {
  if (!org.digests || org.digests.length !== org.count * 32) {
    throw new StatusListError("SNAPSHOT_REFUSED", "MALFORMED", `Organisation ${org.agencyCode}: a snapshot needs the binding digests (read the state with digests).`);
  }
  return Buffer.concat([org.statuses.subarray(0, org.count), org.digests]);
}

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Builds the (unsigned) snapshot of a ledger state read with digests. */
export function buildSnapshot(state: LedgerState): LedgerSnapshotDocument {
  const sections: Record<string, string> = {};
  const organisations: ManifestOrganisation[] = [];
  for (const org of [...state.organisations].sort((a, b) => a.agencyCode - b.agencyCode)) {
    const bytes = sectionBytes(org);
    sections[String(org.agencyCode)] = deflateSync(bytes, { level: 6 }).toString("base64url");
    organisations.push({
      agency_code: org.agencyCode,
      kind: org.kind,
      status: org.status,
      credential_types: [...org.credentialTypes].sort(),
      count: org.count,
      section_sha256: sha256Hex(bytes),
    });
  }
  const manifest: SnapshotManifest = {
    type: SNAPSHOT_TYPE,
    chain_id: state.chainId,
    status_registry: state.statusRegistry,
    issuer_registry: state.issuerRegistry,
    block_number: state.blockNumber,
    block_hash: state.blockHash,
    block_timestamp: state.blockTimestamp,
    organisations,
    keys: state.keys.map((k) => ({ issuer: k.issuer, agency_code: k.agencyCode, valid_from: k.validFrom, valid_until: k.validUntil, compromised: k.compromised, did_owner: k.didOwner, did_deactivated: k.didDeactivated })),
  };
  return { payload: encodeJsonPart(manifest), signatures: [], sections };
}

/** Adds a consortium member's signature (with its signing time) to a snapshot. */
export function signSnapshot(doc: LedgerSnapshotDocument, member: SigningKey, issuedAt: number): LedgerSnapshotDocument {
  return { ...doc, signatures: [...doc.signatures, coSign(doc.payload, member, { typ: SNAPSHOT_SIGNATURE_TYP, iat: issuedAt })] };
}

/** A verified snapshot: the ledger state it carries (with digests) and who signed it. */
export interface VerifiedSnapshot {
  readonly state: LedgerState;
  readonly signers: readonly string[];
}

export interface VerifySnapshotOptions {
  /** The member addresses this gate was configured to trust. */
  readonly trusted: readonly string[];
  /** How many distinct trusted members must have signed. */
  readonly threshold: number;
  readonly chainId: number;
  readonly statusRegistry: string;
}

const refuse = (reason: StatusListRefusal, message: string): never => {
  throw new StatusListError("SNAPSHOT_REFUSED", reason, message);
};

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const HEX32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * Verifies a snapshot document (parsed JSON or its text): k-of-n signatures by trusted members over the manifest,
 * the manifest's fields, and every section against its hash. Refuses (SNAPSHOT_REFUSED) with the reason.
 */
export function verifySnapshot(input: unknown, options: VerifySnapshotOptions): VerifiedSnapshot {
  if (!(Number.isInteger(options.threshold) && options.threshold >= 1)) refuse("INSUFFICIENT_SIGNATURES", "The gate must require at least one trusted signature.");
  const doc = (typeof input === "string" ? parseJson(input) : input) as Partial<LedgerSnapshotDocument> | undefined;
  if (typeof doc !== "object" || doc === null || typeof doc.payload !== "string" || !Array.isArray(doc.signatures) || typeof doc.sections !== "object" || doc.sections === null) {
    refuse("MALFORMED", "Not a ledger snapshot document ({payload, signatures, sections}).");
  }
  const { payload, signatures, sections } = doc as LedgerSnapshotDocument;
  const signers = validCoSigners(payload, signatures, options.trusted, SNAPSHOT_SIGNATURE_TYP);
  if (signers.length < options.threshold) {
    refuse(signatures.length === 0 ? "INSUFFICIENT_SIGNATURES" : signers.length === 0 ? "WRONG_KEY" : "INSUFFICIENT_SIGNATURES",
      `The snapshot carries ${signers.length} valid signatures of trusted members; ${options.threshold} are required (tampered, or signed by keys this gate does not trust).`);
  }
  const m = decodeJsonSegment(payload) ?? refuse("MALFORMED", "The snapshot manifest is not a JSON object.");
  if (m.type !== SNAPSHOT_TYPE) refuse("WRONG_TYPE", `The manifest is not a ${SNAPSHOT_TYPE}.`);
  for (const k of ["chain_id", "block_number", "block_timestamp"] as const) if (!isUint(m[k])) refuse("MALFORMED", `${k} must be a non-negative integer.`);
  if (typeof m.block_hash !== "string" || !BLOCK_HASH.test(m.block_hash)) refuse("BAD_BLOCK_HASH", "block_hash must be 0x followed by 64 lower-case hex digits.");
  if (typeof m.status_registry !== "string" || !ADDRESS.test(m.status_registry) || typeof m.issuer_registry !== "string" || !ADDRESS.test(m.issuer_registry)) {
    refuse("MALFORMED", "The manifest's registries must be addresses.");
  }
  if (m.chain_id !== options.chainId || getAddress(m.status_registry as string) !== getAddress(options.statusRegistry)) {
    refuse("WRONG_CHAIN", `The snapshot is of chain ${String(m.chain_id)} registry ${String(m.status_registry)}, not this gate's.`);
  }
  if (!Array.isArray(m.organisations) || !Array.isArray(m.keys)) refuse("MALFORMED", "The manifest needs organisations and keys.");
  const organisations: OrganisationState[] = [];
  const seen = new Set<number>();
  for (const o of m.organisations as Partial<ManifestOrganisation>[]) {
    if (typeof o !== "object" || o === null || !isUint(o.agency_code) || !isValidAgencyCode(o.agency_code) || seen.has(o.agency_code) || !isUint(o.kind) || !isUint(o.status) || o.status > 3 ||
      !isUint(o.count) || o.count > 2 ** 32 || typeof o.section_sha256 !== "string" || !Array.isArray(o.credential_types) || !o.credential_types.every((t) => typeof t === "string" && HEX32.test(t))) {
      refuse("MALFORMED", "A manifest organisation is malformed or repeated.");
    }
    const org = o as ManifestOrganisation;
    seen.add(org.agency_code);
    const section = sections[String(org.agency_code)];
    if (typeof section !== "string" || !/^[A-Za-z0-9_-]*$/.test(section)) refuse("TAMPERED", `The section of organisation ${org.agency_code} is missing.`);
    let bytes: Buffer;
    try {
      bytes = inflateSync(Buffer.from(section as string, "base64url"), { maxOutputLength: Math.max(1, org.count * SECTION_BYTES_PER_ENTRY) });
    } catch (error) {
      throw new StatusListError("SNAPSHOT_REFUSED", "TAMPERED", `The section of organisation ${org.agency_code} does not decompress to its size.`, { cause: error });
    }
    if (bytes.length !== org.count * SECTION_BYTES_PER_ENTRY || sha256Hex(bytes) !== org.section_sha256) {
      refuse("TAMPERED", `The section of organisation ${org.agency_code} does not match the signed manifest.`);
    }
    const statuses = new Uint8Array(bytes.subarray(0, org.count));
    if (statuses.some((s) => (s & 3) > 2 || s > 0x7f)) refuse("MALFORMED", `Organisation ${org.agency_code}: an impossible status byte.`);
    organisations.push({
      agencyCode: org.agency_code,
      kind: org.kind,
      status: org.status,
      credentialTypes: org.credential_types,
      count: org.count,
      statuses,
      digests: new Uint8Array(bytes.subarray(org.count)),
    });
  }
  const keys: IssuerKeyState[] = [];
  for (const k of m.keys as Partial<ManifestKey>[]) {
    if (typeof k !== "object" || k === null || typeof k.issuer !== "string" || !ADDRESS.test(k.issuer) || !isUint(k.agency_code) || !isUint(k.valid_from) ||
      !isUint(k.valid_until) || typeof k.compromised !== "boolean" || typeof k.did_owner !== "string" || !ADDRESS.test(k.did_owner) || typeof k.did_deactivated !== "boolean") {
      refuse("MALFORMED", "A manifest issuer key is malformed.");
    }
    const key = k as ManifestKey;
    keys.push({ issuer: getAddress(key.issuer), agencyCode: key.agency_code, validFrom: key.valid_from, validUntil: key.valid_until, compromised: key.compromised,
      didOwner: getAddress(key.did_owner), didDeactivated: key.did_deactivated });
  }
  return {
    signers,
    state: {
      chainId: m.chain_id as number,
      statusRegistry: getAddress(m.status_registry as string),
      issuerRegistry: getAddress(m.issuer_registry as string),
      blockNumber: m.block_number as number,
      blockHash: m.block_hash as string,
      blockTimestamp: m.block_timestamp as number,
      organisations,
      keys,
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // refused as malformed by the caller
  }
}
