import type { KeyObject } from "node:crypto";
import { verifyJWT } from "did-jwt";
import type { Resolvable } from "did-resolver";
import { getAddress } from "ethers";
import { CivilIdError, isCivilIdError } from "../errors.js";
import { CredentialState, OrgStatus, ReasonCode, credentialTypeId, reasonName } from "../chain/codes.js";
import { MAX_JWT_LENGTH, parseCredentialJwt, type CivilServantClaims, type ParsedCredential } from "../issuer/credential.js";
import type { LedgerView, StatusEntry, IssuerTrust } from "../status/ledger-view.js";
import type { ChallengeStore } from "./challenges.js";
import { verifyDocumentSignature } from "../wallet/document-signature.js";
import { decodeCompactJws, importDeviceKey, isCanonicalEs256kSignature, verifyEs256k, type CompactJws } from "./jws.js";
import type { UsePolicy } from "./policies.js";

/** Machine-readable reasons for a refusal. */
export type RefusalCode =
  | "MALFORMED_PRESENTATION"
  | "ALGORITHM_NOT_ALLOWED"
  | "MALFORMED_CREDENTIAL"
  | "BAD_PRESENTATION_SIGNATURE"
  | "BAD_CREDENTIAL_SIGNATURE"
  | "HOLDER_MISMATCH"
  | "CHALLENGE_MISSING"
  | "CHALLENGE_MISMATCH"
  | "CHALLENGE_UNKNOWN"
  | "CHALLENGE_REPLAYED"
  | "CHALLENGE_EXPIRED"
  | "AUDIENCE_MISSING"
  | "AUDIENCE_MISMATCH"
  | "PRESENTATION_EXPIRED"
  | "PRESENTATION_NOT_YET_VALID"
  | "PRESENTATION_ISSUED_IN_FUTURE"
  | "PRESENTATION_LIFETIME_TOO_LONG"
  | "CREDENTIAL_EXPIRED"
  | "CREDENTIAL_NOT_YET_VALID"
  | "CREDENTIAL_ISSUED_IN_FUTURE"
  | "WRONG_CHAIN"
  | "WRONG_STATUS_REGISTRY"
  | "CREDENTIAL_TYPE_NOT_ACCEPTED"
  | "ISSUER_NOT_ACCREDITED"
  | "ISSUER_KEY_COMPROMISED"
  | "ISSUER_KEY_NOT_VALID_AT_ISSUANCE"
  | "ORGANISATION_SUSPENDED"
  | "ORGANISATION_REMOVED"
  | "ORGANISATION_NOT_ALLOWED"
  | "CREDENTIAL_TYPE_NOT_ALLOWED_FOR_ISSUER"
  | "CREDENTIAL_NOT_REGISTERED"
  | "CREDENTIAL_BINDING_MISMATCH"
  | "CREDENTIAL_LOCKED"
  | "CREDENTIAL_REVOKED"
  | "CREDENTIAL_SUPERSEDED"
  | "BAD_DOCUMENT_SIGNATURE"
  | "DOCUMENT_ALTERED"
  | "LEDGER_UNAVAILABLE"
  | "LEDGER_DISAGREEMENT"
  | "INDEX_STALE"
  | "INTERNAL_ERROR";

export interface VerificationResult {
  readonly ok: boolean;
  readonly policy: string;
  /** Empty iff ok. */
  readonly reasons: readonly RefusalCode[];
  /** Human-readable detail per reason (for logs and operators; not for branching). */
  readonly details: readonly string[];
  readonly holder?: string;
  readonly credentialId?: string;
  readonly organisation?: { readonly agencyCode: number; readonly name: string };
  /** Only the claims the policy discloses. */
  readonly claims?: Partial<CivilServantClaims>;
  /** Status reason code name when locked or revoked. */
  readonly statusReason?: string;
  /** Which ledger view answered ("primary" or "fallback"). */
  readonly ledgerSource?: "primary" | "fallback";
}

export interface VerifyPresentationOptions {
  /** The challenge this verifier issued for this tap/login (required). */
  readonly challenge: string;
  /** This verifier's identifier; the presentation's `aud` must equal it (required). */
  readonly audience: string;
  readonly policy: UsePolicy;
}

