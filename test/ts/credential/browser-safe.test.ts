import { expect } from "chai";
import fc from "fast-check";
import { generateKeyPairSync, webcrypto } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as esbuild from "esbuild";
import { SigningKey, Wallet } from "ethers";
import { deviceKeyJwk } from "../../../sdk/credential/device-key.js";
import type { JwsSigner } from "../../../sdk/credential/jws.js";
import { decodeJws, signJws } from "../../../sdk/credential/jws.js";
import { importPublicJwk, verifyJwsSignature } from "../../../sdk/credential/jws-verify.js";
import { didJwkFor } from "../../../sdk/did/jwk.js";
import { signDocumentJwt } from "../../../sdk/protocol/document-signature.js";
import { signPresentation } from "../../../sdk/protocol/presentation.js";
import { es256Signer, es256kSigner } from "../../../sdk/protocol/signers.js";
import { fromBase64url, toBase64url } from "../../../sdk/util/base64url.js";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The SDK's browser-safe builders as the web wallet bundles them, run where there is no Node (no process, no Buffer). */
interface BrowserSdk {
  toBase64url(data: Uint8Array | string): string;
  fromBase64url(text: string): Uint8Array;
  signJws: typeof signJws;
  signPresentation: typeof signPresentation;
  signDocumentJwt: typeof signDocumentJwt;
  formatDidJwk(jwk: { kty: "EC"; crv: "P-256"; x: string; y: string }): string;
  /** Bytes of the page's own realm (the SDK checks `instanceof Uint8Array`, which is per realm). */
  bytes(values: Uint8Array): Uint8Array;
}

async function browserSdk(): Promise<BrowserSdk> {
  const entry = [
    'export { toBase64url, fromBase64url } from "./sdk/util/base64url.ts";',
    'export { signJws } from "./sdk/credential/jws.ts";',
    'export { signPresentation } from "./sdk/protocol/presentation.ts";',
    'export { signDocumentJwt } from "./sdk/protocol/document-signature.ts";',
    'export { formatDidJwk } from "./sdk/did/jwk-format.ts";',
    "export const bytes = (values) => Uint8Array.from(values);",
  ].join("\n");
  const built = await esbuild.build({
    stdin: { contents: entry, resolveDir: ROOT, loader: "ts" }, bundle: true, platform: "browser", format: "iife", globalName: "sdk",
    target: "es2022", write: false, logLevel: "silent",
  });
  // Web APIs only: what a page has, and nothing of Node's.
  const context = vm.createContext({ TextEncoder, TextDecoder, btoa, atob, crypto: webcrypto, console });
  vm.runInContext("globalThis.self = globalThis;", context); // a page's global is `self` (ethers looks for it)
  vm.runInContext(built.outputFiles[0]!.text, context);
  expect(vm.runInContext("typeof process === 'undefined' && typeof Buffer === 'undefined'", context)).to.equal(true);
  return (context as unknown as { sdk: BrowserSdk }).sdk;
}

/** The web wallet's signer shape: a non-extractable WebCrypto P-256 key (raw r‖s, any s). */
async function webCryptoDevice(): Promise<{ signer: JwsSigner; jwk: { kty: "EC"; crv: "P-256"; x: string; y: string } }> {
  const pair = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const exported = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
  return {
    signer: { alg: "ES256", sign: async (input) => new Uint8Array(await webcrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, input as Uint8Array<ArrayBuffer>)) },
    jwk: { kty: "EC", crv: "P-256", x: exported.x!, y: exported.y! },
  };
}

describe("the SDK's JWS building is browser-safe: one copy for Node and the web wallet", function () {
  let web: BrowserSdk;
  before(async function () {
    this.timeout(60_000);
    web = await browserSdk();
  });

  it("base64url without Node (btoa/atob) gives Node's bytes and text, dangling characters included", function () {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = Buffer.from(bytes).toString("base64url");
        expect(web.toBase64url(bytes)).to.equal(text);
        expect(toBase64url(bytes)).to.equal(text);
        expect([...web.fromBase64url(text)]).to.deep.equal([...bytes]);
        expect([...fromBase64url(text)]).to.deep.equal([...bytes]);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{0,80}$/), (text) => {
        expect([...web.fromBase64url(text)]).to.deep.equal([...Buffer.from(text, "base64url")]);
      }),
    );
    expect(web.toBase64url("모바일 공무원증")).to.equal(Buffer.from("모바일 공무원증", "utf8").toString("base64url"));
  });

  it("a presentation and a document signature built in the page are the tokens Node builds, to the byte", async function () {
    const key = new SigningKey(Wallet.createRandom().privateKey); // RFC 6979: the same signature for the same input
    const holder = `did:ethr:0x7a69:${new Wallet(key.privateKey).address}`;
    const presentation = { holder, credential: "eyJhbGciOiJFUzI1NksifQ.e30.c2ln", challenge: "nonce-1", audience: "did:ethr:0x7a69:0x00000000000000000000000000000000000000aa", now: 1_767_225_600 };
    expect(await web.signPresentation({ ...presentation, signer: es256kSigner(key) })).to.equal(await signPresentation({ ...presentation, signer: es256kSigner(key) }));
    const document = new TextEncoder().encode("결재 문서 본문");
    const signing = { signerDid: holder, credential: presentation.credential, credentialStatusId: "urn:status:1", purpose: "결재", now: 1_767_225_600 };
    const inPage = await web.signDocumentJwt({ ...signing, document: web.bytes(document), signer: es256kSigner(key) });
    expect(inPage.jwt).to.equal((await signDocumentJwt({ ...signing, document, signer: es256kSigner(key) })).jwt);
  });

  it("with the wallet's WebCrypto signer, the page's tokens are low-s and verify with OpenSSL against the did:jwk key", async function () {
    const device = await webCryptoDevice();
    expect(web.formatDidJwk(device.jwk)).to.equal(didJwkFor(device.jwk));
    const key = importPublicJwk(device.jwk);
    for (let i = 0; i < 8; i++) {
      // WebCrypto answers high-s about half the time: signJws must always hand out the low-s twin.
      const vp = await web.signPresentation({ holder: didJwkFor(device.jwk), signer: device.signer, credential: "a.b.c", challenge: `n-${i}`, audience: "gate", now: 1_767_225_600 });
      const decoded = decodeJws(vp, 10_000);
      expect(decoded.ok).to.equal(true);
      if (!decoded.ok) return;
      expect(decoded.jws.header).to.deep.equal({ typ: "JWT", alg: "ES256" });
      expect(verifyJwsSignature(decoded.jws, key, "ES256"), `signature ${i}`).to.equal(true);
    }
  });

  it("Node's own signers still build tokens OpenSSL verifies (ES256 with a KeyObject, ES256K with ethers)", async function () {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const es256 = decodeJws(await signJws({ typ: "JWT" }, { n: 1 }, es256Signer(privateKey)), 1_000);
    expect(es256.ok && verifyJwsSignature(es256.jws, publicKey, "ES256")).to.equal(true);
    const wallet = Wallet.createRandom();
    const es256k = decodeJws(await signJws({ typ: "JWT" }, { n: 1 }, es256kSigner(wallet.privateKey)), 1_000);
    expect(es256k.ok && verifyJwsSignature(es256k.jws, importPublicJwk(deviceKeyJwk(wallet.signingKey.publicKey)), "ES256K")).to.equal(true);
  });
});
