/** The verifier: presentations and document signatures checked against the ledger, fail closed. */
export { ChallengeRegistry, type ChallengeStore, type ChallengeVerdict } from "./challenges.js";
export {
  MAX_CHALLENGE_TTL_MS, MIN_CHALLENGE_TTL_MS, SqliteChallengeStore,
  type ChallengeScope, type IssuedChallenge, type SqliteChallengeStoreOptions,
} from "./challenge-store.js";
export { POLICIES, acceptingUnanchoredSignatures, restrictToOrganisations, type ClaimName, type DisclosableField, type PolicyName, type UsePolicy } from "./policies.js";
export {
  PresentationVerifier,
  type DocumentVerificationResult, type RefusalCode, type VerificationAuditRecord, type VerificationResult, type VerifierOptions,
  type VerifyPresentationOptions, type VerifySignedDocumentInput,
} from "./verifier.js";
export { IssuerKeyCache } from "./issuer-keys.js";
/** Dating document signatures by their DocumentAnchor block, through the ledger view's quorum. */
export { QuorumAnchorReader, contractAnchorReader, type DocumentAnchorReader } from "../anchor/reader.js";
export { anchorSignatures, type AnchorTime, type AnchoredBatch } from "../anchor/client.js";
