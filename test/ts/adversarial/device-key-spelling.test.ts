/**
 * One device key, one spelling: a JWK coordinate is 32 bytes in 43 base64url characters, whose last character has
 * 2 unused bits that decoders ignore. Written with those bits set, the same key would get a second did:jwk (one
 * holder split in two, and the issuer's "this device key was already used" check evaded) and a second binding
 * digest. Every form of the key — did:jwk, device JWK of either curve, the credential's attested key — refuses it.
 * The credential id in `credentialStatus` likewise has one decimal spelling (the one `jti` and `id` carry).
 */
import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import { Wallet } from "ethers";
import { CivilIdError } from "../../../sdk/errors.js";
import { didJwkFor, parseDidJwk, tryParseDidJwk } from "../../../sdk/did/jwk.js";
import { parseHolderDid } from "../../../sdk/did/holder.js";
import { checkDeviceKeyJwk, credentialRefusalReason, deviceKeyJwk, p256DeviceKeyJwk, parseCredentialJwt } from "../../../sdk/credential/index.js";
import { credentialPayload, signJws } from "../helpers/forge.js";
import { claimsFor } from "../helpers/world.js";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import { CENTRAL_AGENCY } from "../helpers/fixture.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same 32 bytes with an unused bit of the 43rd character set. */
function respelt(coordinate: string): string {
  const twin = coordinate.slice(0, -1) + ALPHABET[ALPHABET.indexOf(coordinate[42]!) | 1];
  expect(Buffer.from(twin, "base64url").equals(Buffer.from(coordinate, "base64url"))).to.equal(true);
  expect(twin).to.not.equal(coordinate);
  return twin;
}

function refusedWith(fn: () => unknown, code: string): CivilIdError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CivilIdError);
    expect((error as CivilIdError).code).to.equal(code);
    return error as CivilIdError;
  }
  throw new Error(`expected ${code}`);
}

describe("adversarial: one device key, one credential id, one spelling", function () {
  const p256 = p256DeviceKeyJwk(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey);
  const holder = Wallet.createRandom();
  const k1 = deviceKeyJwk(holder.signingKey.publicKey);

  it("a did:jwk whose x is respelt names no key (the canonical one still parses)", () => {
    const did = didJwkFor(p256);
    expect(tryParseDidJwk(did)).to.deep.equal(p256);
    for (const twin of [{ ...p256, x: respelt(p256.x) }, { ...p256, y: respelt(p256.y) }]) {
      const twinDid = `did:jwk:${Buffer.from(JSON.stringify({ crv: "P-256", kty: "EC", x: twin.x, y: twin.y })).toString("base64url")}`;
      expect(tryParseDidJwk(twinDid), "a second DID for the same key").to.equal(undefined);
      expect(parseHolderDid(twinDid)).to.equal(undefined);
      refusedWith(() => parseDidJwk(twinDid), "INVALID_INPUT");
      refusedWith(() => didJwkFor(twin), "INVALID_INPUT");
    }
  });

  it("device JWKs of both curves with a respelt coordinate are refused INVALID_INPUT", () => {
    expect(checkDeviceKeyJwk(p256)).to.deep.equal(p256);
    expect(checkDeviceKeyJwk(k1)).to.deep.equal(k1);
    for (const twin of [{ ...p256, x: respelt(p256.x) }, { ...p256, y: respelt(p256.y) }, { ...k1, x: respelt(k1.x) }, { ...k1, y: respelt(k1.y) }]) {
      refusedWith(() => checkDeviceKeyJwk(twin), "INVALID_INPUT");
    }
  });

  it("a credential attesting the holder's key with a respelt coordinate is refused BAD_DEVICE_KEY by the one parser", async () => {
    const issuer = Wallet.createRandom();
    const spec = {
      chainId: 31337, statusRegistry: Wallet.createRandom().address, credentialId: makeCredentialId(CENTRAL_AGENCY, 1n), holder,
      issuerAddress: issuer.address, claims: claimsFor("홍길동"), iat: 1_800_000_000, nbf: 1_800_000_000, exp: 1_900_000_000,
    };
    const good = credentialPayload(spec);
    expect(parseCredentialJwt(await signJws({ alg: "ES256K", typ: "JWT" }, good, issuer.privateKey)).deviceKey).to.deep.equal(k1);
    const vc = good.vc as { credentialSubject: Record<string, unknown> };
    const twin = { ...good, vc: { ...vc, credentialSubject: { ...vc.credentialSubject, deviceKey: { ...k1, x: respelt(k1.x) } } } };
    const signed = await signJws({ alg: "ES256K", typ: "JWT" }, twin, issuer.privateKey);
    const error = refusedWith(() => parseCredentialJwt(signed), "MALFORMED_JWT");
    expect(credentialRefusalReason(error)).to.equal("BAD_DEVICE_KEY");
  });

  it("a credential naming its id in another decimal spelling (leading zero, spaces, a number) is refused BAD_STATUS", async () => {
    const issuer = Wallet.createRandom();
    const good = credentialPayload({
      chainId: 31337, statusRegistry: Wallet.createRandom().address, credentialId: makeCredentialId(CENTRAL_AGENCY, 7n), holder,
      issuerAddress: issuer.address, claims: claimsFor("홍길동"), iat: 1_800_000_000, nbf: 1_800_000_000, exp: 1_900_000_000,
    });
    const vc = good.vc as { credentialStatus: { credentialId: string } };
    const id = vc.credentialStatus.credentialId;
    expect(parseCredentialJwt(await signJws({ alg: "ES256K", typ: "JWT" }, good, issuer.privateKey)).credentialId.toString()).to.equal(id);
    for (const spelling of [`0${id}`, ` ${id}`, `${id} `, `${id}\n`, Number(id)] as unknown[]) {
      const twin = { ...good, vc: { ...vc, credentialStatus: { ...vc.credentialStatus, credentialId: spelling } } };
      const signed = await signJws({ alg: "ES256K", typ: "JWT" }, twin, issuer.privateKey);
      expect(credentialRefusalReason(refusedWith(() => parseCredentialJwt(signed), "MALFORMED_JWT")), JSON.stringify(spelling)).to.equal("BAD_STATUS");
    }
  });
});
