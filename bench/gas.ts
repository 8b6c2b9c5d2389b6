/**
 * Section 1: gas per operation, ours side by side with the original ERC-1056 registry (DID writes) and EAS
 * (status writes), all deployed on the same in-process chain in the same run. Gas is deterministic: every figure
 * is a transaction receipt's gasUsed (intrinsic 21,000 + calldata + execution), nothing is estimated.
 */
import { network } from "hardhat";
import {
  AbiCoder,
  Contract,
  ContractFactory,
  Signature,
  Wallet,
  ZeroAddress,
  ZeroHash,
  encodeBytes32String,
  getBytes,
  hexlify,
  randomBytes,
  solidityPackedKeccak256,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Log,
  type LogDescription,
  type Signer,
} from "ethers";
import { deployConsortium } from "../sdk/chain/deploy.js";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind, ReasonCode, makeCredentialId } from "../sdk/chain/codes.js";
import { packCredentialIds } from "../sdk/chain/batches.js";
import { GovernanceActions, GovernanceClient, type GovernanceAction } from "../sdk/governance/client.js";
import { StatusClient } from "../sdk/status/client.js";
import { holderReference } from "../sdk/status/holder-ref.js";
import { ARTIFACTS, BENCH_HARDFORK, int, loadArtifact, mean, ratio, table } from "./lib.js";

const SECRET = new Uint8Array(32).fill(0x42);
const AGENCY = 1741000;
const AGENCY_2 = 1311000;
const AGENCY_3 = 6110000;

export interface GasRow {
  readonly operation: string;
  readonly ours: number;
  readonly baselineName?: string;
  readonly baseline?: number;
  readonly note?: string;
}

export interface GasTarget {
  readonly name: string;
  readonly measured: number;
  readonly limit: number;
  readonly met: boolean;
}

export interface GasResults {
  readonly status: GasRow[];
  readonly governance: GasRow[];
  readonly did: GasRow[];
  readonly targets: GasTarget[];
  readonly tables: string[];
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt || receipt.status !== 1) throw new Error("benchmark transaction failed");
  return Number(receipt.gasUsed);
}

function randomAddress(): string {
  return Wallet.createRandom().address;
}