export interface VerifySignedDocumentInput {
  /** The detached document-signature JWT made by the holder's wallet (`HolderWallet.signDocument`). */
  readonly signature: string;
  /** The document as received. */
  readonly document: Uint8Array;
  /** The signer's credential JWT (sent with the signature). */
  readonly credential: string;
  readonly policy: UsePolicy;
}

export interface DocumentVerificationResult extends VerificationResult {
  /** When the holder signed (ISO 8601), if the signature verified. */
  readonly signedAt?: string;
  /** The sha-256 of the signed document, if the signature verified. */
  readonly documentDigest?: string;
}

export interface VerifierOptions {
  /** The ledger view answering status and trust (online chain reads or a local index). */
  readonly ledger: LedgerView;
  /** Consulted only when `ledger` is unreachable (e.g. the local index when the node is down). */
  readonly fallback?: LedgerView;
  /** Resolves issuer DIDs to check credential signatures (our CachingDidResolver). */
  readonly resolver: Resolvable;
  /** Issues and consumes single-use challenges (in memory: ChallengeRegistry; shared: SqliteChallengeStore). */
  readonly challenges: ChallengeStore;
  /** Allowed clock difference with the wallet / issuer (s). Default 30. */
  readonly clockSkewSeconds?: number;
  /** How long a credential whose signature was verified is remembered (ms). Default 10 min. */
  readonly credentialMemoTtlMs?: number;
  /** Max credentials remembered. Default 10 000. */
  readonly credentialMemoSize?: number;
  readonly now?: () => number;
}

interface VerifiedCredential {
  readonly parsed: ParsedCredential;
  readonly deviceKey: KeyObject;
  readonly typeHash: string;
  readonly verifiedAt: number;
}

class Refusal extends Error {
  constructor(readonly codes: RefusalCode[], readonly details: string[]) {
    super(codes.join(","));
  }
}

const refuse = (code: RefusalCode, detail: string): never => {
  throw new Refusal([code], [detail]);
};

/**
 * Verifies a holder's presentation for one use, fail-closed: any doubt — bad input, unreachable ledger,
 * unexpected exception — is a refusal with a machine-readable reason. Checks, in order: structure and algorithm
 * allow-list; the embedded credential's structure and issuer signature (memoised per JWT: its signature never
 * changes between taps); the presentation's signature with the device key the credential names (holder binding);
 * audience; challenge (single use); times with bounded skew; chain and status registry; issuer accreditation for
 * the credential type at issuance and the organisation now; on-chain status Active and bound to this subject.
 */
export class PresentationVerifier {
  private readonly memo = new Map<string, VerifiedCredential>();
  private readonly skew: number;
  private readonly memoTtlMs: number;
  private readonly memoSize: number;
  private readonly now: () => number;

