import { getAddress, type Signer } from "ethers";
import { CivilIdError } from "../errors.js";
import {
  ConsortiumGovernor__factory,
  CredentialStatusRegistry__factory,
  DIDRegistry__factory,
  DocumentAnchor__factory,
  IssuerRegistry__factory,
  RelyingPartyRegistry__factory,
  connectLedger,
  type LedgerContracts,
} from "./contracts.js";
import type { Deployment } from "./deployment.js";
import { checkThreshold } from "../governance/bounds.js";

export interface DeployOptions {
  /** Accounts of the founding member ministries (the M-of-N governors). */
  readonly members: readonly string[];
  /** Approvals a governance proposal needs: a strict majority, at most members − 1 from 3 members on. */
  readonly threshold: number;
}

/**
 * Deploys the consortium: the M-of-N governor, the issuer registry governed by it, the credential status
 * registry bound to the issuer registry (in both directions: the issuer registry pushes organisation status changes to
 * it), the ERC-1056 DID registry, the document-signature anchor and the relying-party listing governed by the
 * governor. The deployer keeps no rights: its one-time right to bind the status registry is used here.
 */
export async function deployConsortium(deployer: Signer, options: DeployOptions): Promise<LedgerContracts> {
  const members = options.members.map((m) => getAddress(m));
  if (new Set(members).size !== members.length || members.length === 0) {
    throw new CivilIdError("INVALID_INPUT", "Members must be a non-empty list of distinct addresses.");
  }
  checkThreshold(options.threshold, members.length);
  const provider = deployer.provider;
  if (!provider) throw new CivilIdError("INVALID_INPUT", "The deployer signer has no provider.");
  const { chainId } = await provider.getNetwork();

  const governor = await new ConsortiumGovernor__factory(deployer).deploy(members, options.threshold);
  const governorReceipt = await governor.deploymentTransaction()?.wait();
  if (!governorReceipt) throw new CivilIdError("CHAIN_UNREACHABLE", "The governor deployment was not mined.");
  const issuerRegistry = await new IssuerRegistry__factory(deployer).deploy(await governor.getAddress());
  await issuerRegistry.waitForDeployment();
  const statusRegistry = await new CredentialStatusRegistry__factory(deployer).deploy(await issuerRegistry.getAddress());
  await statusRegistry.waitForDeployment();
  const bound = await (await issuerRegistry.bindStatusRegistry(await statusRegistry.getAddress())).wait();
  if (!bound || bound.status !== 1) throw new CivilIdError("CONTRACT_REVERTED", "Binding the status registry failed.");
  const didRegistry = await new DIDRegistry__factory(deployer).deploy();
  await didRegistry.waitForDeployment();
  const relyingPartyRegistry = await new RelyingPartyRegistry__factory(deployer).deploy(await governor.getAddress());
  await relyingPartyRegistry.waitForDeployment();
  const documentAnchor = await new DocumentAnchor__factory(deployer).deploy();
  await documentAnchor.waitForDeployment();

  const deployment: Deployment = {
    format: "mobile-civil-id/deployment@1",
    chainId: Number(chainId),
    deployedAt: new Date().toISOString(),
    deploymentBlock: governorReceipt.blockNumber,
    deploymentBlockHash: governorReceipt.blockHash.toLowerCase(),
    deployer: getAddress(await deployer.getAddress()),
    governor: await governor.getAddress(),
    issuerRegistry: await issuerRegistry.getAddress(),
    statusRegistry: await statusRegistry.getAddress(),
    didRegistry: await didRegistry.getAddress(),
    relyingPartyRegistry: await relyingPartyRegistry.getAddress(),
    documentAnchor: await documentAnchor.getAddress(),
    members,
    threshold: options.threshold,
  };
  return connectLedger(deployment, deployer);
}
