/**
 * An independent OpenID4VCI wallet for the end-to-end test: only @openid4vc/openid4vci's and @openid4vc/oauth2's
 * client classes, with a device key from node:crypto — never the project's SDK or services. Run as its own
 * process: `node --import tsx independent-wallet.ts <credential_offer_uri> <tx_code>`; prints one JSON line with
 * the credential, the device key's public JWK, and what the issuer answered at each step.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { clientAuthenticationAnonymous, type Jwk, type SignJwtCallback } from "@openid4vc/oauth2";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { setGlobalConfig } from "@openid4vc/utils";

const [offerUri, txCode] = process.argv.slice(2);
if (offerUri === undefined || txCode === undefined) {
  process.stderr.write("usage: independent-wallet <credential_offer_uri> <tx_code>\n");
  process.exit(2);
}
setGlobalConfig({ allowInsecureUrls: true }); // the issuer runs on loopback http in the test

const device = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
const publicJwk = device.publicKey.export({ format: "jwk" }) as Jwk;

const signJwt: SignJwtCallback = (_signer, jwt) => {
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${encode(jwt.header)}.${encode(jwt.payload)}`;
  const signature = sign("sha256", Buffer.from(input), { key: device.privateKey, dsaEncoding: "ieee-p1363" });
  return { jwt: `${input}.${signature.toString("base64url")}`, signerJwk: publicJwk };
};

const client = new Openid4vciClient({
  callbacks: {
    fetch,
    hash: (data, alg) => new Uint8Array(createHash(alg.replace("-", "").toLowerCase()).update(data).digest()),
    generateRandom: (n) => new Uint8Array(randomBytes(n)),
    signJwt,
    clientAuthentication: clientAuthenticationAnonymous(),
  },
});

const steps: string[] = [];
const credentialOffer = await client.resolveCredentialOffer(`openid-credential-offer://?credential_offer_uri=${encodeURIComponent(offerUri)}`);
steps.push("offer");
const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
steps.push("metadata");
const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata, txCode });
steps.push("token");
const credentialConfigurationId = credentialOffer.credential_configuration_ids[0]!;
const { c_nonce } = await client.requestNonce({ issuerMetadata });
steps.push("nonce");
const { jwt } = await client.createCredentialRequestJwtProof({
  issuerMetadata, credentialConfigurationId, nonce: c_nonce, signer: { method: "jwk", alg: "ES256K", publicJwk },
});
const response = await client.retrieveCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId, proofs: { jwt: [jwt] } });
steps.push(`credential:${response.response.status}`);
let credentials = response.credentialResponse.credentials;
let notificationId = response.credentialResponse.notification_id;
let transactionId = response.credentialResponse.transaction_id;
while (credentials === undefined && transactionId !== undefined) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const deferred = await client.retrieveDeferredCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, transactionId });
  steps.push(`deferred:${deferred.response.status}`);
  credentials = deferred.deferredCredentialResponse.credentials;
  notificationId = deferred.deferredCredentialResponse.notification_id ?? notificationId;
  transactionId = deferred.deferredCredentialResponse.transaction_id;
}
if (notificationId !== undefined) {
  await client.sendNotification({ issuerMetadata, accessToken: accessTokenResponse.access_token, notification: { notificationId, event: "credential_accepted" } });
  steps.push("notification");
}
const first = credentials?.[0];
const credential = typeof first === "object" && first !== null && "credential" in first ? first.credential : first;
process.stdout.write(JSON.stringify({ steps, credential, publicJwk }) + "\n");
