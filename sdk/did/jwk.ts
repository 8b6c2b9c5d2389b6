/**
 * `did:jwk` for P-256 device keys (https://github.com/quartzjer/did-jwk): the DID is the key, `did:jwk:` +
 * base64url(UTF-8 JSON of the public JWK). Phones' secure hardware (Secure Enclave, StrongBox), WebCrypto and
 * WebAuthn make P-256 keys only; such a key has no Ethereum address, so its holder identifier is self-describing
 * and needs no registry.
 *
 * One spelling (jwk-format.ts, shared with the web wallet): a did:jwk with other members, a private key (`d`),
 * another curve or another member order is refused, so two strings never name the same key.
 */
import { createPublicKey } from "node:crypto";
import { CivilIdError, describeValue } from "../errors.js";
import { fromBase64url } from "../util/base64url.js";
import { formatDidJwk, p256JwkShape, type P256Jwk } from "./jwk-format.js";

export type { P256Jwk };
export { BASE64URL_32_BYTES } from "./jwk-format.js";

/** The canonical did:jwk of a P-256 public JWK (validated: a point on the curve). */
export function didJwkFor(jwk: P256Jwk): string {
  return formatDidJwk(checkP256Jwk(jwk));
}

/** Parses a canonical did:jwk naming a P-256 public key; INVALID_INPUT for anything else. */
export function parseDidJwk(did: unknown): P256Jwk {
  const jwk = tryParseDidJwk(did);
  if (jwk === undefined) throw new CivilIdError("INVALID_INPUT", `${describeValue(did)} is not a did:jwk of a P-256 public key in canonical form.`);
  return jwk;
}

/** {@link parseDidJwk} that answers undefined instead of throwing. */
export function tryParseDidJwk(did: unknown): P256Jwk | undefined {
  if (typeof did !== "string" || !/^did:jwk:[A-Za-z0-9_-]{1,400}$/.test(did)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64url(did.slice("did:jwk:".length))));
  } catch {
    return undefined;
  }
  let jwk: P256Jwk;
  try {
    jwk = checkP256Jwk(value);
  } catch {
    return undefined;
  }
  return didJwkFor(jwk) === did ? jwk : undefined;
}

/** Validates a P-256 public JWK (exact members, 32-byte coordinates, a point on the curve) and returns a clean copy. */
export function checkP256Jwk(value: unknown): P256Jwk {
  const jwk = p256JwkShape(value);
  if (jwk === undefined) throw new CivilIdError("INVALID_INPUT", "A P-256 key is a JWK with exactly kty \"EC\", crv \"P-256\" and 32-byte x and y.");
  try {
    createPublicKey({ key: { ...jwk }, format: "jwk" }); // OpenSSL refuses a point that is not on the curve
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", "The P-256 JWK is not a point on the curve.", { cause: error });
  }
  return jwk;
}
