import { randomBytes } from "node:crypto";
import { Wallet, type Provider, type Signer } from "ethers";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind } from "../sdk/chain/codes.js";
import type { LedgerContracts } from "../sdk/chain/contracts.js";
import { deployConsortium } from "../sdk/chain/deploy.js";
import { GovernanceActions, GovernanceClient } from "../sdk/governance/client.js";
import type { DemoConsortium, DemoOrganisation } from "./environment.js";

/** The demo organisations: one central agency (e-사람) and one local government (차세대 인사랑). */
export const DEMO_ORGANISATIONS = [
  { code: 1741000, name: "행정안전부", kind: OrgKind.CentralAgency },
  { code: 6110000, name: "서울특별시", kind: OrgKind.LocalGovernment },
] as const;

const SIGNERS_NEEDED = 5 + DEMO_ORGANISATIONS.length * 4;

/**
 * Seeds the development consortium `npm run serve` runs on: deploys the contracts (4 ministries, 3 approvals),
 * accredits the demo organisations by governance, registers each one's issuer DID key and its operators
 * (workflow registrar, status officer, help desk). Keys live in memory: development only.
 */
export async function seedDemoConsortium(provider: Provider, signers: readonly Signer[]): Promise<{ ledger: LedgerContracts; demo: DemoConsortium }> {
  if (signers.length < SIGNERS_NEEDED) throw new Error(`the demo consortium needs ${SIGNERS_NEEDED} funded accounts, got ${signers.length}`);
  const [deployer, ...rest] = signers as [Signer, ...Signer[]];
  const ministries = rest.slice(0, 4);
  const ledger = await deployConsortium(deployer, { members: await Promise.all(ministries.map((m) => m.getAddress())), threshold: 3 });
  const actions = new GovernanceActions(ledger.governor, ledger.issuerRegistry);
  const as = (s: Signer) => new GovernanceClient(ledger.governor.connect(s));
  const organisations: DemoOrganisation[] = [];
  let next = 5;
  const until = (await provider.getBlock("latest"))!.timestamp + 3 * 365 * 86_400;
  for (const org of DEMO_ORGANISATIONS) {
    const [admin, registrar, statusOfficer, helpDesk] = signers.slice(next, next + 4) as [Signer, Signer, Signer, Signer];
    next += 4;
    // Accredited, then named: the official name is what verifiers and the HR import check credentials and rows against.
    for (const action of [await actions.accredit(org.code, org.kind, await admin.getAddress(), [CIVIL_SERVANT_ID_TYPE]), await actions.setOrganisationName(org.code, org.name)]) {
      const proposal = await as(ministries[0]!).propose(action, 86_400);
      await as(ministries[1]!).approve(proposal.proposalId);
      await as(ministries[2]!).approve(proposal.proposalId);
      await as(ministries[0]!).execute(proposal.proposalId);
    }
    const issuerKey = Wallet.createRandom();
    await (await ledger.issuerRegistry.connect(admin).addIssuerKey(org.code, issuerKey.address, 0, until)).wait();
    await (await ledger.statusRegistry.connect(admin).setOperator(await registrar.getAddress(), org.code, OperatorRole.Registrar)).wait();
    await (await ledger.statusRegistry.connect(admin).setOperator(await statusOfficer.getAddress(), org.code, OperatorRole.Registrar)).wait();
    await (await ledger.statusRegistry.connect(admin).setOperator(await helpDesk.getAddress(), org.code, OperatorRole.LockOnly)).wait();
    organisations.push({ code: org.code, name: org.name, admin, registrar, statusOfficer, helpDesk, issuerPrivateKey: issuerKey.privateKey });
  }
  return {
    ledger,
    demo: { deployer, ministries, spare: signers.slice(next), organisations, holderSecret: new Uint8Array(randomBytes(32)) },
  };
}