  constructor(private readonly options: VerifierOptions) {
    this.skew = options.clockSkewSeconds ?? 30;
    this.memoTtlMs = options.credentialMemoTtlMs ?? 600_000;
    this.memoSize = options.credentialMemoSize ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** A fresh challenge to hand to the wallet (QR / NFC / login page). */
  issueChallenge(): string {
    return this.options.challenges.issue();
  }

  async verify(presentation: unknown, options: VerifyPresentationOptions): Promise<VerificationResult> {
    const policy = options.policy?.id ?? "unknown";
    try {
      return await this.check(presentation, options);
    } catch (error) {
      if (error instanceof Refusal) return { ok: false, policy, reasons: error.codes, details: error.details };
      return { ok: false, policy, reasons: ["INTERNAL_ERROR"], details: [error instanceof Error ? error.message : String(error)] };
    }
  }

  private async check(presentation: unknown, options: VerifyPresentationOptions): Promise<VerificationResult> {
    const { policy } = options;
    if (typeof options.challenge !== "string" || options.challenge.length === 0) refuse("CHALLENGE_MISSING", "The verifier gave no challenge.");
    if (typeof options.audience !== "string" || options.audience.length === 0) refuse("AUDIENCE_MISSING", "The verifier gave no audience.");
    if (typeof presentation !== "string") refuse("MALFORMED_PRESENTATION", "The presentation is not a string.");
    const vp = decodeCompactJws(presentation as string, 4 * MAX_JWT_LENGTH) ?? refuse("MALFORMED_PRESENTATION", "The presentation is not a compact JWS with JSON header and payload.");
    if (vp.header.alg !== "ES256K") refuse("ALGORITHM_NOT_ALLOWED", `Presentation algorithm ${JSON.stringify(vp.header.alg)} is not allowed (only ES256K).`);
    const p = vp.payload;
    const vpClaim = p.vp as Record<string, unknown> | undefined;
    const embedded = typeof vpClaim === "object" && vpClaim !== null ? vpClaim.verifiableCredential : undefined;
    if (!Array.isArray(embedded) || embedded.length !== 1 || typeof embedded[0] !== "string") {
      refuse("MALFORMED_PRESENTATION", "The presentation must embed exactly one credential JWT.");
    }
    const credential = await this.verifiedCredential((embedded as string[])[0]!);
    const parsed = credential.parsed;

    // Holder binding: the presentation is signed by the device key the issuer put in the credential.
    if (p.iss !== parsed.subjectDid) refuse("HOLDER_MISMATCH", "The presentation's signer is not the credential's subject.");
    if (!verifyEs256k(vp, credential.deviceKey)) refuse("BAD_PRESENTATION_SIGNATURE", "The presentation signature does not verify with the credential's device key.");

    // Audience and challenge, before any ledger read (cheap refusals first).
    const aud = p.aud;
    if (aud === undefined) refuse("AUDIENCE_MISSING", "The presentation names no audience.");
    if (!(aud === options.audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === options.audience))) {
      refuse("AUDIENCE_MISMATCH", "The presentation was made for another verifier.");
    }
    if (typeof p.nonce !== "string" || p.nonce.length === 0) refuse("CHALLENGE_MISSING", "The presentation carries no challenge (nonce).");
    if (p.nonce !== options.challenge) refuse("CHALLENGE_MISMATCH", "The presentation answers another challenge.");
    const verdict = this.options.challenges.consume(options.challenge);
    if (verdict === "replayed") refuse("CHALLENGE_REPLAYED", "This challenge was already used: replay refused.");
    if (verdict === "unknown") refuse("CHALLENGE_UNKNOWN", "This verifier did not issue this challenge.");
    if (verdict === "expired") refuse("CHALLENGE_EXPIRED", "The challenge expired before it was answered.");

    const reasons: RefusalCode[] = [];
    const details: string[] = [];
    const add = (code: RefusalCode, detail: string) => {
      reasons.push(code);
      details.push(detail);
    };
    this.checkTimes(vp, parsed, policy, add);
    if (parsed.types[1] !== policy.credentialType) add("CREDENTIAL_TYPE_NOT_ACCEPTED", `This use accepts ${policy.credentialType} only.`);
    if (policy.allowedAgencyCodes && !policy.allowedAgencyCodes.includes(parsed.claims.agencyCode)) {
      add("ORGANISATION_NOT_ALLOWED", `This system accepts only organisations ${policy.allowedAgencyCodes.join(", ")}.`);
    }

    const ledger = this.options.ledger;
    if (getAddress(parsed.status.statusRegistry) !== ledger.statusRegistry) add("WRONG_STATUS_REGISTRY", "The credential points at another status registry.");
    if (reasons.length > 0) throw new Refusal(reasons, details);

    const { trust, status, source } = await this.readLedger(parsed, credential.typeHash);
    this.checkTrust(trust, parsed.claims.agencyCode, add);
    this.checkStatus(status, parsed.bindingDigest, add);
    if (reasons.length > 0) {
      return {
        ok: false, policy: policy.id, reasons, details, ledgerSource: source,
        holder: parsed.subjectDid, credentialId: parsed.credentialId.toString(),
        ...(status.registered && status.state !== CredentialState.Active ? { statusReason: reasonName(status.reason) } : {}),
      };
    }
    const claims: Partial<Record<keyof CivilServantClaims, unknown>> = {};
    for (const name of policy.disclose) claims[name] = parsed.claims[name];
    return {
      ok: true,
      policy: policy.id,
      reasons: [],
      details: [],
      holder: parsed.subjectDid,
      credentialId: parsed.credentialId.toString(),
      organisation: { agencyCode: parsed.claims.agencyCode, name: parsed.claims.organisation },
      claims: claims as Partial<CivilServantClaims>,
      ledgerSource: source,
    };
  }

