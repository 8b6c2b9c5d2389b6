/**
 * The main job (`npm start`): a public servant's life with the mobile ID, told step by step on an embedded Hardhat
 * network through the same SDK calls the CLI and the services make. Every step states what must happen and fails
 * the run if the system does otherwise.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Wallet, type Signer, type Provider } from "ethers";
import { deployConsortium } from "../../sdk/chain/deploy.js";
import { connectLedger, type LedgerContracts } from "../../sdk/chain/contracts.js";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind, reasonName } from "../../sdk/chain/codes.js";
import { GovernanceActions, GovernanceClient, type GovernanceAction } from "../../sdk/governance/client.js";
import { signApproval, readEip712Domain, GOVERNOR_EIP712 } from "../../sdk/did/signed-writes.js";
import { issuerFromPrivateKey } from "../../sdk/credential/index.js";
import { IssuanceWorkflow, type IssuanceRecord } from "../../sdk/issuer/workflow.js";
import { E_SARAM_FORMAT, HR_FIELDS } from "../../sdk/issuer/hr-import.js";
import { LoggingSmsGateway, type SmsMessage } from "../../sdk/issuer/sms.js";
import { HolderWallet } from "../../sdk/wallet/wallet.js";
import { StatusClient } from "../../sdk/status/client.js";
import { OnlineLedgerView } from "../../sdk/status/ledger-view.js";
import { LedgerIndex } from "../../sdk/status/ledger-index.js";
import { ChallengeRegistry } from "../../sdk/verifier/challenges.js";
import { anchorSignatures } from "../../sdk/anchor/client.js";
import { QuorumAnchorReader } from "../../sdk/anchor/reader.js";
import { PresentationVerifier, type VerificationResult } from "../../sdk/verifier/verifier.js";
import { POLICIES, restrictToOrganisations, type UsePolicy } from "../../sdk/verifier/policies.js";
import { isCivilIdError } from "../../sdk/errors.js";
import { Narrator, StepFailed, expect } from "./narrator.js";

const MOIS = { code: 1741000, name: "행정안전부" }; //   a central agency: requests from e-사람
const SEOUL = { code: 6110000, name: "서울특별시" }; //  a local government: requests from 차세대 인사랑
const NOT_PARTICIPATING = { code: 1320000, name: "미참여기관" }; // not accredited in the consortium
const PIN = "482915";
const NEW_PIN = "730264";

export interface StoryEnvironment {
  readonly provider: Provider;
  /** Funded accounts: [deployer, ministry 1..4, MOIS admin, Seoul admin, MOIS registrar, MOIS help desk, Seoul registrar]. */
  readonly signers: readonly Signer[];
  readonly write: (line: string) => void;
}

export async function runStory(env: StoryEnvironment): Promise<Narrator> {
  const n = new Narrator(env.write);
  const work = await mkdtemp(path.join(tmpdir(), "mcid-story-"));
  const closers: (() => Promise<void> | void)[] = [];
  try {
    await tell(n, env, work, closers);
  } catch (error) {
    // A failed step stops the story: later steps build on it. The failure is already recorded and printed.
    if (!(error instanceof StepFailed)) throw error;
    n.say("(the story stops here: the next steps depend on this one)");
  } finally {
    for (const close of closers) await close();
    await rm(work, { recursive: true, force: true });
  }
  return n;
}

