import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";
import { OrgKind, OperatorRole, credentialTypeId, CIVIL_SERVANT_ID_TYPE } from "../../../sdk/chain/codes.js";

export const CENTRAL_AGENCY = 1741000; // 행정안전부-style 7-digit code (central agency, e-사람)
export const LOCAL_GOV = 6110000; //      서울특별시-style code (local government, 차세대 인사랑)
export const CIVIL_ID_TYPE = credentialTypeId(CIVIL_SERVANT_ID_TYPE);

export interface Actors {
  deployer: HardhatEthersSigner;
  members: HardhatEthersSigner[]; // 4 ministries, threshold 3
  orgAdmin: HardhatEthersSigner; // admin of CENTRAL_AGENCY
  localAdmin: HardhatEthersSigner; // admin of LOCAL_GOV
  registrar: HardhatEthersSigner; // Registrar of CENTRAL_AGENCY
  helpDesk: HardhatEthersSigner; // LockOnly of CENTRAL_AGENCY
  localRegistrar: HardhatEthersSigner; // Registrar of LOCAL_GOV
  issuerKey: HardhatEthersSigner; // issuer DID key of CENTRAL_AGENCY
  outsider: HardhatEthersSigner;
}

/**
 * `MCID_TEST_CHAIN_SKEW_S` (integer seconds, may be negative) starts every test chain that far from the wall clock:
 * a check that no test compares chain-signed times with `Date.now()` (e.g. `MCID_TEST_CHAIN_SKEW_S=-10800`).
 */
function chainSkewMs(): number {
  const raw = process.env.MCID_TEST_CHAIN_SKEW_S;
  if (raw === undefined || raw === "") return 0;
  if (!/^-?[0-9]{1,9}$/.test(raw)) throw new Error(`MCID_TEST_CHAIN_SKEW_S must be an integer number of seconds, not ${JSON.stringify(raw)}.`);
  return Number(raw) * 1000;
}

/**
 * A fresh in-process chain per call (isolated tests). Its genesis is now (plus MCID_TEST_CHAIN_SKEW_S): Hardhat
 * dates a chain by the time the process resolved its config, so one created late in a long run would otherwise
 * start minutes behind the wall clock.
 */
export async function freshChain() {
  return network.create({ override: { initialDate: new Date(Date.now() + chainSkewMs()) } });
}

/** Runs a governance proposal through: propose by member 0, approve by members 1..threshold-1, execute. */
export async function governed(ledger: LedgerContracts, members: HardhatEthersSigner[], target: string, data: string) {
  const governor = ledger.governor;
  const threshold = Number(await governor.threshold());
  await (await governor.connect(members[0]!).propose(target, data, 3600, "test")).wait();
  const id = await governor.proposalCount();
  for (let i = 1; i < threshold; i++) await (await governor.connect(members[i]!).approve(id)).wait();
  return governor.connect(members[0]!).execute(id);
}

/** Deploys the consortium; optionally accredits both organisations and sets their operators and issuer key. */
export async function deployFixture(options: { accredit?: boolean } = {}) {
  const connection = await freshChain();
  const { ethers } = connection;
  const s = await ethers.getSigners();
  const actors: Actors = {
    deployer: s[0]!,
    members: [s[1]!, s[2]!, s[3]!, s[4]!],
    orgAdmin: s[5]!,
    localAdmin: s[6]!,
    registrar: s[7]!,
    helpDesk: s[8]!,
    localRegistrar: s[9]!,
    issuerKey: s[10]!,
    outsider: s[11]!,
  };
  const ledger = await deployConsortium(actors.deployer, {
    members: actors.members.map((m) => m.address),
    threshold: 3,
  });
  if (options.accredit !== false) {
    const reg = ledger.issuerRegistry;
    const target = await reg.getAddress();
    await (
      await governed(ledger, actors.members, target,
        reg.interface.encodeFunctionData("accredit", [CENTRAL_AGENCY, OrgKind.CentralAgency, actors.orgAdmin.address, [CIVIL_ID_TYPE]]))
    ).wait();
    await (
      await governed(ledger, actors.members, target,
        reg.interface.encodeFunctionData("accredit", [LOCAL_GOV, OrgKind.LocalGovernment, actors.localAdmin.address, [CIVIL_ID_TYPE]]))
    ).wait();
    const status = ledger.statusRegistry;
    await (await status.connect(actors.orgAdmin).setOperator(actors.registrar.address, CENTRAL_AGENCY, OperatorRole.Registrar)).wait();
    await (await status.connect(actors.orgAdmin).setOperator(actors.helpDesk.address, CENTRAL_AGENCY, OperatorRole.LockOnly)).wait();
    await (await status.connect(actors.localAdmin).setOperator(actors.localRegistrar.address, LOCAL_GOV, OperatorRole.Registrar)).wait();
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    await (await reg.connect(actors.orgAdmin).addIssuerKey(CENTRAL_AGENCY, actors.issuerKey.address, 0, now + 365 * 86400)).wait();
  }
  return { connection, ethers, ledger, actors, networkHelpers: connection.networkHelpers };
}
