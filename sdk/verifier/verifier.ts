import type { KeyObject } from "node:crypto";
import { ZeroHash, getAddress } from "ethers";
import { organisationNameHash } from "../chain/organisation-name.js";
import { CivilIdError, isCivilIdError } from "../errors.js";
import { CredentialState, OrgStatus, ReasonCode, credentialTypeId, reasonName } from "../chain/codes.js";
import type { CivilServantClaims, ParsedCredential } from "../credential/model.js";
import { credentialRefusalReason, parseCredentialJwt } from "../credential/parse.js";
import type { CompactJws } from "../credential/jws.js";
import { importPublicJwk, verifyJwsSignature } from "../credential/jws-verify.js";
import { MAX_DOCUMENT_SIGNATURE_LENGTH, parseSignatureAnchor, signatureAnchorDigest, type DocumentSignatureAnchor } from "../protocol/document-signature.js";
import { verifyDocumentSignature } from "../protocol/document-signature-verify.js";
import type { AnchorTime } from "../anchor/client.js";
import type { DocumentAnchorReader } from "../anchor/reader.js";
import { audienceMatches, decodePresentation, isValidChallenge } from "../protocol/presentation.js";
import type { LedgerView, StatusEntry, IssuerTrust } from "../status/ledger-view.js";
import type { ChallengeStore } from "./challenges.js";
import { IssuerKeyCache } from "./issuer-keys.js";
import type { UsePolicy } from "./policies.js";
import type { DocumentVerificationResult, RefusalCode, VerificationAuditRecord, VerificationResult } from "./results.js";

export type { DocumentVerificationResult, RefusalCode, VerificationAuditRecord, VerificationResult } from "./results.js";

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
  /** The signature file's `anchor` (untrusted: the root is recomputed and looked up on chain). */
  readonly anchor?: unknown;
  readonly policy: UsePolicy;
}

export interface VerifierOptions {
  /** The ledger view answering status and trust (online chain reads or a local index). */
  readonly ledger: LedgerView;
  /** Consulted only when `ledger` is unreachable (e.g. the local index when the node is down). */
  readonly fallback?: LedgerView;
  /** Issues and consumes single-use challenges (in memory: ChallengeRegistry; shared: SqliteChallengeStore). */
  readonly challenges: ChallengeStore;
  /** Allowed clock difference with the wallet / issuer (s). Default 30. */
  readonly clockSkewSeconds?: number;
  /** How long a credential whose signature was verified is remembered (ms). Default 10 min. */
  readonly credentialMemoTtlMs?: number;
  /** Max credentials remembered. Default 10 000. */
  readonly credentialMemoSize?: number;
  /**
   * Receives every verification's identifiers (holder, credential id, agency, issuer) for the relying system's
   * audit log, whatever the policy discloses. If it throws, the verification is refused (INTERNAL_ERROR): a gate
   * that must log does not let anyone through unlogged.
   */
  readonly audit?: (record: VerificationAuditRecord) => void;
  /**
   * Where document signatures are dated (DocumentAnchor through a quorum: `new QuorumAnchorReader(view.quorum)`).
   * Without it every document signature is unanchored, which only a policy with `acceptUnanchoredSignatures` takes.
   */
  readonly anchors?: DocumentAnchorReader;
  /**
   * Refuse a credential of an organisation that has no official name in the IssuerRegistry
   * (ORGANISATION_NAME_UNREGISTERED). Default false while governance names the organisations accredited before names
   * existed: a credential whose organisation name differs from a registered one is refused either way
   * (ORGANISATION_NAME_MISMATCH). Set it once every accredited organisation is named (each naming is an `OrganisationNameSet` event, e.g. in `mcid watch`).
   */
  readonly requireRegisteredOrganisationNames?: boolean;
  readonly now?: () => number;
}

