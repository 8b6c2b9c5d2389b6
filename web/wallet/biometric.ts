/**
 * Biometric unlock through WebAuthn: a platform authenticator credential made for this wallet's origin with user
 * verification required (fingerprint / face on a phone; Chromium's virtual authenticator in the tests). An unlock
 * is an assertion over a fresh challenge that this page checks itself: the client data (type, challenge, origin),
 * the authenticator data (RP id hash, user present + user verified flags) and the signature with the public key
 * kept at enrolment (WebCrypto; the DER signature is read by @noble/curves). When the authenticator supports the
 * PRF extension, the unlock also has to reproduce the authenticator's secret for the enrolment's salt.
 */
import { p256 } from "@noble/curves/p256";
import { CivilIdError } from "../../sdk/errors.js";
import { fromBase64url, toBase64url } from "../../sdk/util/base64url.js";
import type { BiometricEnrolment } from "./store.js";

const TIMEOUT_MS = 60_000;

async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function biometricsAvailable(): boolean {
  return typeof PublicKeyCredential !== "undefined" && typeof navigator.credentials?.create === "function";
}

const prfFirst = (results: AuthenticationExtensionsClientOutputs): Uint8Array | undefined => {
  const first = (results as { prf?: { results?: { first?: BufferSource } } }).prf?.results?.first;
  if (first === undefined) return undefined;
  return first instanceof ArrayBuffer ? new Uint8Array(first) : new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
};

/** Enrols the platform authenticator (after the PIN was checked by the caller). */
export async function enrolBiometric(holderLabel: string): Promise<BiometricEnrolment> {
  const prfSalt = crypto.getRandomValues(new Uint8Array(32));
  const credential = (await navigator.credentials.create({
    publicKey: {
      rp: { name: "모바일 공무원증 (mobile civil-servant ID)", id: location.hostname },
      user: { id: crypto.getRandomValues(new Uint8Array(16)), name: holderLabel, displayName: holderLabel },
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      authenticatorSelection: { authenticatorAttachment: "platform", userVerification: "required", residentKey: "discouraged" },
      timeout: TIMEOUT_MS,
      attestation: "none",
      extensions: { prf: { eval: { first: prfSalt } } },
    },
  })) as PublicKeyCredential | null;
  if (credential === null) throw new CivilIdError("BIOMETRIC_REFUSED", "Biometric enrolment was cancelled.");
  const response = credential.response as AuthenticatorAttestationResponse;
  const spki = response.getPublicKey();
  if (spki === null || response.getPublicKeyAlgorithm() !== -7) throw new CivilIdError("BIOMETRIC_REFUSED", "The authenticator did not make a P-256 (ES256) key.");
  const enrolment: BiometricEnrolment = { credentialId: toBase64url(new Uint8Array(credential.rawId)), publicKey: toBase64url(new Uint8Array(spki)) };
  const extensions = credential.getClientExtensionResults() as { prf?: { enabled?: boolean } };
  if (extensions.prf?.enabled !== true) return enrolment;
  // Some authenticators answer PRF only on assertions: take the secret once now, keep only its hash.
  const secret = await assertion(enrolment, prfSalt);
  return secret.prf === undefined ? enrolment : { ...enrolment, prf: { salt: toBase64url(prfSalt), check: toBase64url(await sha256(secret.prf)) } };
}

async function assertion(enrolment: BiometricEnrolment, prfSalt: Uint8Array | undefined): Promise<{ prf: Uint8Array | undefined }> {
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const credential = (await navigator.credentials.get({
    publicKey: {
      challenge,
      rpId: location.hostname,
      allowCredentials: [{ type: "public-key", id: fromBase64url(enrolment.credentialId) }],
      userVerification: "required",
      timeout: TIMEOUT_MS,
      ...(prfSalt === undefined ? {} : { extensions: { prf: { eval: { first: prfSalt } } } as AuthenticationExtensionsClientInputs }),
    },
  }).catch((error: unknown) => {
    // NotAllowedError: cancelled, timed out, or the authenticator could not verify the user.
    throw new CivilIdError("BIOMETRIC_REFUSED", `Biometric verification was refused or cancelled (${error instanceof Error ? error.name : "error"}); try again or use the PIN.`, { cause: error });
  })) as PublicKeyCredential | null;
  if (credential === null) throw new CivilIdError("BIOMETRIC_REFUSED", "Biometric verification was cancelled.");
  const response = credential.response as AuthenticatorAssertionResponse;
  const clientDataBytes = new Uint8Array(response.clientDataJSON);
  const clientData = JSON.parse(new TextDecoder().decode(clientDataBytes)) as { type?: string; challenge?: string; origin?: string };
  const refuse = (why: string): never => {
    throw new CivilIdError("BIOMETRIC_REFUSED", `Biometric verification failed: ${why}.`);
  };
  if (toBase64url(new Uint8Array(credential.rawId)) !== enrolment.credentialId) refuse("another authenticator answered");
  if (clientData.type !== "webauthn.get" || clientData.challenge !== toBase64url(challenge) || clientData.origin !== location.origin) refuse("the answer is not for this challenge");
  const authData = new Uint8Array(response.authenticatorData);
  const rpIdHash = await sha256(location.hostname);
  if (authData.length < 37 || !rpIdHash.every((b, i) => authData[i] === b)) refuse("the answer is for another site");
  const flags = authData[32]!;
  if ((flags & 0x01) === 0 || (flags & 0x04) === 0) refuse("the user was not verified");
  const signed = new Uint8Array(authData.length + 32);
  signed.set(authData);
  signed.set(await sha256(clientDataBytes), authData.length);
  const key = await crypto.subtle.importKey("spki", fromBase64url(enrolment.publicKey), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const raw = new Uint8Array(p256.Signature.fromDER(new Uint8Array(response.signature)).toCompactRawBytes());
  if (!(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, signed))) refuse("the signature does not verify");
  return { prf: prfFirst(credential.getClientExtensionResults()) };
}

/** One biometric unlock; throws BIOMETRIC_REFUSED unless the enrolled authenticator verified the holder. */
export async function verifyBiometric(enrolment: BiometricEnrolment): Promise<void> {
  const salt = enrolment.prf === undefined ? undefined : fromBase64url(enrolment.prf.salt);
  const { prf } = await assertion(enrolment, salt);
  if (enrolment.prf !== undefined) {
    if (prf === undefined || toBase64url(await sha256(prf)) !== enrolment.prf.check) {
      throw new CivilIdError("BIOMETRIC_REFUSED", "Biometric verification failed: the authenticator's secret does not match the enrolment.");
    }
  }
}
