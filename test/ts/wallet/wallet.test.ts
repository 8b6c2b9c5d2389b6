import { spawn } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect } from "chai";
import { Wallet, decryptKeystoreJson } from "ethers";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import {
  HolderWallet,
  MAX_FAILED_ATTEMPTS,
  PRODUCTION_SCRYPT,
  TEST_ONLY_SCRYPT,
  WALLET_FORMAT,
  holderDid,
  parseHolderDid,
  sameHolderDid,
} from "../../../sdk/wallet/index.js";
import { resolveScryptCost } from "../../../sdk/wallet/keystore.js";
import { parseWallet, serializeWallet } from "../../../sdk/wallet/wallet-file.js";
import {
  CHAIN_ID,
  OTHER_PIN,
  PIN,
  ScriptedGate,
  expectCode,
  issueCredential,
  statusIdOf,
  newWallet,
  tempDir,
  testIssuer,
} from "../helpers/wallet.js";

const idOf = (sequence: bigint) => makeCredentialId(1741000, sequence);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The parts of the wallet file the assertions walk (the file is JSON; these tests read it as an attacker would). */
interface WalletFileBody {
  keystore: { crypto: { ciphertext: string; mac: string; kdf: string; kdfparams: { salt: string; n: number; r: number; p: number } } };
  meta: Record<string, unknown>;
  failedAttempts: number;
  [field: string]: unknown;
}

async function fileJson(file: string): Promise<{ body: WalletFileBody }> {
  return JSON.parse(await readFile(file, "utf8"));
}

async function keyMaterial(file: string, pin = PIN): Promise<{ privateKey: string; ciphertext: string; mac: string; salt: string }> {
  const { body } = await fileJson(file);
  const account = await decryptKeystoreJson(JSON.stringify(body.keystore), pin);
  const { ciphertext, mac, kdfparams } = body.keystore.crypto;
  return { privateKey: account.privateKey, ciphertext, mac, salt: kdfparams.salt };
}