interface VerifiedCredential {
  readonly parsed: ParsedCredential;
  readonly deviceKey: KeyObject;
  readonly typeHash: string;
  /** keccak256 of the credential's organisation name (NFC), compared with the registry's per tap. */
  readonly organisationNameHash: string;
  readonly verifiedAt: number;
}

class Refusal extends Error {
  constructor(readonly codes: RefusalCode[], readonly details: string[], readonly parsed?: ParsedCredential) {
    super(codes.join(","));
  }
}

const refuse = (code: RefusalCode, detail: string): never => {
  throw new Refusal([code], [detail]);
};

type Add = (code: RefusalCode, detail: string) => void;

function collector(): { reasons: RefusalCode[]; details: string[]; add: Add } {
  const reasons: RefusalCode[] = [];
  const details: string[] = [];
  return { reasons, details, add: (code, detail) => { reasons.push(code); details.push(detail); } };
}

/**
 * Verifies a holder's presentation for one use, fail-closed: any doubt — bad input, unreachable ledger,
 * unexpected exception — is a refusal with a machine-readable reason. Checks, in order: structure and algorithm
 * allow-list; the embedded credential's structure (the shared parser) and issuer signature, verified with OpenSSL
 * against the key of the issuer's accredited address (memoised per JWT: its signature never changes between
 * taps); the presentation's signature with the device key the issuer attested (holder binding); audience;
 * challenge (single use); times with bounded skew; chain and status registry; issuer accreditation for the
 * credential type at issuance and the organisation now; on-chain status Active and bound to this content.
 */
export class PresentationVerifier {
  private readonly memo = new Map<string, VerifiedCredential>();
  private readonly issuerKeys = new IssuerKeyCache();
  private readonly skew: number;
  private readonly memoTtlMs: number;
  private readonly memoSize: number;
  private readonly now: () => number;
  private readonly registry: string;
  private readonly typeHashes = new Map<string, string>();

  constructor(private readonly options: VerifierOptions) {
    this.registry = getAddress(options.ledger.statusRegistry);
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
    return this.run("presentation", options?.policy, () => this.check(presentation, options));
  }

  /**
   * Verifies a document e-signature: the signature verifies with the device key the issuer attested in the
   * signer's credential (low-s only), covers exactly this document (DOCUMENT_ALTERED otherwise), binds this
   * credential, and the credential was issued to the signer by an accredited issuer. The signing time is the time of
   * the block that anchored the signature (DocumentAnchor), never the signer's claim: the credential must have been
   * valid and Active at that block (a backdated signature by an expired or locked credential is refused). A signature
   * without an anchor is refused SIGNATURE_UNANCHORED unless the policy accepts unanchored signatures, which are then
   * judged as if signed now. The signed purpose is in the result.
   */
  async verifySignedDocument(input: VerifySignedDocumentInput): Promise<DocumentVerificationResult> {
    return this.run("document", input?.policy, () => this.checkDocument(input));
  }

  private async run<R extends VerificationResult>(
    kind: VerificationAuditRecord["kind"],
    policy: UsePolicy | undefined,
    task: () => Promise<{ result: R; parsed: ParsedCredential }>,
  ): Promise<R | VerificationResult> {
    const policyId = policy?.id ?? "unknown";
    let result: R | VerificationResult;
    let parsed: ParsedCredential | undefined;
    try {
      ({ result, parsed } = await task());
    } catch (error) {
      if (error instanceof Refusal) {
        parsed = error.parsed;
        result = { ok: false, policy: policyId, reasons: error.codes, details: error.details };
      } else {
        result = { ok: false, policy: policyId, reasons: ["INTERNAL_ERROR"], details: [error instanceof Error ? error.message : String(error)] };
      }
    }
    const audit = this.options.audit;
    if (audit === undefined) return result;
    try {
      audit({
        kind, at: this.now(), policy: policyId, ok: result.ok, reasons: result.reasons,
        ...(parsed === undefined ? {} : {
          holder: parsed.subjectDid, credentialId: parsed.credentialId.toString(), agencyCode: parsed.claims.agencyCode, issuer: parsed.issuerDid,
        }),
      });
    } catch (error) {
      return { ok: false, policy: policyId, reasons: ["INTERNAL_ERROR"], details: [`The audit log refused the record: ${error instanceof Error ? error.message : String(error)}`] };
    }
    return result;
  }

