import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { network } from "hardhat";
import { TypedDataEncoder, Wallet, keccak256, recoverAddress, type TypedDataDomain, type TypedDataField } from "ethers";
import { stringToBytes32 } from "ethr-did-resolver";
import { isCivilIdError, type ErrorCode } from "../../../sdk/errors.js";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import {
  DID_REGISTRY_EIP712,
  DID_REGISTRY_TYPES,
  GOVERNOR_EIP712,
  GOVERNOR_TYPES,
  buildAddDelegate,
  buildApproval,
  buildChangeOwner,
  buildSetAttribute,
  didRegistryDomain,
  encodeDidAttributeName,
  governorDomain,
  readEip712Domain,
  signApproval,
  signChangeOwner,
} from "../../../sdk/did/signed-writes.js";
import { SECP256K1_N } from "../helpers/ledger-test.js";

const ADDRESS = "0x00000000000000000000000000000000000000aa"; // all lower case: no checksum to verify
const DOMAIN = didRegistryDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const AUTH = { nonce: 0n, deadline: 1_900_000_000n };
const owner = new Wallet("0x" + "22".repeat(32));

function expectCivilIdError(fn: () => unknown, code: ErrorCode, pattern?: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(isCivilIdError(error, code), String(error)).to.equal(true);
    if (pattern) expect((error as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a CivilIdError ${code}`);
}

async function expectCivilIdRejection(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp) {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isCivilIdError(error, code), `expected CivilIdError ${code}, got ${String(error)}`).to.equal(true);
  if (pattern) expect((error as Error).message).to.match(pattern);
}

/** The type strings hashed in the contracts, read from the Solidity sources. */
async function solidityTypeStrings(file: string): Promise<Map<string, string>> {
  const source = await readFile(new URL(`../../../contracts/${file}`, import.meta.url), "utf8");
  const strings = [...source.matchAll(/keccak256\(\s*"([A-Za-z]+)\(([^"]*)\)"\s*\)/g)];
  return new Map(strings.map((m) => [m[1]!, `${m[1]}(${m[2]})`]));
}

function encodeType(primaryType: string, fields: readonly TypedDataField[]): string {
  return TypedDataEncoder.from({ [primaryType]: [...fields] }).encodeType(primaryType);
}

describe("sdk/did/signed-writes", function () {
  describe("encodeDidAttributeName", function () {
    it("right-pads the ASCII bytes to 32 bytes, as ERC-1056 tooling does", function () {
      expect(encodeDidAttributeName("veriKey")).to.equal("0x766572694b6579" + "00".repeat(25));
      for (const name of ["sigAuth", "did/pub/Secp256k1/veriKey/hex", "did/svc/MessagingService"]) {
        expect(encodeDidAttributeName(name)).to.equal(stringToBytes32(name));
      }
    });

    it("accepts exactly 32 bytes and refuses 33 (never truncates)", function () {
      const name32 = "did/pub/Secp256k1/sigAuth/base64"; // 32 characters
      expect(name32).to.have.length(32);
      expect(encodeDidAttributeName(name32)).to.equal("0x" + Buffer.from(name32, "ascii").toString("hex"));
      expectCivilIdError(() => encodeDidAttributeName(name32 + "x"), "INVALID_INPUT", /33 bytes/);
    });

    it("refuses empty, non-ASCII and control characters", function () {
      for (const bad of ["", "키/pub", "veri\u0000Key", "did/svc/x\n", "é"]) {
        expectCivilIdError(() => encodeDidAttributeName(bad), "INVALID_INPUT");
      }
      expectCivilIdError(() => encodeDidAttributeName(42 as unknown as string), "INVALID_INPUT");
    });
  });

  describe("typed data matches the contracts' typehashes", function () {
    it("DIDRegistry: ChangeOwner, AddDelegate, RevokeDelegate, SetAttribute, RevokeAttribute", async function () {
      const solidity = await solidityTypeStrings("did/DIDRegistry.sol");
      expect([...solidity.keys()].sort()).to.deep.equal(Object.keys(DID_REGISTRY_TYPES).sort());
      for (const [type, fields] of Object.entries(DID_REGISTRY_TYPES)) {
        expect(encodeType(type, fields), type).to.equal(solidity.get(type));
      }
    });

    it("ConsortiumGovernor: Approve", async function () {
      const solidity = await solidityTypeStrings("governance/ConsortiumGovernor.sol");
      expect(encodeType("Approve", GOVERNOR_TYPES.Approve)).to.equal(solidity.get("Approve"));
    });

    it("each payload carries only its own primary type and the domain's names", function () {
      const payload = buildChangeOwner(DOMAIN, { identity: ADDRESS, newOwner: ADDRESS }, AUTH);
      expect(Object.keys(payload.types)).to.deep.equal(["ChangeOwner"]);
      expect(payload.primaryType).to.equal("ChangeOwner");
      expect([payload.domain.name, payload.domain.version]).to.deep.equal([DID_REGISTRY_EIP712.name, DID_REGISTRY_EIP712.version]);
      const approval = buildApproval(governorDomain(1, ADDRESS), { proposalId: 1, target: ADDRESS, data: "0x1234", expiresAt: 5 }, AUTH);
      expect(approval.domain.name).to.equal(GOVERNOR_EIP712.name);
      // The signature commits to keccak256 of the call data, as the contract's `dataHash`.
      expect(approval.message.dataHash).to.equal(keccak256("0x1234"));
    });
  });

  describe("input validation", function () {
    it("refuses malformed addresses, integers, bytes32 and bytes", function () {
      const good = { identity: ADDRESS, delegateType: encodeDidAttributeName("veriKey"), delegate: ADDRESS, validity: 1n };
      const cases: [string, () => unknown][] = [
        ["identity", () => buildAddDelegate(DOMAIN, { ...good, identity: "0x1234" }, AUTH)],
        ["identity", () => buildAddDelegate(DOMAIN, { ...good, identity: "0x00000000000000000000000000000000000000aA" }, AUTH)], // bad checksum
        ["delegate", () => buildAddDelegate(DOMAIN, { ...good, delegate: 42 as unknown as string }, AUTH)],
        ["delegateType", () => buildAddDelegate(DOMAIN, { ...good, delegateType: "veriKey" }, AUTH)],
        ["delegateType", () => buildAddDelegate(DOMAIN, { ...good, delegateType: "0x1234" }, AUTH)],
        ["validity", () => buildAddDelegate(DOMAIN, { ...good, validity: -1n }, AUTH)],
        ["validity", () => buildAddDelegate(DOMAIN, { ...good, validity: 1n << 256n }, AUTH)],
        ["validity", () => buildAddDelegate(DOMAIN, { ...good, validity: 1.5 }, AUTH)],
        ["nonce", () => buildAddDelegate(DOMAIN, good, { nonce: Number.MAX_SAFE_INTEGER + 1, deadline: 1n })],
        ["deadline", () => buildAddDelegate(DOMAIN, good, { nonce: 0n, deadline: -5 })],
        ["value", () => buildSetAttribute(DOMAIN, { identity: ADDRESS, name: good.delegateType, value: "https://x", validity: 1n }, AUTH)],
        ["expiresAt", () => buildApproval(DOMAIN, { proposalId: 1, target: ADDRESS, data: "0x", expiresAt: 1n << 64n }, AUTH)],
        ["chainId", () => didRegistryDomain(0, ADDRESS)],
        ["verifyingContract", () => governorDomain(1, "not an address")],
      ];
      for (const [field, call] of cases) expectCivilIdError(call, "INVALID_INPUT", new RegExp(field));
    });

    it("accepts safe integers and the full uint256 range", function () {
      const max = (1n << 256n) - 1n;
      const payload = buildChangeOwner(DOMAIN, { identity: ADDRESS, newOwner: ADDRESS }, { nonce: 7, deadline: max });
      expect([payload.message.nonce, payload.message.deadline]).to.deep.equal([7n, max]);
    });
  });

  describe("signing", function () {
    it("returns a canonical (low-s) signature that recovers to the signer", async function () {
      const write = { identity: owner.address, newOwner: ADDRESS };
      const sig = await signChangeOwner(owner, DOMAIN, write, { nonce: 3, deadline: AUTH.deadline });
      expect(sig.signer).to.equal(owner.address);
      expect([sig.nonce, sig.deadline]).to.deep.equal([3n, AUTH.deadline]);
      expect([27, 28]).to.include(sig.v);
      expect(BigInt(sig.s) <= SECP256K1_N / 2n).to.equal(true);
      const payload = buildChangeOwner(DOMAIN, write, { nonce: 3, deadline: AUTH.deadline });
      const digest = TypedDataEncoder.hash(payload.domain as TypedDataDomain, payload.types, payload.message);
      expect(recoverAddress(digest, { v: sig.v, r: sig.r, s: sig.s })).to.equal(owner.address);
    });

    it("refuses a signer whose signature recovers to another key", async function () {
      const impostor = new Wallet("0x" + "33".repeat(32));
      class LyingSigner extends Wallet {
        override signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>) {
          return impostor.signTypedData(domain, types, value);
        }
      }
      const liar = new LyingSigner(owner.privateKey);
      await expectCivilIdRejection(
        signChangeOwner(liar, DOMAIN, { identity: owner.address, newOwner: ADDRESS }, AUTH),
        "INVALID_INPUT",
        new RegExp(`recovers to ${impostor.address}`),
      );
      await expectCivilIdRejection(
        signApproval(liar, governorDomain(1, ADDRESS), { proposalId: 1, target: ADDRESS, data: "0x", expiresAt: 9 }, AUTH),
        "INVALID_INPUT",
      );
    });
  });

  describe("readEip712Domain", function () {
    it("reads each contract's domain and refuses the wrong contract", async function () {
      const conn = await network.create();
      const [deployer, member] = await conn.ethers.getSigners();
      const ledger = await deployConsortium(deployer!, { members: [member!.address], threshold: 1 });
      const chainId = (await conn.ethers.provider.getNetwork()).chainId;
      expect(await readEip712Domain(ledger.didRegistry, DID_REGISTRY_EIP712)).to.deep.equal(
        didRegistryDomain(chainId, await ledger.didRegistry.getAddress()),
      );
      expect(await readEip712Domain(ledger.governor, GOVERNOR_EIP712)).to.deep.equal(
        governorDomain(chainId, await ledger.governor.getAddress()),
      );
      await expectCivilIdRejection(readEip712Domain(ledger.governor, DID_REGISTRY_EIP712), "INVALID_DEPLOYMENT", /CivilIdConsortiumGovernor/);
      await expectCivilIdRejection(readEip712Domain(ledger.didRegistry, GOVERNOR_EIP712), "INVALID_DEPLOYMENT", /CivilIdDIDRegistry/);
    });
  });
});
