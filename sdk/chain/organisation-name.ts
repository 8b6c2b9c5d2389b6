/**
 * Organisation names as the IssuerRegistry records them (`setOrganisationName`, `organisationNameHash`): one rule for
 * governance (which sets them), the HR import (which refuses a row naming another organisation) and the verifier
 * (which refuses a credential whose organisation name is not the registry's for its agency code).
 *
 * Names are public (행정안전부, 서울특별시), not personal data: the registry stores the keccak256 of the name's UTF-8 in
 * Unicode NFC (one 32-byte slot, like every other field) and the `OrganisationNameSet` event carries the text itself.
 */
import { ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import { CivilIdError } from "../errors.js";

/** IssuerRegistry.MAX_ORGANISATION_NAME_BYTES. */
export const MAX_ORGANISATION_NAME_BYTES = 256;

/** Controls, format (bidi, zero-width), private-use, unassigned, surrogates, line/paragraph separators, ignorables. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/** The canonical spelling of an organisation name: NFC, trimmed, inner whitespace collapsed; INVALID_INPUT if unusable. */
export function normaliseOrganisationName(name: unknown): string {
  if (typeof name !== "string") throw new CivilIdError("INVALID_INPUT", "An organisation name must be text.");
  const text = name.normalize("NFC").trim().replace(/\s+/gu, " ");
  const bytes = toUtf8Bytes(text).length;
  if (bytes === 0 || bytes > MAX_ORGANISATION_NAME_BYTES) {
    throw new CivilIdError("INVALID_INPUT", `An organisation name must be 1..${MAX_ORGANISATION_NAME_BYTES} bytes of UTF-8 (got ${bytes}).`);
  }
  if (UNSAFE.test(text)) throw new CivilIdError("INVALID_INPUT", "An organisation name must not contain control, invisible or bidi characters.");
  return text;
}

/** keccak256 of the name's NFC UTF-8, as `IssuerRegistry.organisationNameHash` stores it (the text as given, unnormalised, never matches a differently composed one). */
export function organisationNameHash(name: string): string {
  return keccak256(toUtf8Bytes(name.normalize("NFC")));
}

/** Whether the registry's hash (ZeroHash: no name set) names exactly `name`. */
export function organisationNameMatches(registeredHash: string, name: string): boolean {
  return registeredHash !== ZeroHash && registeredHash.toLowerCase() === organisationNameHash(name);
}