  private async check(presentation: unknown, options: VerifyPresentationOptions): Promise<{ result: VerificationResult; parsed: ParsedCredential }> {
    const { policy } = options;
    if (!isValidChallenge(options.challenge)) refuse("CHALLENGE_MISSING", "The verifier gave no valid challenge.");
    if (typeof options.audience !== "string" || options.audience.length === 0) refuse("AUDIENCE_MISSING", "The verifier gave no audience.");
    const decoded = decodePresentation(presentation);
    if (!decoded.ok) return refuse(decoded.failure, decoded.detail);
    const vp = decoded.presentation.jws;
    const credential = this.verifiedCredential(decoded.presentation.credential);
    const parsed = credential.parsed;
    const p = vp.payload;
    try {
      // Holder binding: the presentation is signed by the device key the issuer attested in the credential.
      if (decoded.presentation.alg !== parsed.deviceAlgorithm) {
        refuse("ALGORITHM_NOT_ALLOWED", `The presentation must be signed ${parsed.deviceAlgorithm}, the attested device key's algorithm.`);
      }
      if (p.iss !== parsed.subjectDid) refuse("HOLDER_MISMATCH", "The presentation's signer is not the credential's subject.");
      if (!verifyJwsSignature(vp, credential.deviceKey, parsed.deviceAlgorithm)) {
        refuse("BAD_PRESENTATION_SIGNATURE", "The presentation signature is not a low-s signature of the credential's device key.");
      }
      // Audience and challenge, before any ledger read (cheap refusals first).
      if (p.aud === undefined) refuse("AUDIENCE_MISSING", "The presentation names no audience.");
      if (!audienceMatches(p.aud, options.audience)) refuse("AUDIENCE_MISMATCH", "The presentation was made for another verifier.");
      if (typeof p.nonce !== "string" || p.nonce.length === 0) refuse("CHALLENGE_MISSING", "The presentation carries no challenge (nonce).");
      if (p.nonce !== options.challenge) refuse("CHALLENGE_MISMATCH", "The presentation answers another challenge.");
      const verdict = this.options.challenges.consume(options.challenge);
      if (verdict === "replayed") refuse("CHALLENGE_REPLAYED", "This challenge was already used: replay refused.");
      if (verdict === "unknown") refuse("CHALLENGE_UNKNOWN", "This verifier did not issue this challenge.");
      if (verdict === "expired") refuse("CHALLENGE_EXPIRED", "The challenge expired before it was answered.");
    } catch (error) {
      throw error instanceof Refusal ? new Refusal(error.codes, error.details, parsed) : error;
    }

    const { reasons, details, add } = collector();
    this.checkTimes(vp, parsed, policy, add);
    this.checkPolicy(parsed, policy, add);
    if (reasons.length > 0) throw new Refusal(reasons, details, parsed);

    const { trust, status, source } = this.readLedgerNow(parsed, credential.typeHash) ?? (await this.readLedger(parsed, credential.typeHash));
    this.checkTrust(trust, parsed.claims.agencyCode, add);
    this.checkOrganisationName(trust, credential, add);
    this.checkStatus(status, parsed.bindingDigest, add);
    if (reasons.length > 0) return { parsed, result: refusalResult(policy, { reasons, details }, status, source) };
    return { parsed, result: { ok: true, policy: policy.id, reasons: [], details: [], ...disclosed(parsed, policy), ledgerSource: source } };
  }

