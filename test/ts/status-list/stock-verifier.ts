/**
 * An independent, unmodified peer verifier: did-jwt, did-resolver and @sd-jwt/jwt-status-list only (no import from
 * our SDK). It checks a credential's signature against its issuer's DID, reads the standard `status.status_list`
 * claim, fetches the list through `lists` (HTTP, or a bundle held offline), checks the list's signature and subject,
 * and answers by the entry's status. Shared by the interop suite and the issuer service's status-claim test.
 */
import { verifyJWT } from "did-jwt";
import type { Resolver } from "did-resolver";
import { getListFromStatusListJWT, getStatusListFromJWT } from "@sd-jwt/jwt-status-list";

export type Verdict = "accept" | `refuse: ${string}`;

/** The peer: stock libraries only. `lists` resolves a status list URI (HTTP fetch, or a bundle held offline). */
export async function stockVerifier(credential: string, resolver: Resolver, lists: (uri: string) => Promise<string>): Promise<Verdict> {
  let issuer: string;
  try {
    issuer = (await verifyJWT(credential, { resolver, policies: { aud: false } })).issuer;
  } catch (error) {
    return `refuse: credential signature (${String(error)})`;
  }
  const { idx, uri } = getStatusListFromJWT(credential);
  const listJwt = await lists(uri);
  try {
    const list = await verifyJWT(listJwt, { resolver, policies: { aud: false } });
    if (list.issuer !== issuer) return "refuse: the status list is not signed by the credential's issuer";
    if (list.payload.sub !== uri) return "refuse: the status list is another one";
    const header = JSON.parse(Buffer.from(listJwt.split(".")[0]!, "base64url").toString("utf8")) as { typ?: string };
    if (header.typ !== "statuslist+jwt") return "refuse: not a status list token";
  } catch (error) {
    return `refuse: status list signature (${String(error)})`;
  }
  const status = getListFromStatusListJWT(listJwt).getStatus(idx);
  return status === 0 ? "accept" : `refuse: status ${status}`;
}