async function tell(n: Narrator, env: StoryEnvironment, work: string, closers: (() => Promise<void> | void)[]): Promise<void> {
  const [deployer, m1, m2, m3, m4, moisAdmin, seoulAdmin, moisRegistrar, moisHelpDesk, seoulRegistrar] = env.signers as Signer[];
  const chainId = Number((await env.provider.getNetwork()).chainId);
  const addr = (s: Signer) => s.getAddress();
  let ledger!: LedgerContracts;

  // ───────────────────────────────────────────── the consortium
  n.section("1. The consortium: four ministries deploy the ledger and accredit issuers");
  await n.step("Deploy governor, issuer registry, status registry and DID registry (4 members, 3 approvals needed)", async () => {
    ledger = await deployConsortium(deployer!, { members: await Promise.all([m1!, m2!, m3!, m4!].map(addr)), threshold: 3 });
    const gas = await deploymentGas(env.provider, ledger);
    const d = ledger.deployment;
    return { detail: `governor ${d.governor}\nissuer registry ${d.issuerRegistry}\nstatus registry ${d.statusRegistry}\nDID registry ${d.didRegistry}`, gasUsed: gas };
  });
  const actions = new GovernanceActions(ledger.governor, ledger.issuerRegistry);
  const domain = await readEip712Domain(ledger.governor, GOVERNOR_EIP712);
  const governorAs = (s: Signer) => new GovernanceClient(ledger.governor.connect(s));

  /** Proposal by ministry 1, one approval by transaction (ministry 2), one relayed EIP-712 signature (ministry 3). */
  async function decide(action: GovernanceAction): Promise<{ gas: bigint; id: bigint }> {
    const proposed = await governorAs(m1!).propose(action, 86_400);
    const approved = await governorAs(m2!).approve(proposed.proposalId);
    const tallyBefore = await governorAs(m1!).tally(proposed.proposalId);
    expect(tallyBefore.approvals === 2 && tallyBefore.threshold === 3, "two approvals of three before ministry 3 signs");
    let refusedEarly = false;
    try {
      await governorAs(m1!).execute(proposed.proposalId);
    } catch (error) {
      refusedEarly = isCivilIdError(error) && /ThresholdNotReached/.test(error.message);
    }
    expect(refusedEarly, "execution below the threshold is refused");
    const p = await ledger.governor.proposal(proposed.proposalId);
    const sig = await signApproval(m3!, domain, { proposalId: proposed.proposalId, target: p.target, data: p.data, expiresAt: p.expiresAt }, {
      nonce: await ledger.governor.nonces(await addr(m3!)),
      deadline: BigInt((await env.provider.getBlock("latest"))!.timestamp + 3600),
    });
    const relayed = await (await ledger.governor.connect(m4).approveBySig(proposed.proposalId, await addr(m3!), sig.deadline, sig.signature)).wait();
    const executed = await governorAs(m1!).execute(proposed.proposalId);
    return { gas: proposed.gasUsed + approved.gasUsed + relayed!.gasUsed + executed.gasUsed, id: proposed.proposalId };
  }

  await n.step(`Accredit ${MOIS.name} (${MOIS.code}, central agency, e-사람) — propose, approve, relayed signature, execute`, async () => {
    const { gas, id } = await decide(await actions.accredit(MOIS.code, OrgKind.CentralAgency, await addr(moisAdmin!), [CIVIL_SERVANT_ID_TYPE]));
    expect(await ledger.issuerRegistry.isOrganisationActive(MOIS.code), `${MOIS.code} active`);
    return { detail: `proposal ${id}: executing with 2 of 3 approvals was refused; executed with 3`, gasUsed: gas };
  });
  await n.step(`Accredit ${SEOUL.name} (${SEOUL.code}, local government, 차세대 인사랑)`, async () => {
    const { gas } = await decide(await actions.accredit(SEOUL.code, OrgKind.LocalGovernment, await addr(seoulAdmin!), [CIVIL_SERVANT_ID_TYPE]));
    expect(await ledger.issuerRegistry.isOrganisationActive(SEOUL.code), `${SEOUL.code} active`);
    return { detail: "accredited", gasUsed: gas };
  });

  await n.step("Register the organisations' official names (verifiers and HR imports check credentials and rows against them)", async () => {
    let gas = 0n;
    for (const org of [MOIS, SEOUL]) gas += (await decide(await actions.setOrganisationName(org.code, org.name))).gas;
    return { detail: `${MOIS.code} = ${MOIS.name}, ${SEOUL.code} = ${SEOUL.name}`, gasUsed: gas };
  });

  const moisIssuerKey = Wallet.createRandom();
  const seoulIssuerKey = Wallet.createRandom();
  await n.step("Each organisation's admin registers its issuer DID key and its status operators (registrar, help desk)", async () => {
    const until = (await env.provider.getBlock("latest"))!.timestamp + 3 * 365 * 86_400;
    let gas = 0n;
    const send = async (p: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => (gas += (await (await p).wait())!.gasUsed);
    await send(ledger.issuerRegistry.connect(moisAdmin).addIssuerKey(MOIS.code, moisIssuerKey.address, 0, until));
    await send(ledger.issuerRegistry.connect(seoulAdmin).addIssuerKey(SEOUL.code, seoulIssuerKey.address, 0, until));
    await send(ledger.statusRegistry.connect(moisAdmin).setOperator(await addr(moisRegistrar!), MOIS.code, OperatorRole.Registrar));
    await send(ledger.statusRegistry.connect(moisAdmin).setOperator(await addr(moisHelpDesk!), MOIS.code, OperatorRole.LockOnly));
    await send(ledger.statusRegistry.connect(seoulAdmin).setOperator(await addr(seoulRegistrar!), SEOUL.code, OperatorRole.Registrar));
    return { detail: `issuer DIDs did:ethr:${toHex(chainId)}:${moisIssuerKey.address} and …:${seoulIssuerKey.address}`, gasUsed: gas };
  });

  // ───────────────────────────────────────────── issuing servers, gates and wallets
  const sms: SmsMessage[] = [];
  const holderSecret = new Uint8Array(randomBytes(32));
  const workflowFor = async (org: { code: number }, registrar: Signer | undefined, key: { privateKey: string }) => {
    const wf = await IssuanceWorkflow.open({
      dbPath: path.join(work, `issuance-${org.code}.sqlite`),
      agencyCode: org.code,
      ledger: connectLedger(ledger.deployment, registrar ?? deployer!),
      issuer: issuerFromPrivateKey(chainId, key.privateKey),
      chainId,
      holderSecret,
      sms: new LoggingSmsGateway((m) => void sms.push(m)),
      invitation: { baseUrl: "https://m-id.example.go.kr/install" },
    });
    closers.push(() => wf.close());
    return wf;
  };
  const mois = await workflowFor(MOIS, moisRegistrar, moisIssuerKey);
  const seoul = await workflowFor(SEOUL, seoulRegistrar, seoulIssuerKey);
  const online = new OnlineLedgerView(ledger, env.provider);
  const index = new LedgerIndex({ provider: env.provider, deployment: ledger.deployment, maxStalenessMs: 60_000 });
  const gate = new PresentationVerifier({ ledger: index, fallback: undefined, challenges: new ChallengeRegistry() });
  // The mail system also checks document e-signatures: dated by their DocumentAnchor block, read through its quorum.
  const mail = new PresentationVerifier({ ledger: online, fallback: index, challenges: new ChallengeRegistry(), anchors: new QuorumAnchorReader(online.quorum) });
  const lastSms = (requestId: string, purpose: SmsMessage["purpose"]) => {
    const m = sms.filter((s) => s.requestId === requestId && s.purpose === purpose).at(-1);
    expect(m, `an SMS (${purpose}) for ${requestId}`);
    return m;
  };

  /** The full issuance workflow for one HR request, ending with the credential in a new phone's wallet. */
  async function issueThroughWorkflow(wf: IssuanceWorkflow, requestId: string, row: HrRow, walletFile: string): Promise<{ wallet: HolderWallet; record: IssuanceRecord; lines: string[]; gas: bigint }> {
    const lines: string[] = [];
    await wf.approve(requestId, "dept-head:과장 김결재");
    lines.push("approved by the department head (결재)");
    await wf.startIdentityVerification(requestId);
    const otp = /본인확인 코드 ([0-9]+)/.exec(lastSms(requestId, "identity-code").body)?.[1];
    expect(otp, "an identity one-time code in the SMS");
    await wf.verifyIdentity(requestId, { name: row.name, employeeRef: row.employeeRef, code: otp });
    lines.push("identity verified (HR record + one-time code by SMS)");
    await wf.invite(requestId);
    const invitation = lastSms(requestId, "invitation");
    lines.push(`SMS to ${invitation.to}: ${invitation.body.replace(/\s+/g, " ").slice(0, 110)}…`);
    const token = /[?&]token=([A-Za-z0-9_-]{43})/.exec(invitation.body)?.[1];
    const code = /활성화 코드 ([0-9]+)/.exec(invitation.body)?.[1];
    expect(token && code, "an install link and activation code in the SMS");
    const wallet = await HolderWallet.create(walletFile, { pin: PIN, chainId, biometricGate: { verify: () => Promise.resolve(true) } });
    const proof = await wallet.activationProof({ pin: PIN, challenge: await wf.activationChallenge(token) });
    await wf.activate({ token, code, ...proof });
    lines.push(`app installed, PIN set, device DID ${wallet.did} activated (key possession proven)`);
    const record = await wf.issue(requestId);
    expect(record.state === "issued" && record.credentialJwt && record.credentialId !== undefined, "the credential is issued");
    await wallet.storeCredential(record.credentialJwt);
    lines.push(`credential ${record.credentialId} registered on chain (tx ${record.txHash?.slice(0, 10)}…) and stored in the wallet`);
    const receipt = await env.provider.getTransactionReceipt(record.txHash!);
    return { wallet, record, lines, gas: receipt?.gasUsed ?? 0n };
  }

  async function present(wallet: HolderWallet, verifier: PresentationVerifier, audience: string, policy: UsePolicy, pin = PIN): Promise<VerificationResult> {
    // A gate follows the chain all the time; here it catches up before each tap, so a slow machine or a chain with
    // real block times never finds its index older than the staleness bound.
    if (verifier === gate) await index.sync();
    const challenge = verifier.issueChallenge();
    const vp = await wallet.createPresentation({ pin, challenge, audience });
    return verifier.verify(vp, { challenge, audience, policy });
  }

  // ───────────────────────────────────────────── issuance
  n.section("2. Issuance: from the HR system to the phone");
  const hong: HrRow = row({ requestId: "ES-2026-000123", personId: "8501011234567", name: "홍길동", agencyCode: MOIS.code, organisationName: MOIS.name, department: "디지털정부혁신실", position: "행정사무관", employeeRef: "MOIS-20150042", mobile: "010-2345-6789" });
  await n.step(`A request from a non-participating agency (${NOT_PARTICIPATING.code}) is refused`, async () => {
    const other = await workflowFor(NOT_PARTICIPATING, undefined, Wallet.createRandom());
    const report = await other.importRequests("e-saram", eSaram([row({ ...hong, requestId: "ES-2026-000999", agencyCode: NOT_PARTICIPATING.code, organisationName: NOT_PARTICIPATING.name })]), "hr-sync:e-saram");
    const refusal = report.refused[0];
    expect(report.created.length === 0 && refusal?.code === "ORGANISATION_NOT_PARTICIPATING", "the request is refused as not participating");
    return { detail: `refused: ${refusal.code} — ${refusal.reason}` };
  });
  let hongPhone!: HolderWallet;
  let hongRecord!: IssuanceRecord;
  await n.step(`${hong.name} (${MOIS.name}) is issued a mobile ID: e-사람 request → approval → identity → SMS → app → issued`, async () => {
    const report = await mois.importRequests("e-saram", eSaram([hong]), "hr-sync:e-saram");
    const id = report.created[0];
    expect(id, "the e-사람 request is imported");
    const r = await issueThroughWorkflow(mois, id, hong, path.join(work, "hong-phone-1.json"));
    hongPhone = r.wallet;
    hongRecord = r.record;
    return { detail: [`imported request ${id}`, ...r.lines].join("\n"), gasUsed: r.gas };
  });
  const kim: HrRow = row({ requestId: "IS-2026-004711", personId: "9003152345678", name: "김서울", agencyCode: SEOUL.code, organisationName: SEOUL.name, department: "디지털정책과", position: "주무관", employeeRef: "SEOUL-7781", mobile: "010-9876-5432" });
  let kimPhone!: HolderWallet;
  await n.step(`${kim.name} (${SEOUL.name}) is issued one from a 차세대 인사랑 CSV export`, async () => {
    const report = await seoul.importRequests("insarang", insarang([kim]), "hr-sync:insarang");
    const id = report.created[0];
    expect(id, "the 인사랑 request is imported");
    const r = await issueThroughWorkflow(seoul, id, kim, path.join(work, "kim-phone.json"));
    kimPhone = r.wallet;
    return { detail: r.lines.at(-1)!, gasUsed: r.gas };
  });

  // ───────────────────────────────────────────── uses
  n.section("3. A day at work");
  await index.sync();
  const accepted = (r: VerificationResult, what: string) => {
    expect(r.ok, `${what} accepted (refused: ${r.reasons.join(", ")} ${r.details.join(" ")})`);
    return `accepted; disclosed ${JSON.stringify(r.claims)} (ledger: ${r.ledgerSource === "primary" ? "" : "fallback "}${r.ledgerSource})`;
  };
  await n.step("Building gate (indexed verifier, no chain call per tap)", async () => ({ detail: accepted(await present(hongPhone, gate, "gate:정부세종청사-동문", POLICIES.buildingGate), "the gate tap") }));
  await n.step("The same presentation replayed at the gate is refused", async () => {
    const challenge = gate.issueChallenge();
    const vp = await hongPhone.createPresentation({ pin: PIN, challenge, audience: "gate:정부세종청사-동문" });
    const first = await gate.verify(vp, { challenge, audience: "gate:정부세종청사-동문", policy: POLICIES.buildingGate });
    const replay = await gate.verify(vp, { challenge, audience: "gate:정부세종청사-동문", policy: POLICIES.buildingGate });
    expect(first.ok && replay.reasons.includes("CHALLENGE_REPLAYED"), "the replay refused with CHALLENGE_REPLAYED");
    return { detail: `refused: ${replay.reasons.join(", ")}` };
  });
  await n.step("Government mail login (online verifier: status and trust read from the chain)", async () => ({ detail: accepted(await present(hongPhone, mail, "https://mail.korea.kr", POLICIES.mailLogin), "mail login") }));
  await n.step(`Business-system login restricted to ${MOIS.name}: ${MOIS.name} accepted, ${SEOUL.name} refused`, async () => {
    const policy = restrictToOrganisations(POLICIES.businessSystemLogin, [MOIS.code]);
    const ok = await present(hongPhone, mail, "https://onnara.mois.go.kr", policy);
    const other = await present(kimPhone, mail, "https://onnara.mois.go.kr", policy);
    expect(ok.ok && other.reasons.includes("ORGANISATION_NOT_ALLOWED"), "only the ministry's own staff log in");
    return { detail: `${accepted(ok, "business login")}\n${kim.name}: refused ${other.reasons.join(", ")}` };
  });
  await n.step("Sejong complex library card (discloses name and organisation only)", async () => ({ detail: accepted(await present(kimPhone, gate, "library:세종청사", POLICIES.libraryCard), "library card") }));
  await n.step("E-signature of a document, anchored on chain (its signing time); a forged copy is detected", async () => {
    const document = new TextEncoder().encode("출장 신청서: 2026-12-01 세종→서울, 신청자 홍길동");
    const forged = new TextEncoder().encode("출장 신청서: 2026-12-01 세종→부산, 신청자 홍길동");
    const signed = await hongPhone.signDocument({ pin: PIN, document, purpose: "출장 신청서 결재" });
    // The document system anchors it (a batch of one here): the block's time is the signing time, not the phone's clock.
    const { signatures: [signature], batch } = await anchorSignatures(ledger.documentAnchor!, [signed]);
    const credential = (await hongPhone.credential())!;
    const genuine = await mail.verifySignedDocument({ signature: signature!.jwt, document, credential, anchor: signature!.anchor, policy: POLICIES.documentSignature });
    const fake = await mail.verifySignedDocument({ signature: signature!.jwt, document: forged, credential, anchor: signature!.anchor, policy: POLICIES.documentSignature });
    expect(genuine.ok, `the genuine document verifies (${genuine.reasons.join(", ")})`);
    expect(fake.reasons.includes("DOCUMENT_ALTERED"), "the forged document is refused as DOCUMENT_ALTERED");
    return { detail: `genuine: signed by ${JSON.stringify(genuine.claims)} at ${genuine.signedAt} (block ${batch.blockNumber})\nforged: refused ${fake.reasons.join(", ")}`, gasUsed: batch.gasUsed };
  });

  // ───────────────────────────────────────────── lost phone
  n.section("4. The phone is lost");
  const helpDesk = new StatusClient(ledger.statusRegistry.connect(moisHelpDesk));
  await n.step("Loss reported: the help desk locks the credential; the indexed gate refuses it from the lock's block on", async () => {
    // Measured from the moment the lock is sent: the gate keeps syncing its index and tapping, as a real gate
    // following the chain does, until its first refusal. On a chain with real block times this is the latency a
    // lost phone is still usable at a gate.
    const sentAtBlock = await env.provider.getBlockNumber();
    const sentAt = performance.now();
    const locking = helpDesk.lock(hongRecord.credentialId!, "LOST_DEVICE");
    locking.catch(() => undefined); // awaited below; a failure is reported there
    let refusal: VerificationResult | undefined;
    let refusedAtBlock = -1;
    while (performance.now() - sentAt < 120_000) {
      // present() syncs the gate's index before the tap: the block it refused at is the index's after that sync.
      const tap = await present(hongPhone, gate, "gate:정부세종청사-동문", POLICIES.buildingGate);
      refusedAtBlock = index.blockNumber;
      if (!tap.ok) {
        refusal = tap;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const refusedAfterMs = performance.now() - sentAt;
    const out = await locking;
    expect(out.statuses[0]?.stateName === "locked", "the credential is locked on chain");
    expect(refusal?.reasons.includes("CREDENTIAL_LOCKED"), `the gate refuses with CREDENTIAL_LOCKED (${refusal?.reasons.join(", ") ?? "no refusal within 120 s"})`);
    expect(refusedAtBlock >= out.blockNumber, `the gate refuses only once its index holds the lock's block (refused at ${refusedAtBlock}, lock in ${out.blockNumber})`);
    const latency = { blocks: refusedAtBlock - sentAtBlock, seconds: refusedAfterMs / 1000 };
    n.figure("lock_to_gate_refusal_blocks", latency.blocks);
    n.figure("lock_to_gate_refusal_s", Number(latency.seconds.toFixed(3)));
    return {
      detail: `locked in block ${out.blockNumber} (reason ${out.statuses[0].reason})
` +
        `lock → first refusal at the indexed gate: ${latency.blocks} block(s), ${latency.seconds.toFixed(2)} s after sending (block ${sentAtBlock} → ${refusedAtBlock})`,
      gasUsed: out.gasUsed,
    };
  });
  await n.step("The mail login (online verifier) refuses it too", async () => {
    const atMail = await present(hongPhone, mail, "https://mail.korea.kr", POLICIES.mailLogin);
    expect(atMail.reasons.includes("CREDENTIAL_LOCKED"), "the mail login refuses with CREDENTIAL_LOCKED");
    return { detail: `mail: ${atMail.reasons.join(", ")} (${atMail.statusReason})` };
  });
  let hongPhone2!: HolderWallet;
  await n.step("Reissue on a new phone (same flow, free): the old credential is superseded on chain", async () => {
    const reissue = row({ ...hong, requestId: "ES-2026-000187", requestKind: "reissue", reissueReason: "lost-device" });
    const report = await mois.importRequests("e-saram", eSaram([reissue]), "hr-sync:e-saram");
    const id = report.created[0];
    expect(id, "the reissue request is imported");
    const r = await issueThroughWorkflow(mois, id, reissue, path.join(work, "hong-phone-2.json"));
    hongPhone2 = r.wallet;
    expect(r.record.supersededId === hongRecord.credentialId, "the new credential supersedes the old one in the same transaction");
    const old = await new StatusClient(ledger.statusRegistry).status(hongRecord.credentialId!);
    expect(old.stateName === "revoked" && old.reason === "SUPERSEDED_BY_REISSUE", "the old credential is revoked as superseded");
    hongRecord = r.record;
    return { detail: `${r.lines.at(-1)}\nold credential: ${old.stateName} (${reasonName(5)})`, gasUsed: r.gas };
  });
  await n.step("The old phone is refused as superseded; the new phone opens the gate", async () => {
    await index.sync();
    const oldTap = await present(hongPhone, gate, "gate:정부세종청사-동문", POLICIES.buildingGate);
    const newTap = await present(hongPhone2, gate, "gate:정부세종청사-동문", POLICIES.buildingGate);
    expect(oldTap.reasons.includes("CREDENTIAL_SUPERSEDED"), "the old credential refused as CREDENTIAL_SUPERSEDED");
    return { detail: `old phone: refused ${oldTap.reasons.join(", ")}\nnew phone: ${accepted(newTap, "the new phone")}` };
  });

  // ───────────────────────────────────────────── PIN lockout
  n.section("5. Five wrong PINs");
  await n.step("Five wrong PINs lock the wallet and destroy its key", async () => {
    const results: string[] = [];
    for (let i = 1; i <= 5; i++) {
      try {
        await hongPhone2.createPresentation({ pin: "135802", challenge: gate.issueChallenge(), audience: "gate:정부세종청사-동문" });
        results.push("accepted?!");
      } catch (error) {
        results.push(isCivilIdError(error) ? error.code : String(error));
      }
    }
    expect(results.slice(0, 4).every((r) => r === "WRONG_PIN") && results[4] === "WALLET_LOCKED", "four WRONG_PIN then WALLET_LOCKED");
    let withRightPin = "";
    try {
      await present(hongPhone2, gate, "gate:정부세종청사-동문", POLICIES.buildingGate);
    } catch (error) {
      withRightPin = isCivilIdError(error) ? error.code : String(error);
    }
    expect(withRightPin === "WALLET_LOCKED", "even the right PIN no longer opens it");
    return { detail: `attempts: ${results.join(", ")}; right PIN afterwards: ${withRightPin}` };
  });
  await n.step("The app reports the lockout: the credential is locked; reissue restores service on the same phone", async () => {
    const lock = await helpDesk.lock(hongRecord.credentialId!, "PIN_LOCKOUT");
    const reissue = row({ ...hong, requestId: "ES-2026-000201", requestKind: "reissue", reissueReason: "pin-lockout" });
    const report = await mois.importRequests("e-saram", eSaram([reissue]), "hr-sync:e-saram");
    const id = report.created[0];
    expect(id, "the reissue request is imported");
    const r = await issueThroughWorkflow(mois, id, reissue, path.join(work, "hong-phone-2-reactivated.json"));
    await index.sync();
    const tap = await present(r.wallet, gate, "gate:정부세종청사-동문", POLICIES.buildingGate, PIN);
    return { detail: `locked (PIN_LOCKOUT), reissued as ${r.record.credentialId}, superseding ${r.record.supersededId}\ngate: ${accepted(tap, "the reissued ID")}`, gasUsed: lock.gasUsed + r.gas };
  });
  void NEW_PIN;
}

// ───────────────────────────────────────────── HR export helpers (the formats documented in docs/ISSUANCE.md)

interface HrRow {
  requestId: string; personId: string; name: string; agencyCode: string; organisationName: string; department: string;
  position: string; employeeRef: string; mobile: string; requestKind: string; reissueReason: string; requestedAt: string;
}

function row(r: Partial<Omit<HrRow, "agencyCode">> & { agencyCode: number | string }): HrRow {
  return {
    requestId: "", personId: "", name: "", organisationName: "", department: "", position: "", employeeRef: "", mobile: "",
    requestKind: "new", reissueReason: "", requestedAt: new Date().toISOString(), ...r, agencyCode: String(r.agencyCode),
  };
}

function eSaram(rows: HrRow[]): string {
  return JSON.stringify({
    format: E_SARAM_FORMAT,
    exportedAt: new Date().toISOString(),
    requests: rows.map(({ reissueReason, ...rest }) => (reissueReason === "" ? rest : { ...rest, reissueReason })),
  });
}

function insarang(rows: HrRow[]): string {
  const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [HR_FIELDS.map(([csv]) => csv).join(","), ...rows.map((r) => HR_FIELDS.map(([, key]) => quote(r[key])).join(","))].join("\r\n") + "\r\n";
}

async function deploymentGas(provider: Provider, ledger: LedgerContracts): Promise<bigint> {
  let gas = 0n;
  for (const c of [ledger.governor, ledger.issuerRegistry, ledger.statusRegistry, ledger.didRegistry]) {
    const hash = c.deploymentTransaction()?.hash;
    if (hash) gas += (await provider.getTransactionReceipt(hash))?.gasUsed ?? 0n;
  }
  return gas;
}

function toHex(n: number): string {
  return "0x" + n.toString(16);
}
