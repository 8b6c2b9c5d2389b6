/**
 * Use policies as DCQL queries (OpenID4VP 1.0 §6): one credential query for the mobile civil-servant ID in
 * `jwt_vc_json`, its type in `meta.type_values`, and exactly the claims the use discloses
 * (`["credentialSubject", <claim>]`). The dcql library checks the query's shape; this module adds the wallet's
 * rule that a query asks for nothing beyond its use.
 */
import { DcqlQuery } from "dcql";
import { CivilIdError } from "../errors.js";
import { CIVIL_SERVANT_ID_TYPE } from "../chain/codes.js";
import type { ClaimName, UsePolicy } from "../verifier/policies.js";

/** The id of the one credential query; the wallet's `vp_token` carries the presentation under it. */
export const CIVIL_ID_CREDENTIAL_QUERY_ID = "civil_servant_id";
export const CIVIL_ID_FORMAT = "jwt_vc_json";

const CLAIM_NAMES: readonly ClaimName[] = ["name", "agencyCode", "organisation", "department", "position", "employeeRef"];

/** The DCQL query of a use policy (validated by the dcql library before it is returned). */
export function dcqlQueryForPolicy(policy: UsePolicy): DcqlQuery.Input {
  const query = {
    credentials: [
      {
        id: CIVIL_ID_CREDENTIAL_QUERY_ID,
        format: CIVIL_ID_FORMAT,
        meta: { type_values: [["VerifiableCredential", policy.credentialType]] },
        claims: policy.disclose.map((claim) => ({ id: claim, path: ["credentialSubject", claim] })),
        require_cryptographic_holder_binding: true,
      },
    ],
  } as const satisfies DcqlQuery.Input;
  DcqlQuery.validate(DcqlQuery.parse(query));
  return query;
}

/**
 * The claims a DCQL query asks of the civil-servant ID, for the wallet to compare with the use's policy. Refuses
 * (INVALID_INPUT) anything but one `jwt_vc_json` query for our credential type with plain claim paths: a wallet
 * answers only what it can show its holder exactly.
 */
export function claimsRequestedBy(query: unknown): ClaimName[] {
  let parsed: DcqlQuery;
  try {
    parsed = DcqlQuery.parse(query as DcqlQuery.Input);
    DcqlQuery.validate(parsed);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `The request's DCQL query is malformed: ${error instanceof Error ? error.message.slice(0, 200) : "invalid"}.`, { cause: error });
  }
  const refuse = (why: string): never => {
    throw new CivilIdError("INVALID_INPUT", `The request asks for something this wallet does not present: ${why}.`);
  };
  if (parsed.credentials.length !== 1 || parsed.credential_sets !== undefined) refuse("exactly one credential query is expected");
  const credential = parsed.credentials[0];
  if (credential.format !== CIVIL_ID_FORMAT) refuse(`format ${credential.format}`);
  const types = (credential.meta as { type_values?: string[][] } | undefined)?.type_values;
  if (!types?.some((t) => t.includes(CIVIL_SERVANT_ID_TYPE))) refuse(`a credential type other than ${CIVIL_SERVANT_ID_TYPE}`);
  if (credential.claim_sets !== undefined) refuse("claim sets");
  const claims = credential.claims ?? refuse("no claims named (the whole credential)");
  const names = claims.map((claim) => {
    const path = (claim as { path?: unknown[] }).path;
    const values = (claim as { values?: unknown }).values;
    if (values !== undefined) refuse("claim value matching");
    if (!Array.isArray(path) || path.length !== 2 || path[0] !== "credentialSubject" || !CLAIM_NAMES.includes(path[1] as ClaimName)) {
      refuse(`the claim path ${JSON.stringify(path).slice(0, 80)}`);
    }
    return (path as [string, ClaimName])[1];
  });
  return [...new Set(names)];
}
