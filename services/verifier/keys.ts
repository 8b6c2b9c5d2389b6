import { SigningKey, computeAddress, isHexString } from "ethers";
import { CivilIdError } from "../../sdk/errors.js";

/** Checks a verifier key (32-byte secp256k1 private key, hex) and returns the address the listing names. */
export function verifierSigningKey(privateKeyHex: string): { address: string } {
  if (!isHexString(privateKeyHex, 32)) throw new CivilIdError("INVALID_INPUT", "The verifier signing key must be a 0x-prefixed 32-byte hex private key.");
  return { address: computeAddress(new SigningKey(privateKeyHex).publicKey) };
}
