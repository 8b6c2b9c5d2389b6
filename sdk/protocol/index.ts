/** What the parties exchange: activation and collection proofs, presentations, document signatures. */
export {
  ACTIVATION_PREFIX, activationMessage, checkActivationInput, checkPossessionProof, isActivationChallenge,
  type ActivationChallenge, type ProofFailure,
} from "./activation.js";
export {
  COLLECTION_PREFIX, COLLECTION_TTL_MS, checkCollectionSignature, collectionMessage, isCollectionChallenge,
  type CollectionChallenge, type CollectionProofFailure,
} from "./collection.js";
export {
  DEFAULT_PRESENTATION_LIFETIME_SECONDS, MAX_AUDIENCE_LENGTH, MAX_CHALLENGE_LENGTH, MAX_PRESENTATION_JWT_LENGTH,
  MAX_PRESENTATION_LIFETIME_SECONDS, audienceMatches, checkPresentationRequest, decodePresentation, isValidAudience,
  isValidChallenge, signPresentation,
  type DecodedPresentation, type PresentationFailure, type PresentationRequest, type PresentationSigningInput,
} from "./presentation.js";
export {
  DOCUMENT_SIGNATURE_FORMAT, DOCUMENT_SIGNATURE_TYP, MAX_ANCHOR_PROOF_LENGTH, MAX_DOCUMENT_SIGNATURE_LENGTH, MAX_PURPOSE_LENGTH,
  checkDocumentSigningRequest, parseSignatureAnchor, signatureAnchorDigest, type DocumentSignatureAnchor, credentialDigest, documentDigest, isValidPurpose, signDocumentJwt,
  type DocumentSignature, type DocumentSignatureClaims, type DocumentSigningInput,
} from "./document-signature.js";
export {
  verifyDocumentSignature, type DocumentSignatureFailure, type DocumentSignatureVerification, type VerifyDocumentSignatureOptions,
} from "./document-signature-verify.js";
export { es256Signer, es256kSigner } from "./signers.js";
export { POSSESSION_PROOF_TYP, checkPossessionProofJws, signPossessionProof, type DeviceProofFailure } from "./device-proof.js";