  private async checkDocument(input: VerifySignedDocumentInput): Promise<{ result: DocumentVerificationResult; parsed: ParsedCredential }> {
    const { policy } = input;
    if (!(input.document instanceof Uint8Array)) refuse("MALFORMED_PRESENTATION", "The document must be bytes.");
    if (typeof input.signature !== "string" || input.signature.length > MAX_DOCUMENT_SIGNATURE_LENGTH) {
      refuse("BAD_DOCUMENT_SIGNATURE", "The signature is not a JWT of acceptable size.");
    }
    const credential = this.verifiedCredential(input.credential);
    const parsed = credential.parsed;
    const checked = verifyDocumentSignature(input.signature, input.document, parsed, {
      deviceKey: credential.deviceKey, now: Math.floor(this.now() / 1000), clockSkewSeconds: this.skew,
    });
    if (!checked.valid) {
      const code: RefusalCode =
        checked.failure === "DOCUMENT_MISMATCH" ? "DOCUMENT_ALTERED" : checked.failure === "CREDENTIAL_MISMATCH" ? "HOLDER_MISMATCH" : "BAD_DOCUMENT_SIGNATURE";
      throw new Refusal([code], [checked.message], parsed);
    }
    const { reasons, details, add } = collector();
    this.checkPolicy(parsed, policy, add);
    if (reasons.length > 0) throw new Refusal(reasons, details, parsed);
    const anchored = await this.signingAnchor(input, parsed);
    if (anchored === undefined && policy.acceptUnanchoredSignatures !== true) {
      throw new Refusal(["SIGNATURE_UNANCHORED"], ["The signature is not anchored on chain, so nothing proves when it was made; anchor it (mcid anchor) or verify with a policy that accepts unanchored signatures."], parsed);
    }
    // Anchored: judged at the anchoring block's time. Unanchored (accepted by policy): as if signed now.
    const at = anchored?.timestamp ?? Math.floor(this.now() / 1000);
    const when = anchored === undefined ? "now (the signature is unanchored)" : `at block ${anchored.blockNumber}, when the signature was anchored`;
    if (parsed.validFrom > at + this.skew) add("CREDENTIAL_NOT_YET_VALID", `The credential was not valid yet ${when}.`);
    if (parsed.validUntil <= at - this.skew) add("CREDENTIAL_EXPIRED", `The credential had expired ${when}.`);
    if (reasons.length > 0) throw new Refusal(reasons, details, parsed);
    let trust: IssuerTrust;
    let status: StatusEntry;
    let source: "primary" | "fallback" = "primary";
    if (anchored === undefined) ({ trust, status, source } = await this.readLedger(parsed, credential.typeHash));
    else ({ trust, status } = await this.readLedgerAt(parsed, credential.typeHash, anchored.blockNumber));
    this.checkTrust(trust, parsed.claims.agencyCode, add);
    this.checkOrganisationName(trust, credential, add);
    this.checkStatus(status, parsed.bindingDigest, add);
    if (reasons.length > 0) return { parsed, result: refusalResult(policy, { reasons, details }, status, source) };
    return {
      parsed,
      result: {
        ok: true, policy: policy.id, reasons: [], details: [], ...disclosed(parsed, policy), ledgerSource: source,
        ...(anchored === undefined ? {} : { signedAt: new Date(anchored.timestamp * 1000).toISOString() }),
        signingTime: anchored === undefined
          ? { anchored: false, claimed: checked.claimedSignedAt.toISOString() }
          : { anchored: true, at: new Date(anchored.timestamp * 1000).toISOString(), blockNumber: anchored.blockNumber, blockHash: anchored.blockHash, root: anchored.root, claimed: checked.claimedSignedAt.toISOString() },
        documentDigest: checked.document.digest,
        ...(checked.purpose === undefined ? {} : { purpose: checked.purpose }),
      },
    };
  }

