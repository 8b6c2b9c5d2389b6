/**
 * The status service (services/status): each organisation's list, its co-signatures, the national bundle and the
 * offline snapshot over HTTP with caching headers and conditional requests, rebuilt when a new block is final.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { civilIdWorld } from "../helpers/world.js";
import { CENTRAL_AGENCY, LOCAL_GOV } from "../helpers/fixture.js";
import { StatusListPublisher } from "../../../services/status/publisher.js";
import { buildStatusService } from "../../../services/status/app.js";
import { listenConfigSchema, startServices, type ServiceApp } from "../../../services/common/index.js";
import { statusServiceDefinition } from "../../../services/status/definition.js";
import type { ServeEnvironment } from "../../../services/environment.js";
import { OfflineLedgerView, TokenStatus, statusSigners, verifyBundle, verifyStatusListToken, type StatusListBundle } from "../../../sdk/status-list/index.js";

const BASE = "https://status.civil-id.example.go.kr";

describe("Status service (services/status)", function () {
  let w: Awaited<ReturnType<typeof civilIdWorld>>;
  let app: ServiceApp;
  let publisher: StatusListPublisher;
  let credentialId: bigint;
  const coSigners = Array.from({ length: 2 }, () => Wallet.createRandom());
  const snapshotSigners = Array.from({ length: 3 }, () => Wallet.createRandom());

  before(async () => {
    w = await civilIdWorld();
    credentialId = (await w.issueTo(Wallet.createRandom(), "p-1")).credentialId;
    publisher = new StatusListPublisher({
      ledger: w.ledger,
      provider: w.provider,
      baseUri: () => BASE,
      signers: new Map([[CENTRAL_AGENCY, w.issuerWallet.signingKey]]),
      coSigners: coSigners.map((k) => k.signingKey),
      snapshotSigners: snapshotSigners.map((k) => k.signingKey),
      ttlSeconds: 30,
      // Lists carry the signer's time (iat, exp) and the block's: the test's signer and verifier share the chain's clock.
      now: w.clock.now,
    });
    app = await buildStatusService({ publisher, app: { logger: false } });
  });
  after(async () => {
    publisher.stop();
    await app.close();
  });

  /** Chain time, s (the clock the publisher signs with: see ChainClock). */
  const chainNow = () => w.clock.sync();
  /** Rebuilds with the publisher's clock at the chain's latest block. */
  const refresh = async () => {
    await w.clock.sync();
    return publisher.refresh();
  };
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: "GET", url, headers });

  it("answers 503 with Retry-After before the first build", async () => {
    const r = await get(`/status-lists/${CENTRAL_AGENCY}`);
    expect(r.statusCode).to.equal(503);
    expect(r.headers["retry-after"]).to.equal("2");
  });

  it("serves an organisation's list with ETag, Last-Modified and max-age = ttl; 304 for a current copy", async () => {
    const set = await refresh();
    const r = await get(`/status-lists/${CENTRAL_AGENCY}`);
    expect(r.statusCode).to.equal(200);
    expect(r.headers["content-type"]).to.match(/^application\/statuslist\+jwt/);
    expect(r.headers["cache-control"]).to.equal("public, max-age=30");
    expect(r.headers.etag).to.match(/^"[A-Za-z0-9_-]{43}"$/);
    expect(Date.parse(String(r.headers["last-modified"]))).to.be.greaterThan(0);
    const now = await chainNow();
    const list = verifyStatusListToken(r.body, { signers: [w.issuerWallet.address], now, maxAgeSeconds: 7_200, uri: `${BASE}/status-lists/${CENTRAL_AGENCY}` });
    expect(list.ttl).to.equal(30);
    expect(list.ledger.block_number).to.equal(set.blockNumber);
    expect(list.statusAt(0)).to.equal(TokenStatus.VALID);
    expect((await get(`/status-lists/${CENTRAL_AGENCY}`, { "if-none-match": String(r.headers.etag) })).statusCode).to.equal(304);
    expect((await get(`/status-lists/${CENTRAL_AGENCY}`, { "if-none-match": `"other", W/${String(r.headers.etag)}` })).statusCode).to.equal(304);
    expect((await get(`/status-lists/${CENTRAL_AGENCY}`, { "if-modified-since": String(r.headers["last-modified"]) })).statusCode).to.equal(304);
    expect((await get(`/status-lists/${CENTRAL_AGENCY}`, { "if-none-match": '"other"' })).statusCode).to.equal(200);
    // co-signatures of the same payload
    const c = await get(`/status-lists/${CENTRAL_AGENCY}/cosignatures`);
    expect(c.statusCode).to.equal(200);
    const { signatures } = JSON.parse(c.body) as { signatures: [] };
    expect(verifyStatusListToken(r.body, { signers: [w.issuerWallet.address], now, maxAgeSeconds: 7_200, coSignatures: { signatures, trusted: coSigners.map((k) => k.address), threshold: 2 } }).coSigners).to.have.length(2);
  });

  it("documents its routes in the floor's OpenAPI document", async () => {
    const r = await get("/openapi.json");
    expect(r.statusCode).to.equal(200);
    const doc = JSON.parse(r.body) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).to.include.members(["/status-lists/{agencyCode}", "/status-lists/{agencyCode}/cosignatures", "/status-lists", "/ledger-snapshot"]);
  });

  it("refuses unknown organisations (404) and malformed codes (400)", async () => {
    expect((await get(`/status-lists/${LOCAL_GOV}`)).statusCode, "no status key configured").to.equal(404);
    expect((await get("/status-lists/9999999")).statusCode).to.equal(404);
    expect((await get("/status-lists/12ab")).statusCode).to.equal(400);
  });

  it("rebuilds on a new finalized block: a lock shows in the next list, with a new ETag", async () => {
    const before = await get(`/status-lists/${CENTRAL_AGENCY}`);
    expect((await refresh()).blockNumber, "no new block: no rebuild").to.equal(publisher.set!.blockNumber);
    expect((await get(`/status-lists/${CENTRAL_AGENCY}`)).headers.etag).to.equal(before.headers.etag);
    await w.registrar.lock(credentialId, "LOST_DEVICE");
    const set = await refresh();
    expect(set.blockNumber).to.equal(await w.provider.getBlockNumber());
    const after = await get(`/status-lists/${CENTRAL_AGENCY}`, { "if-none-match": String(before.headers.etag) });
    expect(after.statusCode).to.equal(200);
    expect(after.headers.etag).to.not.equal(before.headers.etag);
    const now = await chainNow();
    expect(verifyStatusListToken(after.body, { signers: [w.issuerWallet.address], now, maxAgeSeconds: 7_200 }).statusAt(0)).to.equal(TokenStatus.SUSPENDED);
  });

  it("a block without registry events re-signs the same entries at the new block (fresh block time, nothing re-read)", async () => {
    const before = publisher.set!;
    await w.networkHelpers.mine(3);
    const set = await refresh();
    expect(set.blockNumber).to.equal(before.blockNumber + 3);
    const now = await chainNow();
    const list = verifyStatusListToken(set.lists.get(CENTRAL_AGENCY)!.body, { signers: [w.issuerWallet.address], now, maxAgeSeconds: 7_200 });
    expect(list.ledger.block_number).to.equal(set.blockNumber);
    expect(list.ledger.block_hash).to.equal((await w.provider.getBlock(set.blockNumber))!.hash);
    expect(list.statusAt(0)).to.equal(TokenStatus.SUSPENDED);
  });

  it("serves the national bundle and the signed snapshot an offline gate installs", async () => {
    const now = await chainNow();
    const b = await get("/status-lists");
    expect(b.statusCode).to.equal(200);
    expect(b.headers["cache-control"]).to.equal("public, max-age=30");
    const bundle = JSON.parse(b.body) as StatusListBundle;
    expect(bundle.block_number).to.equal(publisher.set!.blockNumber);
    const snapshot = await get("/ledger-snapshot");
    expect(snapshot.statusCode).to.equal(200);
    const gate = new OfflineLedgerView({
      chainId: w.chainId,
      statusRegistry: w.ledger.deployment.statusRegistry,
      trustedSigners: snapshotSigners.map((k) => k.address),
      threshold: 3,
      maxStalenessMs: 7_200_000,
      now: w.clock.now,
    });
    await gate.install(snapshot.body);
    const lists = verifyBundle(bundle, { keys: gate.issuerKeys, now, maxAgeSeconds: 7_200 });
    expect(lists.get(CENTRAL_AGENCY)!.statusAt(0)).to.equal(TokenStatus.SUSPENDED);
    expect((await gate.credentialStatus(credentialId)).state).to.equal(1);
    expect(statusSigners(gate.issuerKeys, CENTRAL_AGENCY, now)).to.include(w.issuerWallet.address);
  });

  it("npm run serve: the catalog definition signs with the configured key files, publishes the snapshot, follows the chain and closes cleanly", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mcid-status-serve-"));
    try {
      const keyFile = path.join(dir, "central.key");
      await writeFile(keyFile, w.issuerWallet.privateKey + "\n", { mode: 0o600 });
      const memberKey = Wallet.createRandom();
      const memberFile = path.join(dir, "member.key");
      await writeFile(memberFile, memberKey.privateKey, { mode: 0o600 });
      const env: ServeEnvironment = {
        provider: w.provider,
        chainId: w.chainId,
        deployment: w.ledger.deployment,
        dataDir: dir,
        config: { status: { pollMs: 100, signingKeyFiles: { [String(CENTRAL_AGENCY)]: keyFile }, snapshotSignerKeyFiles: [memberFile] } },
        logLevel: "silent",
        demo: undefined,
        now: w.clock.now,
      };
      await w.clock.sync();
      const running = await startServices([statusServiceDefinition], env, () => listenConfigSchema.parse({}));
      try {
        const url = `${running.urls.status!}/status-lists/${CENTRAL_AGENCY}`;
        let response = await fetch(url);
        for (let i = 0; i < 50 && response.status === 503; i++) {
          await new Promise((r) => setTimeout(r, 100));
          response = await fetch(url);
        }
        expect(response.status).to.equal(200);
        const list = verifyStatusListToken(await response.text(), { signers: [w.issuerWallet.address], now: await chainNow(), maxAgeSeconds: 3_600 });
        expect(list.uri).to.equal(url);
        // the snapshot's digests come from a LedgerIndex the publisher syncs before each rebuild
        const gate = new OfflineLedgerView({
          chainId: w.chainId, statusRegistry: w.ledger.deployment.statusRegistry, trustedSigners: [memberKey.address], threshold: 1,
          maxStalenessMs: 3_600_000, now: w.clock.now,
        });
        expect((await gate.installFromUrl(`${running.urls.status!}/ledger-snapshot`)).signers).to.deep.equal([memberKey.address]);
        expect((await gate.credentialStatus(credentialId)).registered).to.equal(true);
      } finally {
        await running.close();
      }
      const bad = { ...env, config: { status: { signingKeyFiles: { [String(CENTRAL_AGENCY)]: path.join(dir, "missing.key") } } } };
      try {
        await startServices([statusServiceDefinition], bad, () => listenConfigSchema.parse({}));
        expect.fail("a missing key file must refuse to start");
      } catch (error) {
        expect(String(error)).to.match(/Cannot read the key file/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
