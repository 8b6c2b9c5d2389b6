import type { ContractRunner } from "ethers";
import {
  ConsortiumGovernor__factory,
  CredentialStatusRegistry__factory,
  DIDRegistry__factory,
  DocumentAnchor__factory,
  IssuerRegistry__factory,
  RelyingPartyRegistry__factory,
} from "../../types/ethers-contracts/index.js";
import type {
  ConsortiumGovernor,
  CredentialStatusRegistry,
  DIDRegistry,
  DocumentAnchor,
  IssuerRegistry,
  RelyingPartyRegistry,
} from "../../types/ethers-contracts/index.js";
import type { Deployment } from "./deployment.js";

export type { ConsortiumGovernor, CredentialStatusRegistry, DIDRegistry, DocumentAnchor, IssuerRegistry, RelyingPartyRegistry };
export {
  ConsortiumGovernor__factory,
  CredentialStatusRegistry__factory,
  DIDRegistry__factory,
  DocumentAnchor__factory,
  IssuerRegistry__factory,
  RelyingPartyRegistry__factory,
};

/** Typed handles on the four consortium contracts of one deployment. */
export interface LedgerContracts {
  readonly deployment: Deployment;
  readonly governor: ConsortiumGovernor;
  readonly issuerRegistry: IssuerRegistry;
  readonly statusRegistry: CredentialStatusRegistry;
  readonly didRegistry: DIDRegistry;
  /** The document-signature anchor; absent for deployments made before it existed. */
  readonly documentAnchor: DocumentAnchor | undefined;
}

/** Binds the deployment's contracts to a runner (a provider for reads, a signer for writes). */
export function connectLedger(deployment: Deployment, runner: ContractRunner): LedgerContracts {
  return {
    deployment,
    governor: ConsortiumGovernor__factory.connect(deployment.governor, runner),
    issuerRegistry: IssuerRegistry__factory.connect(deployment.issuerRegistry, runner),
    statusRegistry: CredentialStatusRegistry__factory.connect(deployment.statusRegistry, runner),
    didRegistry: DIDRegistry__factory.connect(deployment.didRegistry, runner),
    documentAnchor: deployment.documentAnchor ? DocumentAnchor__factory.connect(deployment.documentAnchor, runner) : undefined,
  };
}