  /** When the signature was anchored (undefined: no anchor, or its proof leads to a root never anchored). */
  private async signingAnchor(input: VerifySignedDocumentInput, parsed: ParsedCredential): Promise<AnchorTime | undefined> {
    let anchor: DocumentSignatureAnchor | undefined;
    try {
      anchor = parseSignatureAnchor(input.anchor);
    } catch (error) {
      throw new Refusal(["SIGNATURE_ANCHOR_INVALID"], [(error as Error).message], parsed);
    }
    if (anchor === undefined) return undefined;
    const reader = this.options.anchors;
    if (reader === undefined) return undefined;
    if (anchor.contract !== reader.contract) {
      throw new Refusal(["SIGNATURE_ANCHOR_INVALID"], [`The signature names the anchor contract ${anchor.contract}, not this deployment's ${reader.contract}.`], parsed);
    }
    try {
      return await reader.anchoredAt(signatureAnchorDigest(input.signature), anchor.proof);
    } catch (error) {
      throw ledgerRefusal(parsed, error);
    }
  }

  /** Trust now (a compromised key or a removed organisation taints everything) and the status at the anchoring block. */
  private async readLedgerAt(parsed: ParsedCredential, typeHash: string, blockNumber: number): Promise<{ trust: IssuerTrust; status: StatusEntry }> {
    const view = this.options.ledger;
    if (view.credentialStatusAt === undefined) {
      throw new Refusal(["LEDGER_UNAVAILABLE"], ["This verifier's ledger view keeps only the current status and cannot judge a signature at its anchoring block; verify document signatures with an online view."], parsed);
    }
    try {
      const [trust, status] = await Promise.all([view.issuerTrust(parsed.issuerAddress, typeHash, parsed.issuedAt), view.credentialStatusAt(parsed.credentialId, blockNumber)]);
      return { trust, status };
    } catch (error) {
      throw ledgerRefusal(parsed, error);
    }
  }

  /** Parses and signature-checks the credential once; later taps reuse the result until the memo expires. */
  private verifiedCredential(jwt: string): VerifiedCredential {
    const t = this.now();
    const known = this.memo.get(jwt);
    if (known && t - known.verifiedAt < this.memoTtlMs) return known;
    let parsed: ParsedCredential;
    try {
      parsed = parseCredentialJwt(jwt);
    } catch (error) {
      const reason = credentialRefusalReason(error);
      if (reason === undefined) throw error;
      throw new Refusal([reason === "ALGORITHM_NOT_ALLOWED" ? "ALGORITHM_NOT_ALLOWED" : reason === "NON_CANONICAL_SIGNATURE" ? "BAD_CREDENTIAL_SIGNATURE" : "MALFORMED_CREDENTIAL"], [(error as Error).message]);
    }
    if (parsed.chainId !== BigInt(this.options.ledger.chainId)) {
      throw new Refusal(["WRONG_CHAIN"], [`The credential is for chain ${parsed.chainId}, this verifier follows ${this.options.ledger.chainId}.`], parsed);
    }
    const jws: CompactJws = { header: parsed.header, payload: parsed.payload, signingInput: parsed.signingInput, signature: parsed.signature };
    if (!this.issuerKeys.verify(jws, parsed.issuerAddress)) {
      throw new Refusal(["BAD_CREDENTIAL_SIGNATURE"], ["The credential's signature was not made by the key of its issuer's address (the key the organisation accredited)."], parsed);
    }
    const entry: VerifiedCredential = {
      parsed,
      deviceKey: importPublicJwk(parsed.deviceKey),
      typeHash: this.typeHash(parsed.types[1]!),
      organisationNameHash: organisationNameHash(parsed.claims.organisation),
      verifiedAt: t,
    };
    if (this.memo.size >= this.memoSize) {
      const oldest = this.memo.keys().next().value;
      if (oldest !== undefined) this.memo.delete(oldest);
    }
    this.memo.set(jwt, entry);
    return entry;
  }

  /** keccak256 of a credential type name, remembered (a handful of types). */
  private typeHash(name: string): string {
    let hash = this.typeHashes.get(name);
    if (hash === undefined) {
      hash = credentialTypeId(name);
      if (this.typeHashes.size < 64) this.typeHashes.set(name, hash);
    }
    return hash;
  }

