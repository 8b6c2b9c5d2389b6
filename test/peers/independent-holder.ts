/**
 * An independent holder for the end-to-end test, run as its own process: it uses only the OpenID4VP library's
 * client classes, dcql and ethers — nothing of this project's SDK. Reads one JSON job on stdin
 * ({ authorizationRequest, credential, privateKey, did, now }), answers the request over HTTP and prints
 * { status, body, verifierClientId } on stdout.
 */
import { createHash } from "node:crypto";
import { Openid4vpClient } from "@openid4vc/openid4vp";
import { setGlobalConfig } from "@openid4vc/utils";
import { DcqlQuery } from "dcql";
import { SigningKey, Signature, computeAddress, getAddress } from "ethers";

interface Job { authorizationRequest: string; credential: string; privateKey: string; did: string; now: number }

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const sha256 = (s: string) => createHash("sha256").update(s, "ascii").digest();

/** ES256K by address recovery: a did:ethr verifier's request object must recover to its DID's address. */
function recoversTo(compact: string, address: string): string | undefined {
  const [h, p, s] = compact.split(".");
  const sig = Buffer.from(s ?? "", "base64url");
  if (sig.length !== 64) return undefined;
  for (const v of [27, 28]) {
    const pub = SigningKey.recoverPublicKey(sha256(`${h}.${p}`), Signature.from({ r: "0x" + sig.subarray(0, 32).toString("hex"), s: "0x" + sig.subarray(32).toString("hex"), v }));
    if (computeAddress(pub) === address) return pub;
  }
  return undefined;
}

const job = JSON.parse(await new Promise<string>((resolve) => {
  let text = "";
  process.stdin.on("data", (c: Buffer) => (text += c.toString("utf8")));
  process.stdin.on("end", () => resolve(text));
})) as Job;

setGlobalConfig({ allowInsecureUrls: true }); // the test's verifier listens on loopback http
const unsupported = () => { throw new Error("unsupported"); };
const client = new Openid4vpClient({
  callbacks: {
    fetch,
    hash: (data, alg) => new Uint8Array(createHash(alg.replace("-", "").toLowerCase()).update(data).digest()),
    verifyJwt: (signer, jwt) => {
      if (signer.method !== "did" || signer.alg !== "ES256K") return { verified: false };
      const address = getAddress(signer.didUrl.split("#")[0]!.split(":").pop()!);
      const pub = recoversTo(jwt.compact, address);
      if (pub === undefined) return { verified: false };
      const raw = Buffer.from(SigningKey.computePublicKey(pub, false).slice(4), "hex");
      return { verified: true, signerJwk: { kty: "EC", crv: "secp256k1", x: raw.subarray(0, 32).toString("base64url"), y: raw.subarray(32).toString("base64url") } };
    },
    signJwt: unsupported, decryptJwe: unsupported, encryptJwe: unsupported,
  },
});

const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: job.authorizationRequest });
const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
const request = resolved.authorizationRequestPayload as { client_id: string; nonce: string; state?: string; response_uri: string };

// Match the held credential against the DCQL query, as any wallet would.
const query = DcqlQuery.parse(resolved.dcql!.query as DcqlQuery.Input);
const vc = (JSON.parse(Buffer.from(job.credential.split(".")[1]!, "base64url").toString("utf8")) as { vc: { type: string[]; credentialSubject: { [k: string]: string | number | { [k: string]: string } } } }).vc;
const match = DcqlQuery.query(query, [{ credential_format: "jwt_vc_json", type: vc.type, claims: { credentialSubject: vc.credentialSubject }, cryptographic_holder_binding: true }]);
if (!match.can_be_satisfied) throw new Error("the held credential does not satisfy the query");
const queryId = query.credentials[0]!.id;

// The VP JWT (W3C VC-JWT presentation), ES256K with the device key, bound to client_id and nonce.
const header = { alg: "ES256K", typ: "JWT" };
const payload = {
  iss: job.did, aud: request.client_id, nonce: request.nonce, iat: job.now, nbf: job.now, exp: job.now + 60,
  vp: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiablePresentation"], verifiableCredential: [job.credential] },
};
const input = `${b64(header)}.${b64(payload)}`;
const sig = new SigningKey(job.privateKey).sign(sha256(input));
const vp = `${input}.${Buffer.concat([Buffer.from(sig.r.slice(2), "hex"), Buffer.from(sig.s.slice(2), "hex")]).toString("base64url")}`;

const response = await client.createOpenid4vpAuthorizationResponse({
  authorizationRequestPayload: resolved.authorizationRequestPayload,
  authorizationResponsePayload: { vp_token: { [queryId]: [vp] } },
});
const submitted = await client.submitOpenid4vpAuthorizationResponse({
  authorizationRequestPayload: request,
  authorizationResponsePayload: { ...response.authorizationResponsePayload, ...(request.state === undefined ? {} : { state: request.state }) },
});
process.stdout.write(JSON.stringify({ status: submitted.response.status, body: await submitted.response.text(), verifierClientId: request.client_id }) + "\n");