describe("holder wallet", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(async () => cleanup());

  describe("holder DID", () => {
    it("is did:ethr:<chain id hex>:<checksummed address>", () => {
      const address = "0x8ba1f109551bd432803012645ac136ddd64dba72";
      expect(holderDid(31337, address)).to.equal("did:ethr:0x7a69:0x8ba1f109551bD432803012645Ac136ddd64DBA72");
      expect(holderDid(31337n, address)).to.equal(holderDid(31337, address));
      expect(holderDid(1, address)).to.match(/^did:ethr:0x1:/);
      expect(parseHolderDid(holderDid(31337, address))).to.deep.include({ method: "ethr", chainId: 31337n, address: "0x8ba1f109551bD432803012645Ac136ddd64DBA72" });
      // One answer on decimal chain ids, shared with every party: refused (ethr-did-resolver reads them as names).
      expect(sameHolderDid(`did:ethr:31337:${address}`, holderDid(31337, address))).to.equal(false);
      expect(sameHolderDid(`did:ethr:0x7a69:${address}`, holderDid(31337, address))).to.equal(true);
      expect(sameHolderDid(`did:ethr:0x1:${address}`, holderDid(31337, address))).to.equal(false);
      expect(parseHolderDid(`did:ethr:0x7a69:${address}#controller`)).to.equal(undefined);
    });

    it("refuses bad chain ids and addresses", async () => {
      for (const chainId of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
        await expectCode(Promise.resolve().then(() => holderDid(chainId, "0x8ba1f109551bd432803012645ac136ddd64dba72")), "INVALID_INPUT");
      }
      await expectCode(Promise.resolve().then(() => holderDid(31337, "0x1234")), "INVALID_INPUT");
    });
  });

  describe("create and open", () => {
    it("creates one owner-only wallet file with the key encrypted under the PIN", async () => {
      const wallet = await newWallet(dir);
      const file = path.join(dir, "wallet.json");
      expect(wallet.did).to.equal(holderDid(CHAIN_ID, wallet.address));
      expect(wallet.did.startsWith("did:ethr:0x7a69:")).to.equal(true);
      expect((await stat(file)).mode & 0o777).to.equal(0o600);

      const json = (await fileJson(file)) as { format: string; version: number; body: WalletFileBody };
      expect(json.format).to.equal(WALLET_FORMAT);
      expect(json.version).to.equal(1);
      expect(json.body.meta).to.include({ chainId: "31337", address: wallet.address, did: wallet.did });
      expect(json.body.failedAttempts).to.equal(0);
      expect(json.body.keystore.crypto.kdf).to.equal("scrypt");
      const { privateKey } = await keyMaterial(file);
      expect(await readFile(file, "utf8")).not.to.include(privateKey.slice(2)); // only ever encrypted

      const reopened = await HolderWallet.open(file);
      expect(reopened.did).to.equal(wallet.did);
      expect(await reopened.status()).to.deep.include({ locked: false, failedAttempts: 0, attemptsLeft: 5, credential: undefined });
    });

    it("refuses a weak PIN before writing anything", async () => {
      const error = await expectCode(newWallet(dir, { pin: "123456" }), "WEAK_PIN");
      expect(error.details).to.deep.equal({ rule: "SEQUENCE" });
      await expectCode(HolderWallet.open(path.join(dir, "wallet.json")), "WALLET_NOT_FOUND");
    });

    it("refuses to overwrite an existing wallet unless re-activating", async () => {
      const first = await newWallet(dir);
      await expectCode(newWallet(dir), "WALLET_EXISTS");
      const second = await newWallet(dir, { replaceExisting: true });
      expect(second.did).not.to.equal(first.did);
      await expectCode(first.status(), "WALLET_NOT_FOUND"); // the old handle notices the replacement
    });

    it("uses scrypt N = 2^17 by default and refuses lower costs other than TEST_ONLY_SCRYPT", async function () {
      this.timeout(60_000);
      expect(PRODUCTION_SCRYPT.N).to.be.at.least(2 ** 17);
      await expectCode(Promise.resolve().then(() => resolveScryptCost({ ...TEST_ONLY_SCRYPT })), "INVALID_INPUT");
      await expectCode(Promise.resolve().then(() => resolveScryptCost({ N: 2 ** 16, r: 8, p: 1 })), "INVALID_INPUT");
      await expectCode(Promise.resolve().then(() => resolveScryptCost({ N: 3000, r: 8, p: 1 })), "INVALID_INPUT");
      expect(resolveScryptCost(TEST_ONLY_SCRYPT)).to.equal(TEST_ONLY_SCRYPT);
      const file = path.join(dir, "production.json");
      await HolderWallet.create(file, { pin: PIN, chainId: CHAIN_ID });
      expect((await fileJson(file)).body.keystore.crypto.kdfparams).to.include({ n: 2 ** 17, r: 8, p: 1 });
    });
  });

  describe("PIN attempts", () => {
    it("counts wrong PINs, reports attempts left and resets on the right PIN", async () => {
      const wallet = await newWallet(dir);
      expect((await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN")).details).to.deep.equal({ attemptsLeft: 4, failedAttempts: 1 });
      expect((await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN")).details).to.deep.equal({ attemptsLeft: 3, failedAttempts: 2 });
      expect((await wallet.status()).attemptsLeft).to.equal(3);
      await wallet.verifyPin(PIN);
      expect((await wallet.status()).failedAttempts).to.equal(0);
      expect((await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN")).details).to.deep.include({ attemptsLeft: 4 });
    });

    it("does not spend an attempt on a malformed PIN", async () => {
      const wallet = await newWallet(dir);
      await expectCode(wallet.verifyPin("12345"), "INVALID_INPUT");
      await expectCode(wallet.verifyPin("４８２９１５"), "INVALID_INPUT");
      expect((await wallet.status()).failedAttempts).to.equal(0);
    });

    it("keeps the counter in the file: a re-opened wallet continues where the last left off", async () => {
      const file = path.join(dir, "wallet.json");
      const wallet = await newWallet(dir);
      await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN");
      await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN");
      expect((await fileJson(file)).body.failedAttempts).to.equal(2);
      const reopened = await HolderWallet.open(file);
      expect((await expectCode(reopened.verifyPin(OTHER_PIN), "WRONG_PIN")).details).to.deep.include({ attemptsLeft: 2 });
    });

    it("charges the attempt before trying the PIN: killing the process mid-attempt does not give it back", async function () {
      this.timeout(60_000);
      const file = path.join(dir, "slow.json");
      await HolderWallet.create(file, { pin: PIN, chainId: CHAIN_ID }); // production scrypt: an attempt takes long enough to kill
      const script = path.join(dir, "attempt.mjs");
      const walletModule = pathToFileURL(path.join(repoRoot, "sdk/wallet/index.ts")).href;
      await writeFile(
        script,
        `const { HolderWallet } = await import(${JSON.stringify(walletModule)});
         const wallet = await HolderWallet.open(${JSON.stringify(file)});
         await wallet.verifyPin(${JSON.stringify(OTHER_PIN)}).catch(() => undefined);
         process.stdout.write("settled");`,
      );
      const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));

      const deadline = Date.now() + 30_000;
      for (;;) {
        const failed = await readFile(file, "utf8").then((text) => parseWallet(text).failedAttempts, () => 0);
        if (failed === 1) break;
        expect(child.exitCode, output).to.equal(null);
        expect(Date.now()).to.be.below(deadline);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill("SIGKILL");
      expect(await exited).to.equal("SIGKILL");
      expect(output).not.to.include("settled"); // it really died during the attempt

      const reopened = await HolderWallet.open(file);
      expect((await reopened.status()).failedAttempts).to.equal(1);
    });

    it(`locks after ${MAX_FAILED_ATTEMPTS} wrong PINs and destroys the key and credential in the file`, async () => {
      const file = path.join(dir, "wallet.json");
      const wallet = await newWallet(dir);
      const credential = await issueCredential(testIssuer(), wallet, { credentialId: idOf(42n) });
      await wallet.storeCredential(credential);
      const material = await keyMaterial(file);

      for (let left = 4; left >= 1; left--) {
        expect((await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN")).details).to.deep.include({ attemptsLeft: left });
      }
      const locked = await expectCode(wallet.verifyPin(OTHER_PIN), "WALLET_LOCKED");
      expect(locked.details).to.include({ reason: "PIN_LOCKOUT", credentialStatusId: statusIdOf(idOf(42n)) });

      const text = await readFile(file, "utf8");
      for (const secret of [material.ciphertext, material.mac, material.salt, material.privateKey.slice(2), credential]) {
        expect(text).not.to.include(secret);
      }
      const { body } = await fileJson(file);
      expect(body).to.deep.include({ keystore: null, credential: null, failedAttempts: 5 });
      expect(body.meta).to.include({ did: wallet.did });
      expect(body.lockout).to.include({ reason: "PIN_LOCKOUT" });

      // The right PIN no longer helps, nor does re-opening; everything that needs the key refuses.
      await expectCode(wallet.verifyPin(PIN), "WALLET_LOCKED");
      const reopened = await HolderWallet.open(file);
      expect(await reopened.status()).to.deep.include({ locked: true, attemptsLeft: 0 });
      expect((await reopened.status()).credential).to.deep.equal({ digest: undefined, statusId: statusIdOf(idOf(42n)), expiresAt: undefined });
      await expectCode(reopened.createPresentation({ pin: PIN, challenge: "c", audience: "did:web:verifier" }), "WALLET_LOCKED");
      await expectCode(reopened.signDocument({ pin: PIN, document: new Uint8Array([1]) }), "WALLET_LOCKED");
      await expectCode(reopened.storeCredential(credential), "WALLET_LOCKED");
      await expectCode(reopened.credential(), "WALLET_LOCKED");
      await expectCode(reopened.changePin(PIN, OTHER_PIN), "WALLET_LOCKED");

      // Only re-activation recovers: a new key, a new DID.
      const fresh = await newWallet(dir, { replaceExisting: true });
      expect(fresh.did).not.to.equal(wallet.did);
      await fresh.verifyPin(PIN);
    });

    it("serialises concurrent attempts: of seven at once, four are WRONG_PIN and the rest find it locked", async () => {
      const wallet = await newWallet(dir);
      const results = await Promise.allSettled(Array.from({ length: 7 }, () => wallet.verifyPin(OTHER_PIN)));
      const codes = results.map((r) => (r.status === "rejected" ? (r.reason as { code: string }).code : "ok"));
      expect(codes).to.deep.equal(["WRONG_PIN", "WRONG_PIN", "WRONG_PIN", "WRONG_PIN", "WALLET_LOCKED", "WALLET_LOCKED", "WALLET_LOCKED"]);
    });

    it("completes a lockout that a crash interrupted (counter at the limit, key still in the file)", async () => {
      const file = path.join(dir, "wallet.json");
      await newWallet(dir);
      const state = parseWallet(await readFile(file, "utf8"));
      await writeFile(file, serializeWallet({ ...state, failedAttempts: MAX_FAILED_ATTEMPTS }));
      const wallet = await HolderWallet.open(file);
      expect((await wallet.status()).locked).to.equal(true);
      expect((await fileJson(file)).body.keystore).to.equal(null);
    });

    it("changes the PIN: the old one stops working, the new one must pass the policy", async () => {
      const wallet = await newWallet(dir);
      const weak = await expectCode(wallet.changePin(PIN, "111111"), "WEAK_PIN");
      expect(weak.details).to.deep.equal({ rule: "SAME_DIGIT" });
      expect((await wallet.status()).failedAttempts).to.equal(0);
      await expectCode(wallet.changePin(OTHER_PIN, "615204"), "WRONG_PIN");
      await wallet.changePin(PIN, OTHER_PIN);
      await expectCode(wallet.verifyPin(PIN), "WRONG_PIN");
      await wallet.verifyPin(OTHER_PIN);
      expect((await wallet.status()).failedAttempts).to.equal(0);
    });
  });

  describe("damaged wallet files", () => {
    async function expectCorruptWithoutLeak(file: string, secrets: string[]): Promise<void> {
      const error = await expectCode(HolderWallet.open(file), "WALLET_CORRUPT");
      const reported = [error.message, JSON.stringify(error.details ?? {}), String((error as { cause?: unknown }).cause ?? ""), error.stack ?? ""].join("\n");
      for (const secret of secrets) expect(reported).not.to.include(secret);
    }

    it("reports truncation, garbage, bit flips and foreign files as WALLET_CORRUPT without leaking key material", async () => {
      const file = path.join(dir, "wallet.json");
      await newWallet(dir);
      const original = await readFile(file, "utf8");
      const { privateKey, ciphertext, mac } = await keyMaterial(file);
      const secrets = [privateKey.slice(2), ciphertext, mac, ciphertext.slice(0, 16)];

      const variants: Record<string, string> = {
        truncated: original.slice(0, Math.floor(original.length * 0.6)),
        truncatedInsideCiphertext: original.slice(0, original.indexOf(ciphertext) + 20),
        empty: "",
        bitFlipInCiphertext: original.replace(ciphertext, (ciphertext[0] === "a" ? "b" : "a") + ciphertext.slice(1)),
        counterReset: original.replace('"failedAttempts": 0', '"failedAttempts": -1'),
        otherFormat: original.replace(WALLET_FORMAT, "something-else"),
        futureVersion: original.replace('"version": 1', '"version": 2'),
        notJson: `{"keystore": ${JSON.stringify(ciphertext)}, oops`,
      };
      for (const [name, text] of Object.entries(variants)) {
        await writeFile(file, text);
        try {
          await expectCorruptWithoutLeak(file, secrets);
        } catch (error) {
          throw new Error(`variant ${name}: ${(error as Error).message}`, { cause: error });
        }
      }
      await writeFile(file, Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
      await expectCorruptWithoutLeak(file, secrets);
    });

    it("does not count a keystore that decrypts to another key as a wrong PIN", async () => {
      // A consistent file (checksum valid) whose keystore IV was altered: the MAC still matches the right PIN,
      // but decryption yields a different key. The PIN is not at fault, so the attempt is given back.
      const file = path.join(dir, "wallet.json");
      const wallet = await newWallet(dir);
      const state = parseWallet(await readFile(file, "utf8"));
      const crypto = state.keystore!.crypto as unknown as { cipherparams: { iv: string } };
      crypto.cipherparams.iv = crypto.cipherparams.iv.startsWith("00") ? `11${crypto.cipherparams.iv.slice(2)}` : `00${crypto.cipherparams.iv.slice(2)}`;
      await writeFile(file, serializeWallet(state));
      await expectCode(wallet.verifyPin(PIN), "WALLET_CORRUPT");
      expect((await wallet.status()).failedAttempts).to.equal(0);
      await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN"); // a wrong PIN is still a wrong PIN
    });

    it("does not count a damaged file as wrong PINs", async () => {
      const file = path.join(dir, "wallet.json");
      const wallet = await newWallet(dir);
      const { ciphertext } = await keyMaterial(file);
      const original = await readFile(file, "utf8");
      await writeFile(file, original.replace(ciphertext, "0".repeat(64)));
      for (let i = 0; i < MAX_FAILED_ATTEMPTS + 1; i++) await expectCode(wallet.verifyPin(PIN), "WALLET_CORRUPT");
      await writeFile(file, original);
      expect((await wallet.status()).failedAttempts).to.equal(0);
      await wallet.verifyPin(PIN);
    });
  });

  describe("biometric gate", () => {
    it("requires the gate's approval as well as the PIN for using the key; a refusal spends no PIN attempt", async () => {
      const gate = new ScriptedGate(false);
      const wallet = await newWallet(dir, { biometricGate: gate });
      await wallet.storeCredential(await issueCredential(testIssuer(), wallet));
      await expectCode(wallet.createPresentation({ pin: PIN, challenge: "n-1", audience: "did:web:gate.example" }), "BIOMETRIC_REFUSED");
      await expectCode(wallet.signDocument({ pin: PIN, document: new Uint8Array([1, 2]), purpose: "결재" }), "BIOMETRIC_REFUSED");
      await expectCode(wallet.changePin(PIN, OTHER_PIN), "BIOMETRIC_REFUSED");
      gate.answer = new Error("sensor unavailable");
      await expectCode(wallet.createPresentation({ pin: PIN, challenge: "n-1", audience: "did:web:gate.example" }), "BIOMETRIC_REFUSED");
      expect((await wallet.status()).failedAttempts).to.equal(0);
      expect(gate.reasons[0]).to.include("did:web:gate.example");
      expect(gate.reasons[1]).to.include("결재");

      gate.answer = true;
      await wallet.createPresentation({ pin: PIN, challenge: "n-2", audience: "did:web:gate.example" });
      // The gate is a second factor, not a replacement for the PIN.
      await expectCode(wallet.createPresentation({ pin: OTHER_PIN, challenge: "n-3", audience: "did:web:gate.example" }), "WRONG_PIN");
    });

    it("gates verifyPin too: without the holder's biometrics a thief has no PIN oracle and cannot wipe the key", async () => {
      const gate = new ScriptedGate(false);
      const wallet = await newWallet(dir, { biometricGate: gate });
      for (let i = 0; i < MAX_FAILED_ATTEMPTS + 2; i++) await expectCode(wallet.verifyPin(OTHER_PIN), "BIOMETRIC_REFUSED");
      await expectCode(wallet.verifyPin(PIN), "BIOMETRIC_REFUSED");
      expect(await wallet.status()).to.include({ locked: false, failedAttempts: 0 });
      expect(gate.reasons).to.have.length(MAX_FAILED_ATTEMPTS + 3);
      gate.answer = true;
      await expectCode(wallet.verifyPin(OTHER_PIN), "WRONG_PIN");
      await wallet.verifyPin(PIN);
      expect((await wallet.status()).failedAttempts).to.equal(0);
    });

    it("is not asked when the request cannot succeed anyway", async () => {
      const gate = new ScriptedGate(true);
      const wallet = await newWallet(dir, { biometricGate: gate });
      await expectCode(wallet.createPresentation({ pin: PIN, challenge: "n", audience: "did:web:v" }), "NO_CREDENTIAL");
      await wallet.storeCredential(await issueCredential(testIssuer(), wallet));
      await expectCode(wallet.createPresentation({ pin: PIN, challenge: "", audience: "did:web:v" }), "INVALID_INPUT");
      await expectCode(wallet.createPresentation({ pin: "1234", challenge: "n", audience: "did:web:v" }), "INVALID_INPUT");
      expect(gate.reasons).to.deep.equal([]);
    });
  });

  describe("credential", () => {
    it("holds exactly one credential: storing a new one replaces the previous", async () => {
      const file = path.join(dir, "wallet.json");
      const wallet = await newWallet(dir);
      const issuer = testIssuer();
      const first = await issueCredential(issuer, wallet, { credentialId: idOf(1n) });
      const second = await issueCredential(issuer, wallet, { credentialId: idOf(2n) });
      const info = await wallet.storeCredential(first);
      expect(info).to.include({ statusId: statusIdOf(idOf(1n)), issuer: issuer.did });
      expect(await wallet.credential()).to.equal(first);
      await wallet.storeCredential(second);
      expect(await wallet.credential()).to.equal(second);
      const text = await readFile(file, "utf8");
      expect(text).to.include(second);
      expect(text).not.to.include(first);
      expect((await (await HolderWallet.open(file)).status()).credential?.statusId).to.equal(statusIdOf(idOf(2n)));
    });

    it("refuses credentials for someone else, and subject spellings every verifier refuses (one DID, one spelling)", async () => {
      const wallet = await newWallet(dir);
      const issuer = testIssuer();
      const stranger = Wallet.createRandom();
      const mismatch = await expectCode(wallet.storeCredential(await issueCredential(issuer, stranger)), "CREDENTIAL_SUBJECT_MISMATCH");
      expect(mismatch.details).to.deep.include({ subject: holderDid(CHAIN_ID, stranger.address) });
      const good = await issueCredential(issuer, wallet);
      const respelled = (sub: string) => {
        const [h, p, sig] = good.split(".") as [string, string, string];
        const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
        return `${h}.${Buffer.from(JSON.stringify({ ...payload, sub })).toString("base64url")}.${sig}`;
      };
      for (const sub of [`did:ethr:0x7a69:${wallet.address.toLowerCase()}`, `did:ethr:31337:${wallet.address}`, `did:ethr:0x07a69:${wallet.address}`, holderDid(1, wallet.address)]) {
        const refused = await expectCode(wallet.storeCredential(respelled(sub)), "MALFORMED_JWT");
        expect(refused.details?.reason, sub).to.be.oneOf(["BAD_SUBJECT", "CHAIN_MISMATCH", "DEVICE_KEY_NOT_OF_SUBJECT"]);
      }
      expect(await wallet.credential()).to.equal(undefined);
    });

    it("refuses what is not a signed, unexpired VC JWT", async () => {
      const wallet = await newWallet(dir);
      const good = await issueCredential(testIssuer(), wallet);
      const [header, payload] = good.split(".");
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const noVc = `${header}.${b64({ iss: "did:ethr:0x7a69:0x0", sub: wallet.did })}.c2ln`;
      const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${payload}.`;
      await expectCode(wallet.storeCredential("not a jwt"), "MALFORMED_JWT");
      await expectCode(wallet.storeCredential(noVc), "MALFORMED_JWT");
      await expectCode(wallet.storeCredential(unsigned), "MALFORMED_JWT");
      await expectCode(wallet.storeCredential("a".repeat(70_000)), "MALFORMED_JWT");
      await expectCode(wallet.storeCredential(await issueCredential(testIssuer(), wallet, { expiresInSeconds: -60 })), "INVALID_INPUT");
      expect(await wallet.credential()).to.equal(undefined);
    });
  });
});