export async function runGas(options: { quick: boolean }): Promise<GasResults> {
  // Per single-operation row; a multiple of 32 so that registrations cover whole status words (1 in 32 primes one).
  const samples = options.quick ? 32 : 64;
  // Batch sizes: 10 / 100 / 1,000 (quick mode stops at 100; marginal per item is between the two largest).
  const sizes = options.quick ? [10, 100] : [10, 100, 1000];
  const [mid, big] = [sizes[sizes.length - 2]!, sizes[sizes.length - 1]!];
  const conn = await network.create({ override: { hardfork: BENCH_HARDFORK, blockGasLimit: 100_000_000n } as never });
  try {
    const { ethers } = conn;
    const s = await ethers.getSigners();
    const deployer = s[0]!;
    const members = [s[1]!, s[2]!, s[3]!, s[4]!];
    const orgAdmin = s[5]!;
    const registrarSigner = s[6]!;
    const helpDeskSigner = s[7]!;
    const relayer = s[8]!;
    const chainId = Number((await ethers.provider.getNetwork()).chainId);

    // ---------------------------------------------------------------- consortium and governance (4 members, 3-of-4)
    const ledger = await deployConsortium(deployer, { members: members.map((m) => m.address), threshold: 3 });
    const actions = new GovernanceActions(ledger.governor, ledger.issuerRegistry);
    const govBy = (i: number) => new GovernanceClient(ledger.governor.connect(members[i]));
    async function governed(action: GovernanceAction) {
      const proposed = await govBy(0).propose(action, 86_400);
      const a1 = await govBy(1).approve(proposed.proposalId);
      const a2 = await govBy(2).approve(proposed.proposalId);
      const ex = await govBy(0).execute(proposed.proposalId);
      return { propose: Number(proposed.gasUsed), approve1: Number(a1.gasUsed), approve2: Number(a2.gasUsed), execute: Number(ex.gasUsed) };
    }
    // The first proposal also initialises the governor's proposal counter and the members' first approval
    // slots of nothing else: measure a steady-state accreditation (the second one).
    await governed(await actions.accredit(AGENCY, OrgKind.CentralAgency, orgAdmin.address, [CIVIL_SERVANT_ID_TYPE]));
    const accredit = await governed(await actions.accredit(AGENCY_2, OrgKind.CentralAgency, orgAdmin.address, [CIVIL_SERVANT_ID_TYPE]));
    await governed(await actions.accredit(AGENCY_3, OrgKind.LocalGovernment, orgAdmin.address, [CIVIL_SERVANT_ID_TYPE]));
    const suspend = await governed(await actions.suspend(AGENCY_3));

    const issuers = ledger.issuerRegistry.connect(orgAdmin);
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    const key1 = randomAddress();
    const addKeyGas = await gasOf(issuers.addIssuerKey(AGENCY, key1, 0, now + 365 * 86_400));
    const rotateGas = await gasOf(issuers.rotateIssuerKey(AGENCY, key1, randomAddress(), now + 2 * 365 * 86_400));
    const status = ledger.statusRegistry;
    const setOperatorGas = await gasOf(status.connect(orgAdmin).setOperator(registrarSigner.address, AGENCY, OperatorRole.Registrar));
    await gasOf(status.connect(orgAdmin).setOperator(helpDeskSigner.address, AGENCY, OperatorRole.LockOnly));

    // ---------------------------------------------------------------- status registry (through the SDK's StatusClient)
    const registrar = new StatusClient(status.connect(registrarSigner));
    let person = 0;
    // A binding digest is 32 opaque bytes to the contract: random ones cost the same as real ones.
    const digest = () => hexlify(randomBytes(32));
    const newHolder = () => ({ holderRef: holderReference(SECRET, `person-${person++}`), credentialDigest: digest() });
    // Warm-up: the organisation's first registration initialises its sequence counter (paid once per organisation).
    await registrar.register(newHolder().holderRef, digest());
    // Align to a storage-word boundary so `samples` (a multiple of 32, or 8 in quick mode) covers whole words.
    while ((await status.nextSequence(AGENCY)) % 32n !== 0n) await registrar.register(newHolder().holderRef, digest());

    const holders = Array.from({ length: samples }, newHolder);
    const regNew: number[] = [];
    for (const h of holders) regNew.push(Number((await registrar.register(h.holderRef, h.credentialDigest)).gasUsed));
    const regSupersede: number[] = [];
    for (const h of holders) {
      const out = await registrar.register(h.holderRef, digest());
      if (out.supersededId === undefined) throw new Error("expected a superseding registration");
      regSupersede.push(Number(out.gasUsed));
    }
    // The same again through the plain `register` selector (what a caller that does not use the SDK sends).
    const regSupersedePlain: number[] = [];
    for (const h of holders) regSupersedePlain.push(await gasOf(status.connect(registrarSigner).register(h.holderRef, digest())));

    // Batch registration: marginal per item between a 100- and a 1,000-item batch (new holders), and a
    // 1,000-item batch where every item supersedes the holder's previous credential.
    const batchSmall = Array.from({ length: mid }, newHolder);
    const batchLarge = Array.from({ length: big }, newHolder);
    const regBatchMid = Number((await registrar.registerBatch(batchSmall))[0]!.gasUsed);
    const regBatchBig = Number((await registrar.registerBatch(batchLarge))[0]!.gasUsed);
    const regBatchMarginal = (regBatchBig - regBatchMid) / (big - mid);
    const regBatchSupersedeBig = Number(
      (await registrar.registerBatch(batchLarge.map((h) => ({ holderRef: h.holderRef, credentialDigest: digest() }))))[0]!.gasUsed,
    );

    // Fresh Active credentials for lock/unlock/revoke and the revoke batches (consecutive ids).
    const needed = 3 * samples + sizes.reduce((a, b) => a + b, 0);
    const firstSeq = await status.nextSequence(AGENCY);
    for (let done = 0; done < needed; ) {
      const n = Math.min(1000, needed - done);
      await registrar.registerBatch(Array.from({ length: n }, newHolder));
      done += n;
    }
    const ids = Array.from({ length: needed }, (_, i) => makeCredentialId(AGENCY, firstSeq + BigInt(i)));
    let cursor = 0;
    const take = (n: number) => {
      const out = ids.slice(cursor, cursor + n);
      cursor += n;
      return out;
    };
    const helpDesk = status.connect(helpDeskSigner);
    const reg = status.connect(registrarSigner);
    const lockIds = take(samples);
    const lockGas: number[] = [];
    // The SDK's single lock (`StatusClient.lock`) sends `lock_kvt72`: `lock` under a selector the dispatcher compares early.
    for (const id of lockIds) lockGas.push(await gasOf(helpDesk.lock_kvt72(id, ReasonCode.LOST_DEVICE)));
    const unlockGas: number[] = [];
    for (const id of lockIds) unlockGas.push(await gasOf(reg.unlock(id, ReasonCode.FOUND_DEVICE)));
    const revokeGas: number[] = [];
    for (const id of take(samples)) revokeGas.push(await gasOf(reg.revoke(id, ReasonCode.LEFT_SERVICE)));
    const lockPlainGas: number[] = [];
    for (const id of take(samples)) lockPlainGas.push(await gasOf(helpDesk.lock(id, ReasonCode.LOST_DEVICE)));
    const revokeBatch: Record<number, number> = {};
    // The SDK's batch path: ids packed 8 bytes each (revokeBatchPacked), same checks and event as revokeBatch.
    for (const n of sizes) revokeBatch[n] = await gasOf(reg.revokeBatchPacked(packCredentialIds(take(n)), ReasonCode.LEFT_SERVICE));
    const revokeMarginal = (revokeBatch[big]! - revokeBatch[mid]!) / (big - mid);
    const calldataGas = (n: number) => {
      const data = getBytes(status.interface.encodeFunctionData("revokeBatchPacked", [packCredentialIds(ids.slice(0, n)), ReasonCode.LEFT_SERVICE]));
      return data.reduce((g, b) => g + (b === 0 ? 4 : 16), 0);
    };
    const revokeCalldataMarginal = (calldataGas(big) - calldataGas(mid)) / (big - mid);

    // ---------------------------------------------------------------- EAS baseline
    const eas = await deployEas(deployer);
    const attestGas: number[] = [];
    const uids: string[] = [];
    for (let i = 0; i < samples; i++) {
      const r = await eas.attest(randomAddress(), BigInt(i));
      attestGas.push(r.gas);
      uids.push(r.uid);
    }
    const easRevokeGas: number[] = [];
    for (const uid of uids) easRevokeGas.push(await eas.revoke(uid));
    const easBatch: Record<number, number> = {};
    for (const n of sizes) easBatch[n] = await eas.multiRevoke(await eas.attestMany(n));
    const easMarginal = (easBatch[big]! - easBatch[mid]!) / (big - mid);

    // ---------------------------------------------------------------- DID registry writes: ours vs original ERC-1056
    const original = (await (await new ContractFactory(
      loadArtifact(ARTIFACTS.erc1056).abi as never,
      loadArtifact(ARTIFACTS.erc1056).bytecode,
      deployer,
    ).deploy()).waitForDeployment()) as unknown as Contract;
    const ourDid = ledger.didRegistry.connect(relayer) as unknown as Contract;
    const didOurs = await didWrites("ours", ourDid, chainId, relayer, ethers.provider, conn);
    const didOrig = await didWrites("erc1056", original.connect(relayer) as Contract, chainId, relayer, ethers.provider, conn);

    // ---------------------------------------------------------------- rows
    const avg = (xs: number[]) => mean(xs);
    const statusRows: GasRow[] = [
      { operation: "register, new holder (mean; 1 in 32 primes a status word)", ours: avg(regNew), baselineName: "EAS attest", baseline: avg(attestGas) },
      { operation: "register, new holder (typical, word already primed)", ours: Math.min(...regNew) },
      { operation: "register, new holder (first of a 32-credential word)", ours: Math.max(...regNew) },
      {
        operation: "supersede on reissue = register + revoke the previous one (mean)",
        ours: avg(regSupersede),
        baselineName: "EAS attest + revoke",
        baseline: avg(attestGas) + avg(easRevokeGas),
      },
      { operation: "register superseding, steady state (status word already primed; the SDK's register_8wReb)", ours: Math.min(...regSupersede) },
      { operation: "register superseding through the plain register selector (mean)", ours: avg(regSupersedePlain) },
      { operation: "register superseding through the plain register selector (steady state)", ours: Math.min(...regSupersedePlain) },
      { operation: `registerBatch, new holders: per item (${int(big)} batch, total/n)`, ours: regBatchBig / big, baselineName: "EAS attest", baseline: avg(attestGas) },
      { operation: `registerBatch, new holders: marginal per item (${int(mid)}→${int(big)})`, ours: regBatchMarginal },
      { operation: `registerBatch, all superseding: per item (${int(big)} batch)`, ours: regBatchSupersedeBig / big },
      { operation: "lock (single)", ours: avg(lockGas), baselineName: "EAS revoke", baseline: avg(easRevokeGas) },
      { operation: "lock through the plain lock selector (single)", ours: avg(lockPlainGas), baselineName: "EAS revoke", baseline: avg(easRevokeGas) },
      { operation: "unlock (single)", ours: avg(unlockGas), baselineName: "EAS revoke", baseline: avg(easRevokeGas), note: "EAS cannot un-revoke" },
      { operation: "revoke (single)", ours: avg(revokeGas), baselineName: "EAS revoke", baseline: avg(easRevokeGas) },
      ...sizes.map((n) => ({
        operation: `revokeBatch of ${int(n)}: per item (total/n)`,
        ours: revokeBatch[n]! / n,
        baselineName: "EAS multiRevoke",
        baseline: easBatch[n]! / n,
      })),
      { operation: `revokeBatch marginal per item (${int(mid)}→${int(big)})`, ours: revokeMarginal, baselineName: "EAS multiRevoke", baseline: easMarginal },
      { operation: "  of which calldata (32 bytes per id)", ours: revokeCalldataMarginal },
      { operation: "  of which the event's packed ids (8 bytes of log data per id)", ours: 8 * 8 },
    ];
    const step = (label: string, g: typeof accredit): GasRow[] => [
      { operation: `${label}: propose (incl. proposer's approval)`, ours: g.propose },
      { operation: `${label}: approve (2nd member)`, ours: g.approve1 },
      { operation: `${label}: approve (3rd member)`, ours: g.approve2 },
      { operation: `${label}: execute`, ours: g.execute },
      { operation: `${label}: total (3-of-4)`, ours: g.propose + g.approve1 + g.approve2 + g.execute },
    ];
    const governanceRows: GasRow[] = [
      ...step("accredit", accredit),
      ...step("suspend", suspend),
      { operation: "addIssuerKey (org admin)", ours: addKeyGas },
      { operation: "rotateIssuerKey (retire old + add new)", ours: rotateGas },
      { operation: "setOperator (org admin)", ours: setOperatorGas },
    ];
    const didRows: GasRow[] = Object.keys(didOurs).map((op) => ({
      operation: op,
      ours: didOurs[op]!,
      baselineName: "ERC-1056",
      baseline: didOrig[op]!,
    }));

    // Issue #13's goals. `met: false` rows are explained in docs/PERFORMANCE.md (gas section).
    const goal = (name: string, measured: number, limit: number): GasTarget => ({ name, measured, limit, met: measured <= limit });
    const targets: GasTarget[] = [
      goal("single lock ≤ 31,000", Math.max(...lockGas), 31_000),
      goal("single revoke ≤ 31,000", Math.max(...revokeGas), 31_000),
      goal("revokeBatchPacked marginal ≤ 650 / credential", revokeMarginal, 650),
      goal("registration incl. supersede ≤ 42,000 (mean)", avg(regSupersede), 42_000),
      goal("registration incl. supersede ≤ 42,000 (steady state: word already primed)", Math.min(...regSupersede), 42_000),
      goal("registration incl. supersede (worst: first of a word), for information", Math.max(...regSupersede), 50_000),
      goal("(a holder's first registration, typical), for information", Math.min(...regNew), 50_000),
    ];

    const fmt = (rows: GasRow[], title: string) =>
      table(title, ["operation", "ours (gas)", "baseline", "baseline (gas)", "ours / baseline"], rows.map((r) => [
        r.operation,
        int(r.ours),
        r.baselineName ?? "",
        r.baseline === undefined ? "" : int(r.baseline),
        r.baseline === undefined ? "" : ratio(r.ours, r.baseline),
      ]));
    const tables = [
      fmt(statusRows, "1a. Gas: credential status (ours vs EAS, same chain, same run)"),
      fmt(governanceRows, "1b. Gas: governance and issuer keys"),
      fmt(didRows, "1c. Gas: DID registry writes (ours vs original ERC-1056 EthereumDIDRegistry)"),
      table("1d. Gas targets", ["target", "measured", "met"], targets.map((t) => [t.name, int(t.measured), t.met ? "met" : `MISSED by ${int(t.measured - t.limit)}`])),
    ];
    return { status: statusRows, governance: governanceRows, did: didRows, targets, tables };
  } finally {
    await conn.close();
  }
}