  /**
   * Verifies a document e-signature: the signature verifies with the signer's device key, covers exactly this
   * document (an altered or forged document is refused with DOCUMENT_ALTERED), binds this credential, and the
   * credential was issued to the signer, valid when it signed, by an accredited issuer, and is Active now.
   */
  async verifySignedDocument(input: VerifySignedDocumentInput): Promise<DocumentVerificationResult> {
    const policy = input.policy?.id ?? "unknown";
    try {
      return await this.checkDocument(input);
    } catch (error) {
      if (error instanceof Refusal) return { ok: false, policy, reasons: error.codes, details: error.details };
      return { ok: false, policy, reasons: ["INTERNAL_ERROR"], details: [error instanceof Error ? error.message : String(error)] };
    }
  }

  private async checkDocument(input: VerifySignedDocumentInput): Promise<DocumentVerificationResult> {
    const { policy } = input;
    if (!(input.document instanceof Uint8Array)) refuse("MALFORMED_PRESENTATION", "The document must be bytes.");
    if (typeof input.signature !== "string" || input.signature.length > MAX_JWT_LENGTH) refuse("BAD_DOCUMENT_SIGNATURE", "The signature is not a JWT of acceptable size.");
    const credential = await this.verifiedCredential(input.credential);
    const parsed = credential.parsed;
    const checked = await verifyDocumentSignature(input.signature, input.document, this.options.resolver, { credential: input.credential });
    if (!checked.valid) {
      const code: RefusalCode =
        checked.failure === "DOCUMENT_MISMATCH" ? "DOCUMENT_ALTERED"
        : checked.failure === "UNRESOLVABLE_SIGNER" ? "LEDGER_UNAVAILABLE"
        : checked.failure === "CREDENTIAL_MISMATCH" ? "HOLDER_MISMATCH"
        : "BAD_DOCUMENT_SIGNATURE";
      refuse(code, checked.message);
    }
    if (checked.valid && checked.signer !== parsed.subjectDid) refuse("HOLDER_MISMATCH", "The document was signed by someone else than the credential's subject.");
    const signedAt = checked.valid ? Math.floor(checked.signedAt.getTime() / 1000) : 0;
    const reasons: RefusalCode[] = [];
    const details: string[] = [];
    const add = (code: RefusalCode, detail: string) => {
      reasons.push(code);
      details.push(detail);
    };
    if (parsed.validFrom > signedAt + this.skew) add("CREDENTIAL_NOT_YET_VALID", "The credential was not valid yet when the document was signed.");
    if (parsed.validUntil <= signedAt - this.skew) add("CREDENTIAL_EXPIRED", "The credential had expired when the document was signed.");
    if (parsed.types[1] !== policy.credentialType) add("CREDENTIAL_TYPE_NOT_ACCEPTED", `This use accepts ${policy.credentialType} only.`);
    if (getAddress(parsed.status.statusRegistry) !== this.options.ledger.statusRegistry) add("WRONG_STATUS_REGISTRY", "The credential points at another status registry.");
    if (reasons.length > 0) throw new Refusal(reasons, details);
    const { trust, status, source } = await this.readLedger(parsed, credential.typeHash);
    this.checkTrust(trust, parsed.claims.agencyCode, add);
    this.checkStatus(status, parsed.bindingDigest, add);
    if (reasons.length > 0) return { ok: false, policy: policy.id, reasons, details, ledgerSource: source, holder: parsed.subjectDid, credentialId: parsed.credentialId.toString() };
    const claims: Partial<Record<keyof CivilServantClaims, unknown>> = {};
    for (const name of policy.disclose) claims[name] = parsed.claims[name];
    return {
      ok: true, policy: policy.id, reasons: [], details: [], ledgerSource: source,
      holder: parsed.subjectDid, credentialId: parsed.credentialId.toString(),
      organisation: { agencyCode: parsed.claims.agencyCode, name: parsed.claims.organisation },
      claims: claims as Partial<CivilServantClaims>,
      signedAt: new Date(signedAt * 1000).toISOString(),
      documentDigest: checked.valid ? checked.document.digest : undefined,
    };
  }

