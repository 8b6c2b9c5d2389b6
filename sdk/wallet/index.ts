/** The holder wallet (the phone's side of the mobile civil-servant ID). */
export { HolderWallet } from "./wallet.js";
export type {
  BiometricGate,
  CreateWalletOptions,
  PresentationOptions,
  SignDocumentOptions,
  WalletOptions,
  WalletStatus,
} from "./wallet.js";
export { didForAddress as holderDid, parseChainId } from "../did/did.js";
export { parseHolderDid, sameHolderDid, type ParsedHolderDid } from "../did/holder.js";
export {
  PIN_LENGTH,
  COMMON_PINS,
  assessPin,
  assertStrongPin,
  isWellFormedPin,
  type PinAssessment,
  type PinPolicyOptions,
  type WeakPinRule,
} from "./pin.js";
export { PRODUCTION_SCRYPT, TEST_ONLY_SCRYPT, type ScryptCost } from "./keystore.js";
export { MAX_FAILED_ATTEMPTS, WALLET_FORMAT, WALLET_VERSION } from "./wallet-file.js";
export { credentialDigest, type HeldCredentialInfo } from "./credential.js";
export {
  DEFAULT_PRESENTATION_LIFETIME_SECONDS,
  MAX_PRESENTATION_LIFETIME_SECONDS,
  type PresentationRequest,
} from "../protocol/presentation.js";
export {
  DOCUMENT_SIGNATURE_FORMAT,
  DOCUMENT_SIGNATURE_TYP,
  documentDigest,
  type DocumentSignature,
  type DocumentSignatureClaims,
} from "../protocol/document-signature.js";
export {
  verifyDocumentSignature,
  type DocumentSignatureFailure,
  type DocumentSignatureVerification,
  type VerifyDocumentSignatureOptions,
} from "../protocol/document-signature-verify.js";
