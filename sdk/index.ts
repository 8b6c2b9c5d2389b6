/**
 * mobile-civil-id: the SDK's one face. The root exports the factories and what most integrators need; each layer
 * has its own entry point (`mobile-civil-id/credential`, `/protocol`, `/did`, `/verifier`, `/wallet`, `/issuer`).
 * See docs/SDK.md.
 */
export { createVerifier, openIssuingServer, type ChainAccess, type CreateVerifierOptions, type ManagedVerifier, type OpenIssuingServerOptions } from "./factories.js";
export { CivilIdError, isCivilIdError, type ErrorCode } from "./errors.js";

// The chain: deployment files, contracts, codes.
export { deployConsortium, type DeployOptions } from "./chain/deploy.js";
export { connectLedger, type LedgerContracts } from "./chain/contracts.js";
export { loadDeployment, parseDeployment, saveDeployment, deploymentPath, type Deployment } from "./chain/deployment.js";
export {
  CIVIL_SERVANT_ID_TYPE, CredentialState, OperatorRole, OrgKind, OrgStatus, ReasonCode, agencyOfCredential, credentialTypeId,
  makeCredentialId, parseAgencyCode, parseCredentialId, reasonName, sequenceOfCredential,
} from "./chain/codes.js";
export { toCivilIdError } from "./chain/errors.js";
export { GovernanceActions, GovernanceClient, type GovernanceAction, type ProposalOutcome } from "./governance/client.js";

// Status and trust on the ledger.
export { OnlineLedgerView, type IssuerTrust, type LedgerView, type StatusEntry } from "./status/ledger-view.js";
export { LedgerIndex, type LedgerIndexOptions } from "./status/ledger-index.js";
export { StatusClient, type CredentialStatus, type RegistrationOutcome, type StatusChangeOutcome, type TxOutcome } from "./status/client.js";
export { holderReference } from "./status/holder-ref.js";

// The parties' main classes (their layers export the rest).
export { PresentationVerifier, ChallengeRegistry, SqliteChallengeStore, POLICIES, restrictToOrganisations } from "./verifier/index.js";
export type { UsePolicy, VerificationResult, DocumentVerificationResult, RefusalCode, VerifierOptions } from "./verifier/index.js";
export { HolderWallet, PRODUCTION_SCRYPT, TEST_ONLY_SCRYPT, type BiometricGate, type WalletOptions, type CreateWalletOptions } from "./wallet/index.js";
export { IssuanceWorkflow, type IssuanceWorkflowOptions } from "./issuer/workflow.js";

// The shared floor's most used pieces.
export { parseCredentialJwt, draftCredential, signCredential, issuerFromPrivateKey, deviceKeyJwk, p256DeviceKeyJwk, type ParsedCredential, type CivilServantClaims } from "./credential/index.js";
export { signPresentation, signDocumentJwt, verifyDocumentSignature, es256Signer, es256kSigner, type DocumentSignature } from "./protocol/index.js";
export { didForAddress, didJwkFor, parseEthrDid, sameHolderDid } from "./did/index.js";