  /** Parses and signature-checks the credential once; later taps reuse the result until the memo expires. */
  private async verifiedCredential(jwt: string): Promise<VerifiedCredential> {
    const t = this.now();
    const known = this.memo.get(jwt);
    if (known && t - known.verifiedAt < this.memoTtlMs) return known;
    let parsed: ParsedCredential;
    try {
      parsed = parseCredentialJwt(jwt);
    } catch (error) {
      if (isCivilIdError(error, "MALFORMED_JWT")) {
        const alg = /algorithm/.test(error.message);
        throw new Refusal([alg ? "ALGORITHM_NOT_ALLOWED" : "MALFORMED_CREDENTIAL"], [error.message]);
      }
      throw error;
    }
    // did-jwt decodes leniently (invalid UTF-8 becomes U+FFFD, so the claims shown would not be the bytes the issuer
    // signed); decode again strictly, as the presentation is.
    const strict = decodeCompactJws(jwt, MAX_JWT_LENGTH);
    if (!strict) throw new Refusal(["MALFORMED_CREDENTIAL"], ["The credential's header or payload is not strict UTF-8 JSON."]);
    // did-jwt normalises s before verifying, so it accepts the high-s twin of a valid signature; refuse it here.
    if (!isCanonicalEs256kSignature(strict.signature)) {
      throw new Refusal(["BAD_CREDENTIAL_SIGNATURE"], ["The credential's signature is not a 64-byte low-s ES256K signature."]);
    }
    // Cheap refusals before any DID resolution.
    if (parsed.chainId !== BigInt(this.options.ledger.chainId)) {
      throw new Refusal(["WRONG_CHAIN"], [`The credential is for chain ${parsed.chainId}, this verifier follows ${this.options.ledger.chainId}.`]);
    }
    try {
      await verifyJWT(jwt, {
        resolver: this.options.resolver,
        proofPurpose: "assertionMethod",
        // Times are checked by this verifier with explicit reasons; did-jwt checks the signature here.
        policies: { nbf: false, iat: false, exp: false, aud: false },
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // did-jwt prefixes a failed DID resolution with "resolver_error"; every other failure is the signature's.
      if (message.startsWith("resolver_error")) {
        throw new Refusal(["LEDGER_UNAVAILABLE"], [`The issuer DID could not be resolved: ${message}`]);
      }
      throw new Refusal(["BAD_CREDENTIAL_SIGNATURE"], [`The credential's issuer signature does not verify: ${message}`]);
    }
    const entry: VerifiedCredential = {
      parsed,
      deviceKey: importDeviceKey(parsed.deviceKey),
      typeHash: credentialTypeId(parsed.types[1]!),
      verifiedAt: t,
    };
    if (this.memo.size >= this.memoSize) {
      const oldest = this.memo.keys().next().value;
      if (oldest !== undefined) this.memo.delete(oldest);
    }
    this.memo.set(jwt, entry);
    return entry;
  }

  private checkTimes(vp: CompactJws, parsed: ParsedCredential, policy: UsePolicy, add: (c: RefusalCode, d: string) => void): void {
    const now = Math.floor(this.now() / 1000);
    const { iat, exp, nbf } = vp.payload;
    if (!isTime(iat) || !isTime(exp)) {
      add("MALFORMED_PRESENTATION", "The presentation needs integer iat and exp.");
      return;
    }
    if (iat > now + this.skew) add("PRESENTATION_ISSUED_IN_FUTURE", "The presentation's iat is in the future.");
    if (nbf !== undefined && (!isTime(nbf) || nbf > now + this.skew)) add("PRESENTATION_NOT_YET_VALID", "The presentation is not valid yet.");
    if (exp <= now - this.skew) add("PRESENTATION_EXPIRED", "The presentation expired.");
    if (exp - iat > policy.maxPresentationLifetimeSeconds) {
      add("PRESENTATION_LIFETIME_TOO_LONG", `This use accepts presentations valid for at most ${policy.maxPresentationLifetimeSeconds} s.`);
    }
    if (parsed.issuedAt > now + this.skew) add("CREDENTIAL_ISSUED_IN_FUTURE", "The credential's iat is in the future.");
    if (parsed.validFrom > now + this.skew) add("CREDENTIAL_NOT_YET_VALID", "The credential is not valid yet.");
    if (parsed.validUntil <= now - this.skew) add("CREDENTIAL_EXPIRED", "The credential expired.");
  }

  /** Reads trust and status from the ledger; on an infrastructure failure asks the fallback view; else refuses. */
  private async readLedger(parsed: ParsedCredential, typeHash: string): Promise<{ trust: IssuerTrust; status: StatusEntry; source: "primary" | "fallback" }> {
    const read = (view: LedgerView) =>
      Promise.all([view.issuerTrust(parsed.issuerAddress, typeHash, parsed.issuedAt), view.credentialStatus(parsed.credentialId)]);
    try {
      const [trust, status] = await read(this.options.ledger);
      return { trust, status, source: "primary" };
    } catch (primaryError) {
      const fallback = this.options.fallback;
      if (!fallback) throw ledgerRefusal(primaryError);
      try {
        const [trust, status] = await read(fallback);
        return { trust, status, source: "fallback" };
      } catch (fallbackError) {
        throw ledgerRefusal(fallbackError, primaryError);
      }
    }
  }

  private checkTrust(trust: IssuerTrust, agencyCode: number, add: (c: RefusalCode, d: string) => void): void {
    if (!trust.keyKnown) return add("ISSUER_NOT_ACCREDITED", "The issuer key is not registered for any accredited organisation.");
    // A key speaks only for its own organisation: another organisation's claims (and status ids) are not its to sign.
    if (trust.agencyCode !== agencyCode) {
      return add("ISSUER_NOT_ACCREDITED", `The issuer key belongs to organisation ${trust.agencyCode}, not to the credential's organisation ${agencyCode}.`);
    }
    if (trust.compromised) add("ISSUER_KEY_COMPROMISED", "The issuer key was reported compromised; everything it signed is refused.");
    if (!trust.inWindowAtIssuance) add("ISSUER_KEY_NOT_VALID_AT_ISSUANCE", "The issuer key was not valid when the credential was issued.");
    if (trust.orgStatus === OrgStatus.Suspended) add("ORGANISATION_SUSPENDED", "The issuing organisation is suspended.");
    else if (trust.orgStatus !== OrgStatus.Active) add("ORGANISATION_REMOVED", "The issuing organisation is not accredited.");
    if (!trust.typeAllowed) add("CREDENTIAL_TYPE_NOT_ALLOWED_FOR_ISSUER", "The organisation may not issue this credential type.");
  }

  private checkStatus(status: StatusEntry, digest: string, add: (c: RefusalCode, d: string) => void): void {
    if (!status.registered) return add("CREDENTIAL_NOT_REGISTERED", "No status entry exists for this credential id.");
    // Only Active is accepted below by the absence of a reason: a state outside the enum must not read as Active.
    if (![CredentialState.Active, CredentialState.Locked, CredentialState.Revoked].includes(status.state)) {
      return add("LEDGER_UNAVAILABLE", `The ledger answered an unknown credential state ${String(status.state)}.`);
    }
    if (status.credentialDigest?.toLowerCase() !== digest.toLowerCase()) {
      add("CREDENTIAL_BINDING_MISMATCH", "The status entry was registered for another credential content (claims, device, issuer key or dates differ).");
    }
    if (status.state === CredentialState.Locked) add("CREDENTIAL_LOCKED", `The credential is locked (${reasonName(status.reason)}).`);
    else if (status.state === CredentialState.Revoked) {
      if (status.reason === ReasonCode.SUPERSEDED_BY_REISSUE) add("CREDENTIAL_SUPERSEDED", "A newer credential was issued to this holder.");
      else add("CREDENTIAL_REVOKED", `The credential is revoked (${reasonName(status.reason)}).`);
    }
  }
}

function isTime(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function ledgerRefusal(error: unknown, primary?: unknown): Refusal {
  const detail = (e: unknown) => (e instanceof Error ? e.message : String(e));
  // The ledger's nodes disagree, or serve another chain (sdk/status/quorum.ts): a distinct reason, whichever view saw it.
  for (const code of ["LEDGER_DISAGREEMENT", "WRONG_CHAIN"] as const) {
    const seen = [error, primary].find((e) => isCivilIdError(e, code));
    if (seen) return new Refusal([code], [detail(seen)]);
  }
  if (isCivilIdError(error, "INDEX_STALE")) {
    return new Refusal(["INDEX_STALE"], [`${primary ? `Node unreachable (${detail(primary)}); ` : ""}${detail(error)}`]);
  }
  if (error instanceof CivilIdError || error instanceof Error) {
    return new Refusal(["LEDGER_UNAVAILABLE"], [`Status and trust could not be read: ${detail(error)}`]);
  }
  return new Refusal(["LEDGER_UNAVAILABLE"], [String(error)]);
}
