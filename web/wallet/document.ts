/**
 * Signing a document with the ID: a detached signature JWT over the document's SHA-256, bound to the held
 * credential by its digest, in the format sdk/protocol/document-signature.ts defines and its verifier checks
 * (`typ: civil-id-docsig+jwt`, `docsig` claims). The document never leaves the phone; only digests are signed.
 */
import { hex, sha256, signJws } from "./jws.js";

export const DOCUMENT_SIGNATURE_FORMAT = "mobile-civil-id/document-signature";
const MAX_PURPOSE_LENGTH = 256;

export interface DocumentSignatureFile {
  readonly format: typeof DOCUMENT_SIGNATURE_FORMAT;
  readonly version: 1;
  readonly jwt: string;
  readonly credential: string;
}

export async function signDocument(input: { key: CryptoKey; did: string; credential: string; statusId: string | undefined; document: Uint8Array; purpose?: string }): Promise<DocumentSignatureFile> {
  const purpose = input.purpose?.trim() === "" ? undefined : input.purpose;
  if (purpose !== undefined && (purpose.length > MAX_PURPOSE_LENGTH || /\p{Cc}/u.test(purpose))) throw new Error(`The purpose is printable text of at most ${MAX_PURPOSE_LENGTH} characters.`);
  const claims = {
    v: 1,
    document: { alg: "sha-256", digest: hex(await sha256(input.document)), size: input.document.length },
    credential: { alg: "sha-256", digest: hex(await sha256(input.credential)), ...(input.statusId === undefined ? {} : { statusId: input.statusId }) },
    ...(purpose === undefined ? {} : { purpose }),
  };
  const jwt = await signJws(input.key, { typ: "civil-id-docsig+jwt" }, { iss: input.did, iat: Math.floor(Date.now() / 1000), docsig: claims });
  return { format: DOCUMENT_SIGNATURE_FORMAT, version: 1, jwt, credential: input.credential };
}
