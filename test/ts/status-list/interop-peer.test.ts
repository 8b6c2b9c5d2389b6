/**
 * Interop with an independent, unmodified peer: a "stock" verifier built only from did-jwt, did-resolver,
 * ethr-did-resolver and @sd-jwt/jwt-status-list (no import from our SDK) reads a credential's standard
 * `status.status_list` claim, fetches the list from the status service over HTTP, checks its signature against the
 * credential issuer's DID and refuses a locked or revoked credential while accepting an active one — online, and
 * offline from the national bundle downloaded once.
 */
import { expect } from "chai";
import { createJWT, ES256KSigner } from "did-jwt";
import { Resolver } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { Wallet, getBytes, toBeHex, type HDNodeWallet } from "ethers";
import { civilIdWorld } from "../helpers/world.js";
import { CENTRAL_AGENCY } from "../helpers/fixture.js";
import { StatusListPublisher } from "../../../services/status/publisher.js";
import { buildStatusService } from "../../../services/status/app.js";
import type { ServiceApp } from "../../../services/common/index.js";
import { statusListEntry } from "../../../sdk/status-list/index.js";
import { stockVerifier } from "./stock-verifier.js";

describe("Interop: an unmodified peer verifier refuses locked and revoked credentials through the Token Status List", function () {
  let w: Awaited<ReturnType<typeof civilIdWorld>>;
  let app: ServiceApp;
  let publisher: StatusListPublisher;
  let baseUrl: string;
  let resolver: Resolver;
  const credentials: Record<"active" | "locked" | "revoked", string> = { active: "", locked: "", revoked: "" };

  /** A credential JWT with the standard status claim, made with did-jwt directly (the credential model adds it later). */
  async function credentialWith(holder: HDNodeWallet, credentialId: bigint): Promise<string> {
    const now = (await w.provider.getBlock("latest"))!.timestamp;
    return createJWT(
      {
        sub: `did:ethr:${toBeHex(BigInt(w.chainId))}:${holder.address}`,
        nbf: now,
        exp: now + 86_400,
        vc: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiableCredential", "CivilServantIdCredential"], credentialSubject: { agencyCode: CENTRAL_AGENCY } },
        status: statusListEntry(baseUrl, credentialId),
      },
      { issuer: w.issuer.did, signer: ES256KSigner(getBytes(w.issuerWallet.privateKey)) },
      { alg: "ES256K" },
    );
  }

  before(async () => {
    w = await civilIdWorld();
    publisher = new StatusListPublisher({
      ledger: w.ledger,
      provider: w.provider,
      baseUri: () => baseUrl,
      signers: new Map([[CENTRAL_AGENCY, w.issuerWallet.signingKey]]),
    });
    app = await buildStatusService({ publisher, app: { logger: false } });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address() as { port: number };
    baseUrl = `http://127.0.0.1:${address.port}`;
    resolver = new Resolver(
      getResolver({ networks: [{ name: toBeHex(BigInt(w.chainId)), chainId: w.chainId, registry: w.ledger.deployment.didRegistry, provider: w.provider as never }] }) as never,
    );
    for (const name of ["active", "locked", "revoked"] as const) {
      const holder = Wallet.createRandom();
      const { credentialId } = await w.issueTo(holder, `p-${name}`);
      credentials[name] = await credentialWith(holder, credentialId);
      if (name === "locked") await w.registrar.lock(credentialId, "LOST_DEVICE");
      if (name === "revoked") await w.registrar.revoke(credentialId, "LEFT_SERVICE");
    }
    await publisher.refresh();
  });
  after(async () => {
    await app.close();
  });

  const overHttp = async (uri: string) => {
    const response = await fetch(uri);
    expect(response.status).to.equal(200);
    return response.text();
  };

  it("fetches each list over HTTP: accepts the active credential, refuses the locked (suspended) and the revoked (invalid)", async () => {
    expect(await stockVerifier(credentials.active, resolver, overHttp)).to.equal("accept");
    expect(await stockVerifier(credentials.locked, resolver, overHttp)).to.equal("refuse: status 2");
    expect(await stockVerifier(credentials.revoked, resolver, overHttp)).to.equal("refuse: status 1");
  });

  it("offline: the same verdicts from the national bundle downloaded once (no per-credential fetch)", async () => {
    const bundle = (await (await fetch(`${baseUrl}/status-lists`)).json()) as { lists: { uri: string; token: string }[] };
    const fromBundle = async (uri: string) => bundle.lists.find((l) => l.uri === uri)!.token;
    expect(await stockVerifier(credentials.active, resolver, fromBundle)).to.equal("accept");
    expect(await stockVerifier(credentials.locked, resolver, fromBundle)).to.equal("refuse: status 2");
    expect(await stockVerifier(credentials.revoked, resolver, fromBundle)).to.equal("refuse: status 1");
  });

  it("the peer refuses a list signed by someone else than the credential's issuer", async () => {
    const forger = Wallet.createRandom();
    const forged = await createJWT(
      { sub: `${baseUrl}/status-lists/${CENTRAL_AGENCY}`, iat: Math.floor(Date.now() / 1000), status_list: { bits: 2, lst: "eNrtwTEBAAAAwqD1T20ND6AAAAAAAAAAAAAA4N8AKvgAAQ" } },
      { issuer: `did:ethr:${toBeHex(BigInt(w.chainId))}:${forger.address}`, signer: ES256KSigner(getBytes(forger.privateKey)) },
      { alg: "ES256K", typ: "statuslist+jwt" as "JWT" }, // did-jwt types typ as "JWT" only
    );
    expect(await stockVerifier(credentials.locked, resolver, async () => forged)).to.match(/^refuse: the status list is not signed by the credential's issuer/);
  });
});