// -------------------------------------------------------------------------------------------------- EAS

/** Sends a call to a contract known only by its artifact's ABI and waits for a successful receipt. */
async function call(contract: Contract, fn: string, ...args: unknown[]): Promise<ContractTransactionReceipt> {
  const tx = (await contract.getFunction(fn)(...args)) as ContractTransactionResponse;
  const receipt = await tx.wait();
  if (!receipt) throw new Error(`${fn}: no receipt`);
  return receipt;
}

async function deployEas(deployer: Signer) {
  const sr = loadArtifact(ARTIFACTS.easSchemaRegistry);
  const ea = loadArtifact(ARTIFACTS.eas);
  const schemaRegistry = (await (await new ContractFactory(sr.abi as never, sr.bytecode, deployer).deploy()).waitForDeployment()) as unknown as Contract;
  const eas = (await (await new ContractFactory(ea.abi as never, ea.bytecode, deployer).deploy(await schemaRegistry.getAddress())).waitForDeployment()) as unknown as Contract;
  // The same facts our registration writes: credential id, holder reference, subject digest; revocable.
  const schemaText = "uint64 credentialId,bytes32 holderRef,bytes32 credentialDigest";
  const receipt = await call(schemaRegistry, "register", schemaText, ZeroAddress, true);
  const schema = schemaRegistry.interface.parseLog(receipt.logs[0]!)!.args.uid as string;
  const coder = AbiCoder.defaultAbiCoder();
  const request = (recipient: string, n: bigint) => ({
    recipient, // the holder's device address, as an EAS user would set it
    expirationTime: 0n,
    revocable: true,
    refUID: ZeroHash,
    data: coder.encode(["uint64", "bytes32", "bytes32"], [n, hexlify(randomBytes(32)), hexlify(randomBytes(32))]),
    value: 0n,
  });
  let counter = 1_000_000n;
  return {
    async attest(recipient: string, n: bigint): Promise<{ gas: number; uid: string }> {
      const r = await call(eas, "attest", { schema, data: request(recipient, n) });
      const log = r.logs.map((l: Log) => eas.interface.parseLog(l)).find((p: LogDescription | null) => p?.name === "Attested")!;
      return { gas: Number(r.gasUsed), uid: log.args.uid as string };
    },
    /** n attestations (set-up for multiRevoke, not measured), in multiAttest chunks of 100. */
    async attestMany(n: number): Promise<string[]> {
      const uids: string[] = [];
      for (let done = 0; done < n; ) {
        const k = Math.min(100, n - done);
        const data = Array.from({ length: k }, () => request(Wallet.createRandom().address, counter++));
        const r = await call(eas, "multiAttest", [{ schema, data }]);
        for (const l of r.logs) {
          const p = eas.interface.parseLog(l);
          if (p?.name === "Attested") uids.push(p.args.uid as string);
        }
        done += k;
      }
      return uids;
    },
    async revoke(uid: string): Promise<number> {
      return Number((await call(eas, "revoke", { schema, data: { uid, value: 0n } })).gasUsed);
    },
    async multiRevoke(uidList: string[]): Promise<number> {
      return Number((await call(eas, "multiRevoke", [{ schema, data: uidList.map((uid) => ({ uid, value: 0n })) }])).gasUsed);
    },
  };
}

