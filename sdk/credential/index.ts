/** The credential as data: model, device keys, the strict JWS codec, the one parser, the binding digest, the builder. */
export {
  CIVIL_ID_CONTEXT, CIVIL_SERVANT_ID_TYPE, CREDENTIAL_JWT_TYP, ISSUER_ALGORITHM, MAX_CLAIM_LENGTH, MAX_CREDENTIAL_JWT_LENGTH,
  MAX_JWT_LENGTH, STATUS_TYPE, TEXT_CLAIMS, VC_CONTEXT_V1,
  type CivilServantClaims, type CredentialStatusRef, type ParsedCredential, type StatusListRef,
} from "./model.js";
export { CIVIL_ID_CONTEXT_DOCUMENT } from "./context.js";
export {
  addressOfDeviceKey, checkDeviceKeyJwk, deviceAlgorithm, deviceKeyJwk, deviceKeyMatchesHolder, holderDidForDeviceKey,
  p256DeviceKeyJwk, type DeviceKeyJwk, type P256Jwk, type Secp256k1Jwk,
} from "./device-key.js";
export {
  JWS_ALGORITHMS, decodeCompactJws, decodeJws, isCanonicalEs256kSignature, isCanonicalSignature, isJwsAlgorithm, normaliseLowS, signJws,
  type CompactJws, type JwsAlgorithm, type JwsDecodeFailure, type JwsSigner,
} from "./jws.js";
export { algorithmOfKey, importPublicJwk, verifyEs256k, verifyJwsSignature } from "./jws-verify.js";
export { bindingDigest, statusRef, type CredentialBinding } from "./binding.js";
export {
  credentialJti, credentialRefusal, credentialRefusalReason, parseCredentialJwt, parseStatusListRef, validateClaims,
  type CredentialRefusalReason,
} from "./parse.js";
export {
  draftCredential, issueCredentialJwt, issuerFromPrivateKey, signCredential,
  type CredentialDraft, type CredentialDraftInput, type IssueCredentialInput,
} from "./builder.js";