  private checkPolicy(parsed: ParsedCredential, policy: UsePolicy, add: Add): void {
    if (parsed.types[1] !== policy.credentialType) add("CREDENTIAL_TYPE_NOT_ACCEPTED", `This use accepts ${policy.credentialType} only.`);
    if (policy.allowedAgencyCodes && !policy.allowedAgencyCodes.includes(parsed.claims.agencyCode)) {
      add("ORGANISATION_NOT_ALLOWED", `This system accepts only organisations ${policy.allowedAgencyCodes.join(", ")}.`);
    }
    // Both sides are checksummed (statusRef, the ledger view): a string compare, no keccak per tap.
    if (parsed.status.statusRegistry !== this.registry) add("WRONG_STATUS_REGISTRY", "The credential points at another status registry.");
  }

  private checkTimes(vp: CompactJws, parsed: ParsedCredential, policy: UsePolicy, add: Add): void {
    const now = Math.floor(this.now() / 1000);
    const { iat, exp, nbf } = vp.payload;
    if (!isTime(iat) || !isTime(exp) || exp <= iat) {
      add("MALFORMED_PRESENTATION", "The presentation needs integer iat and exp, exp after iat.");
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

  /**
   * Trust and status from memory when the primary view answers synchronously (the local index): no promise per
   * read on a gate's hot path. Undefined when it has no such answers or declines (stale, a digest awaiting its
   * backfill): the caller then reads asynchronously, which looks the digest up, asks the fallback or refuses.
   */
  private readLedgerNow(parsed: ParsedCredential, typeHash: string): { trust: IssuerTrust; status: StatusEntry; source: "primary" } | undefined {
    const view = this.options.ledger;
    if (view.trustNow === undefined || view.statusNow === undefined) return undefined;
    try {
      return { trust: view.trustNow(parsed.issuerAddress, typeHash, parsed.issuedAt), status: view.statusNow(parsed.credentialId), source: "primary" };
    } catch {
      return undefined; // readLedger asks the same view again and reports its failure with the fallback's
    }
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
      if (!fallback) throw ledgerRefusal(parsed, primaryError);
      try {
        const [trust, status] = await read(fallback);
        return { trust, status, source: "fallback" };
      } catch (fallbackError) {
        throw ledgerRefusal(parsed, fallbackError, primaryError);
      }
    }
  }

  private checkTrust(trust: IssuerTrust, agencyCode: number, add: Add): void {
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

  /**
   * The organisation name a verifier shows comes from the registry: a credential naming another organisation than
   * the one governance registered for its agency code (org A's issuing server writing "행정안전부") is refused.
   */
  private checkOrganisationName(trust: IssuerTrust, credential: VerifiedCredential, add: Add): void {
    if (!trust.keyKnown || trust.agencyCode !== credential.parsed.claims.agencyCode) return; // already refused
    const registered = trust.organisationNameHash;
    if (registered === undefined) return; // a view without names (offline snapshot): see THREAT-MODEL
    if (registered === ZeroHash) {
      if (this.options.requireRegisteredOrganisationNames === true) {
        add("ORGANISATION_NAME_UNREGISTERED", `Organisation ${trust.agencyCode} has no official name in the issuer registry; its credentials cannot show one.`);
      }
      return;
    }
    if (!sameHex(registered, credential.organisationNameHash)) {
      add("ORGANISATION_NAME_MISMATCH", `The credential names its organisation "${credential.parsed.claims.organisation}", which is not the issuer registry's name for agency ${trust.agencyCode}.`);
    }
  }

  private checkStatus(status: StatusEntry, digest: string, add: Add): void {
    if (!status.registered) return add("CREDENTIAL_NOT_REGISTERED", "No status entry exists for this credential id.");
    // Only Active is accepted below by the absence of a reason: a state outside the enum must not read as Active.
    if (![CredentialState.Active, CredentialState.Locked, CredentialState.Revoked].includes(status.state)) {
      return add("LEDGER_UNAVAILABLE", `The ledger answered an unknown credential state ${String(status.state)}.`);
    }
    if (!sameHex(status.credentialDigest, digest)) {
      add("CREDENTIAL_BINDING_MISMATCH", "The status entry was registered for another credential content (claims, device, issuer key or dates differ).");
    }
    if (status.state === CredentialState.Locked) add("CREDENTIAL_LOCKED", `The credential is locked (${reasonName(status.reason)}).`);
    else if (status.state === CredentialState.Revoked) {
      if (status.reason === ReasonCode.SUPERSEDED_BY_REISSUE) add("CREDENTIAL_SUPERSEDED", "A newer credential was issued to this holder.");
      else add("CREDENTIAL_REVOKED", `The credential is revoked (${reasonName(status.reason)}).`);
    }
  }
}

/**
 * The refusal once the ledger was read (presentations and document signatures alike): the reasons, which ledger
 * view answered, and the status reason when the credential is locked or revoked (a gate shows why).
 */
function refusalResult(policy: UsePolicy, refused: { reasons: readonly RefusalCode[]; details: readonly string[] }, status: StatusEntry, source: "primary" | "fallback"): VerificationResult {
  return {
    ok: false, policy: policy.id, reasons: refused.reasons, details: refused.details, ledgerSource: source,
    ...(status.registered && status.state !== CredentialState.Active ? { statusReason: reasonName(status.reason) } : {}),
  };
}

/** The fields of an accepted credential its use policy discloses, and nothing else. */
function disclosed(parsed: ParsedCredential, policy: UsePolicy): Pick<VerificationResult, "claims" | "organisation" | "holder" | "credentialId"> {
  // One pass over the policy's short list (no Set, no spread objects per tap).
  const claims: Partial<Record<keyof CivilServantClaims, unknown>> = {};
  let organisation: { agencyCode?: number; name?: string } | undefined;
  let holder = false;
  let credentialId = false;
  for (const name of policy.disclose) {
    if (name === "holder") holder = true;
    else if (name === "credentialId") credentialId = true;
    else {
      claims[name] = parsed.claims[name];
      if (name === "agencyCode") (organisation ??= {}).agencyCode = parsed.claims.agencyCode;
      else if (name === "organisation") (organisation ??= {}).name = parsed.claims.organisation;
    }
  }
  return {
    claims: claims as Partial<CivilServantClaims>,
    ...(organisation === undefined ? {} : { organisation }),
    ...(holder ? { holder: parsed.subjectDid } : {}),
    ...(credentialId ? { credentialId: parsed.credentialId.toString() } : {}),
  };
}

/** Two hex strings spell the same value, ignoring case (both sides are usually lowercase already: no copies then). */
function sameHex(a: string | undefined, b: string): boolean {
  return a !== undefined && (a === b || a.toLowerCase() === b.toLowerCase());
}

function isTime(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function ledgerRefusal(parsed: ParsedCredential, error: unknown, primary?: unknown): Refusal {
  const detail = (e: unknown) => (e instanceof Error ? e.message : String(e));
  // The ledger's nodes disagree, or serve another chain (sdk/status/quorum.ts): a distinct reason, whichever view saw it.
  for (const code of ["LEDGER_DISAGREEMENT", "WRONG_CHAIN"] as const) {
    const seen = [error, primary].find((e) => isCivilIdError(e, code));
    if (seen) return new Refusal([code], [detail(seen)]);
  }
  if (isCivilIdError(error, "INDEX_STALE")) {
    return new Refusal(["INDEX_STALE"], [`${primary ? `Node unreachable (${detail(primary)}); ` : ""}${detail(error)}`], parsed);
  }
  if (error instanceof CivilIdError || error instanceof Error) {
    return new Refusal(["LEDGER_UNAVAILABLE"], [`Status and trust could not be read: ${detail(error)}`], parsed);
  }
  return new Refusal(["LEDGER_UNAVAILABLE"], [String(error)], parsed);
}