// -------------------------------------------------------------------------------------------------- DID writes

const ATTR_NAME = encodeBytes32String("did/pub/Secp256k1/veriKey/hex");
const DELEGATE_TYPE = encodeBytes32String("veriKey");
const VALIDITY = 365n * 86_400n;

/**
 * The same sequence of writes on either registry, each on an identity in the same state on both: unsigned writes
 * by the identity itself, *Signed writes by a relayer with the owner's signature (EIP-712 for ours, the original's
 * 0x19 0x00 hash for ERC-1056). "first write" rows pay the zero→non-zero `changed` (and nonce) slot once.
 */
async function didWrites(
  kind: "ours" | "erc1056",
  registry: Contract,
  chainId: number,
  relayer: Signer,
  provider: import("ethers").Provider,
  conn: { networkHelpers: { setBalance(address: string, balance: bigint): Promise<void> } },
): Promise<Record<string, number>> {
  const address = await registry.getAddress();
  const out: Record<string, number> = {};
  const value = () => hexlify(randomBytes(33)); // a compressed secp256k1 public key's length

  // Unsigned: the identity sends its own transactions.
  const identity = Wallet.createRandom().connect(provider);
  await conn.networkHelpers.setBalance(identity.address, 10n ** 20n);
  const asIdentity = registry.connect(identity) as Contract;
  const send = (fn: string, ...args: unknown[]) => gasOf(asIdentity.getFunction(fn)(...args) as Promise<ContractTransactionResponse>);
  const v1 = value();
  out["setAttribute (first write of the identity)"] = await send("setAttribute", identity.address, ATTR_NAME, v1, VALIDITY);
  const v2 = value();
  out["setAttribute"] = await send("setAttribute", identity.address, ATTR_NAME, v2, VALIDITY);
  const delegate = Wallet.createRandom().address;
  out["addDelegate"] = await send("addDelegate", identity.address, DELEGATE_TYPE, delegate, VALIDITY);
  out["revokeDelegate"] = await send("revokeDelegate", identity.address, DELEGATE_TYPE, delegate);
  out["revokeAttribute"] = await send("revokeAttribute", identity.address, ATTR_NAME, v1);
  out["changeOwner"] = await send("changeOwner", identity.address, Wallet.createRandom().address);

  // Signed: the identity key only signs; the relayer pays.
  const signerWallet = Wallet.createRandom();
  const id = signerWallet.address;
  const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
  const nonceOf = async () => (await registry.getFunction("nonce")(id)) as bigint;
  const domain = { name: "CivilIdDIDRegistry", version: "1", chainId, verifyingContract: address };
  const types: Record<string, { name: string; type: string }[]> = {
    ChangeOwner: [{ name: "identity", type: "address" }, { name: "newOwner", type: "address" }],
    AddDelegate: [{ name: "identity", type: "address" }, { name: "delegateType", type: "bytes32" }, { name: "delegate", type: "address" }, { name: "validity", type: "uint256" }],
    RevokeDelegate: [{ name: "identity", type: "address" }, { name: "delegateType", type: "bytes32" }, { name: "delegate", type: "address" }],
    SetAttribute: [{ name: "identity", type: "address" }, { name: "name", type: "bytes32" }, { name: "value", type: "bytes" }, { name: "validity", type: "uint256" }],
    RevokeAttribute: [{ name: "identity", type: "address" }, { name: "name", type: "bytes32" }, { name: "value", type: "bytes" }],
  };
  const fieldTypes: Record<string, string[]> = {
    ChangeOwner: ["address"],
    AddDelegate: ["bytes32", "address", "uint256"],
    RevokeDelegate: ["bytes32", "address"],
    SetAttribute: ["bytes32", "bytes", "uint256"],
    RevokeAttribute: ["bytes32", "bytes"],
  };
  const fnName: Record<string, string> = {
    ChangeOwner: "changeOwner",
    AddDelegate: "addDelegate",
    RevokeDelegate: "revokeDelegate",
    SetAttribute: "setAttribute",
    RevokeAttribute: "revokeAttribute",
  };
  async function signed(struct: string, fields: unknown[]): Promise<number> {
    const nonce = await nonceOf();
    let sig: Signature;
    if (kind === "ours") {
      const typeFields = types[struct]!;
      const message: Record<string, unknown> = { nonce, deadline };
      typeFields.forEach((f, i) => (message[f.name] = i === 0 ? id : fields[i - 1]));
      const fullTypes = { [struct]: [...typeFields, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] };
      sig = Signature.from(await signerWallet.signTypedData(domain, fullTypes, message));
    } else {
      const hash = solidityPackedKeccak256(
        ["bytes1", "bytes1", "address", "uint256", "address", "string", ...fieldTypes[struct]!],
        ["0x19", "0x00", address, nonce, id, fnName[struct]!, ...fields],
      );
      sig = signerWallet.signingKey.sign(hash);
    }
    const args = [id, sig.v, sig.r, sig.s, ...fields, ...(kind === "ours" ? [deadline] : [])];
    return gasOf(registry.getFunction(`${fnName[struct]}Signed`)(...args) as Promise<ContractTransactionResponse>);
  }
  const s1 = value();
  out["setAttributeSigned (first write of the identity)"] = await signed("SetAttribute", [ATTR_NAME, s1, VALIDITY]);
  out["setAttributeSigned"] = await signed("SetAttribute", [ATTR_NAME, value(), VALIDITY]);
  const d2 = Wallet.createRandom().address;
  out["addDelegateSigned"] = await signed("AddDelegate", [DELEGATE_TYPE, d2, VALIDITY]);
  out["revokeDelegateSigned"] = await signed("RevokeDelegate", [DELEGATE_TYPE, d2]);
  out["revokeAttributeSigned"] = await signed("RevokeAttribute", [ATTR_NAME, s1]);
  out["changeOwnerSigned"] = await signed("ChangeOwner", [Wallet.createRandom().address]);
  return out;
}

