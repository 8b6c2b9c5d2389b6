import { createHmac } from "node:crypto";
import { CivilIdError } from "../errors.js";

/**
 * The holder reference written on chain: HMAC-SHA256(consortium holder secret, national person identifier).
 * Keyed, so nobody without the secret can test a guess (a plain salted hash of a 7-digit employee number
 * would be brute-forced in seconds); the same for every organisation, so the one-device rule holds across
 * transfers between organisations. Never derived from names.
 */
export function holderReference(secret: Uint8Array, personId: string): string {
  if (secret.length < 32) throw new CivilIdError("INVALID_INPUT", "The holder-reference secret must be at least 32 bytes.");
  const id = personId.trim();
  if (id.length === 0 || id.length > 64) throw new CivilIdError("INVALID_INPUT", "The person identifier must be 1..64 characters.");
  return "0x" + createHmac("sha256", secret).update("mcid-holder-ref/v1\0").update(id, "utf8").digest("hex");
}
