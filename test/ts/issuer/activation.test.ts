import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { SigningKey, Wallet } from "ethers";
import { activationMessage, checkActivationInput, checkPossessionProof, ACTIVATION_PREFIX } from "../../../sdk/protocol/activation.js";
import { HrOtpIdentityVerifier } from "../../../sdk/issuer/identity.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { isCivilIdError } from "../../../sdk/errors.js";

const CHALLENGE = { chainId: 31337, requestId: "e-saram:REQ-1", challenge: "0x" + "ab".repeat(32) };

describe("issuer/activation: proof of possession of the device key", () => {
  const device = Wallet.createRandom();
  const did = didForAddress(CHALLENGE.chainId, device.address);

  it("accepts the device's signature over the activation message and returns the uncompressed key", async () => {
    const message = activationMessage(CHALLENGE, did);
    expect(message.split("\n")).to.deep.equal([
      ACTIVATION_PREFIX, "chain: 31337", "request: e-saram:REQ-1", `subject: ${did}`, `challenge: ${CHALLENGE.challenge}`,
    ]);
    const signature = await device.signMessage(message);
    const compressed = SigningKey.computePublicKey(device.signingKey.publicKey, true);
    expect(checkPossessionProof(CHALLENGE, did, compressed, signature)).to.deep.equal({
      failure: null, publicKey: device.signingKey.publicKey, address: device.address,
    });
  });

  it("names each reason for refusing a proof", async () => {
    const signature = await device.signMessage(activationMessage(CHALLENGE, did));
    const key = device.signingKey.publicKey;
    const other = Wallet.createRandom();
    const failure = (c: typeof CHALLENGE, d: unknown, k: unknown, s: unknown) => {
      const result = checkPossessionProof(c, d, k, s);
      return result.failure;
    };
    expect(failure(CHALLENGE, "did:web:example.org", key, signature)).to.equal("MALFORMED_DID");
    expect(failure(CHALLENGE, didForAddress(1, device.address), key, signature)).to.equal("WRONG_CHAIN");
    expect(failure(CHALLENGE, did, "0x1234", signature)).to.equal("MALFORMED_PUBLIC_KEY");
    expect(failure(CHALLENGE, did, 42, signature)).to.equal("MALFORMED_PUBLIC_KEY");
    expect(failure(CHALLENGE, did, other.signingKey.publicKey, signature)).to.equal("KEY_NOT_OF_DID");
    expect(failure(CHALLENGE, did, key, "0x1234")).to.equal("BAD_SIGNATURE");
    expect(failure(CHALLENGE, did, key, await other.signMessage(activationMessage(CHALLENGE, did)))).to.equal("BAD_SIGNATURE");
    // A signature for another request, challenge or subject does not carry over.
    expect(failure({ ...CHALLENGE, requestId: "e-saram:REQ-2" }, did, key, signature)).to.equal("BAD_SIGNATURE");
    expect(failure({ ...CHALLENGE, challenge: "0x" + "cd".repeat(32) }, did, key, signature)).to.equal("BAD_SIGNATURE");
    expect(failure(CHALLENGE, did, key, "0x" + "00".repeat(65))).to.equal("BAD_SIGNATURE");
  });

  it("refuses a malformed link token or activation code before any look-up", () => {
    const token = randomBytes(32).toString("base64url");
    expect(checkActivationInput(token, " 12345678 ")).to.deep.equal({ token, code: "12345678" });
    for (const [t, c, code] of [
      ["short", "12345678", "INVITATION_INVALID"],
      [token + "=", "12345678", "INVITATION_INVALID"],
      [token, "12ab5678", "ACTIVATION_FAILED"],
      [token, 12345678, "ACTIVATION_FAILED"],
    ] as const) {
      let error: unknown;
      try {
        checkActivationInput(t, c);
      } catch (e) {
        error = e;
      }
      expect(isCivilIdError(error, code), `${t} / ${c}`).to.equal(true);
    }
  });
});

describe("issuer/identity: default HR record + SMS code verifier", () => {
  const key = new Uint8Array(randomBytes(32));
  const subject = { requestId: "e-saram:R1", name: "홍길동", employeeRef: "E-1", mobile: "+821012345678", agencyCode: 1741000, organisationName: "행정안전부" };

  it("stores only a keyed hash of the code and checks the HR record and the code", () => {
    const verifier = new HrOtpIdentityVerifier({ key, digits: 8, ttlSeconds: 120, maxAttempts: 3 });
    const session = verifier.begin(subject, 1000);
    expect(session).to.deep.include({ expiresAt: 121_000, maxAttempts: 3 });
    const code = /코드 ([0-9]{8}) \(2분 유효\)/.exec(session.sms!.body)![1]!;
    expect(session.sms!.redactedBody).to.include("********").and.not.include(code);
    expect(JSON.stringify(session.state)).not.to.include(code);
    expect(verifier.check(subject, session.state, { name: "홍 길동", employeeRef: "E-1", code })).to.deep.equal({ verified: true });
    expect(verifier.check(subject, session.state, { name: "홍길동", employeeRef: "E-2", code })).to.deep.equal({ verified: false, reason: "HR_RECORD_MISMATCH" });
    expect(verifier.check(subject, session.state, { name: "홍길동", employeeRef: "E-1", code: code.slice(0, 6) })).to.deep.equal({ verified: false, reason: "WRONG_CODE" });
    // The same code is not valid for another request or another session.
    expect(verifier.check({ ...subject, requestId: "e-saram:R2" }, session.state, { name: "홍길동", employeeRef: "E-1", code }).verified).to.equal(false);
    const next = verifier.begin(subject, 2000);
    expect(verifier.check(subject, next.state, { name: "홍길동", employeeRef: "E-1", code }).verified).to.equal(code === /코드 ([0-9]{8})/.exec(next.sms!.body)![1]);
    expect(() => verifier.check(subject, {}, { name: "홍길동", employeeRef: "E-1", code })).to.throw(/not from this verifier/);
  });

  it("refuses weak settings", () => {
    expect(() => new HrOtpIdentityVerifier({ key: new Uint8Array(16) })).to.throw(/at least 32 bytes/);
    expect(() => new HrOtpIdentityVerifier({ key, digits: 3 })).to.throw(/digits must be an integer in 4\.\.10/);
    expect(() => new HrOtpIdentityVerifier({ key, ttlSeconds: 7200 })).to.throw(/ttlSeconds/);
    expect(() => new HrOtpIdentityVerifier({ key, maxAttempts: 0 })).to.throw(/maxAttempts/);
  });
});
