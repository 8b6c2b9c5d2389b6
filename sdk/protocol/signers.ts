/** JWS signers over device keys: ES256K with an ethers SigningKey, ES256 with a P-256 KeyObject (OpenSSL). */
import { sign as cryptoSign, type KeyObject } from "node:crypto";
import { SigningKey, getBytes, sha256 } from "ethers";
import type { JwsSigner } from "../credential/jws.js";
import { algorithmOfKey } from "../credential/jws-verify.js";

/** An ES256K signer (RFC 8812) for a secp256k1 key: low-s r‖s over SHA-256 of the signing input. */
export function es256kSigner(key: SigningKey | string): JwsSigner {
  const signing = typeof key === "string" ? new SigningKey(key) : key;
  return {
    alg: "ES256K",
    sign: (input) => {
      const sig = signing.sign(sha256(input));
      return Promise.resolve(getBytes(sig.r + sig.s.slice(2)));
    },
  };
}

/** An ES256 signer for a P-256 private KeyObject (e.g. from the platform keystore); {@link signJws} makes s low. */
export function es256Signer(privateKey: KeyObject): JwsSigner {
  if (privateKey.type !== "private" || algorithmOfKey(privateKey) !== "ES256") throw new TypeError("es256Signer needs a P-256 private key.");
  return { alg: "ES256", sign: (input) => Promise.resolve(cryptoSign("sha256", input, { key: privateKey, dsaEncoding: "ieee-p1363" })) };
}
