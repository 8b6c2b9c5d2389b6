/**
 * Token Status Lists built from the chain at a finalized block: the entries match the registry, an independent
 * decoder (@sd-jwt/jwt-status-list) reads the same values, and every tampering, wrong key, expiry, staleness,
 * malformed block hash, wrong subject and missing co-signature is refused with its typed reason.
 */
import { deflateSync } from "node:zlib";
import { expect } from "chai";
import { Wallet, keccak256, toUtf8Bytes, type Filter, type Provider, type SigningKey } from "ethers";
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { civilIdWorld } from "../helpers/world.js";
import { CENTRAL_AGENCY, LOCAL_GOV } from "../helpers/fixture.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { makeCredentialId, ReasonCode } from "../../../sdk/chain/codes.js";
import { isCivilIdError } from "../../../sdk/errors.js";
import {
  LogEnumerator,
  MAX_LIST_ENTRIES,
  advanceLedgerState,
  MIN_LIST_ENTRIES,
  TokenStatus,
  buildBundle,
  buildStatusListToken,
  coSignStatusList,
  compressStatuses,
  decompressStatuses,
  isStatusListError,
  readLedgerState,
  statusListEntry,
  statusListUri,
  statusSigners,
  verifyBundle,
  verifyStatusListToken,
  type LedgerState,
  type StatusListRefusal,
} from "../../../sdk/status-list/index.js";
import { signCompactJws, decodeCompactJws, encodeJsonPart } from "../../../sdk/status-list/jws.js";
import { HOLDER_SECRET } from "../helpers/world.js";

const BASE = "https://status.civil-id.example.go.kr";

function refusal(fn: () => unknown, reason: StatusListRefusal): void {
  try {
    fn();
  } catch (error) {
    expect(isStatusListError(error), String(error)).to.equal(true);
    expect((error as { reason: string }).reason, String(error)).to.equal(reason);
    expect(isCivilIdError(error, "STATUS_LIST_REFUSED")).to.equal(true);
    return;
  }
  expect.fail(`expected a ${reason} refusal`);
}

/** Re-signs a token's payload after `edit` (a forger holding `key`). */
function resign(jwt: string, key: SigningKey, edit: (payload: Record<string, unknown>, header: Record<string, unknown>) => void): string {
  const jws = decodeCompactJws(jwt, 1 << 24)!;
  const header = { ...jws.header };
  const payload = structuredClone(jws.payload);
  edit(payload, header);
  return signCompactJws(header, payload, key);
}

describe("Token Status List (sdk/status-list)", function () {
  let w: Awaited<ReturnType<typeof civilIdWorld>>;
  let state: LedgerState;
  let ids: { active: bigint; locked: bigint; revoked: bigint; superseded: bigint; successor: bigint };
  let issuerKey: SigningKey;
  let now: number;

  before(async function () {
    w = await civilIdWorld();
    issuerKey = w.issuerWallet.signingKey;
    const holders = Array.from({ length: 5 }, () => Wallet.createRandom());
    const active = await w.issueTo(holders[0]!, "p-active");
    const locked = await w.issueTo(holders[1]!, "p-locked");
    const revoked = await w.issueTo(holders[2]!, "p-revoked");
    const superseded = await w.issueTo(holders[3]!, "p-reissue");
    const successor = await w.issueTo(holders[4]!, "p-reissue");
    await w.registrar.lock(locked.credentialId, "LOST_DEVICE");
    await w.registrar.revoke(revoked.credentialId, "LEFT_SERVICE");
    ids = { active: active.credentialId, locked: locked.credentialId, revoked: revoked.credentialId, superseded: superseded.credentialId, successor: successor.credentialId };
    state = await readLedgerState({ ledger: w.ledger, provider: w.provider });
    now = state.blockTimestamp + 5;
  });

  const verify = (jwt: string, extra: Partial<Parameters<typeof verifyStatusListToken>[1]> = {}) =>
    verifyStatusListToken(jwt, {
      signers: statusSigners(state.keys, CENTRAL_AGENCY, now),
      now,
      maxAgeSeconds: 600,
      uri: statusListUri(BASE, CENTRAL_AGENCY),
      chainId: w.chainId,
      statusRegistry: w.ledger.deployment.statusRegistry,
      ...extra,
    });
  const token = (options: Partial<Parameters<typeof buildStatusListToken>[3]> = {}) =>
    buildStatusListToken(state, CENTRAL_AGENCY, issuerKey, { baseUri: BASE, issuedAt: now, ...options });

  it("reads every organisation's statuses, accreditation and issuer keys at the block", async () => {
    const latest = await w.provider.getBlock("latest");
    expect(state.blockNumber).to.equal(latest!.number);
    expect(state.blockHash).to.equal(latest!.hash);
    const central = state.organisations.find((o) => o.agencyCode === CENTRAL_AGENCY)!;
    expect(central.count).to.equal(5);
    expect(state.organisations.map((o) => o.agencyCode)).to.have.members([CENTRAL_AGENCY, LOCAL_GOV]);
    expect(central.credentialTypes).to.deep.equal([keccak256(toUtf8Bytes("CivilServantIdCredential"))]);
    for (const id of Object.values(ids)) {
      const [, onChainState, onChainReason] = await w.ledger.statusRegistry.statusOf(id);
      const byte = central.statuses[Number(id & 0xffffffffffn)]!;
      expect([byte & 3, byte >> 2]).to.deep.equal([Number(onChainState), Number(onChainReason)]);
    }
    expect(statusSigners(state.keys, CENTRAL_AGENCY, now)).to.include(w.issuerWallet.address);
    expect(state.keys.find((k) => k.issuer === w.issuerWallet.address)).to.include({ didOwner: w.issuerWallet.address, didDeactivated: false, compromised: false });
  });

  it("an enumerator reused across reads scans only new blocks and still sees a key added in between", async () => {
    const enumerator = new LogEnumerator(w.ledger, w.provider, false);
    const first = await readLedgerState({ ledger: w.ledger, provider: w.provider, enumerator });
    const key = Wallet.createRandom();
    const t = (await w.provider.getBlock("latest"))!.timestamp;
    const snapshot = await w.networkHelpers.takeSnapshot();
    try {
      await (await w.ledger.issuerRegistry.connect(w.actors.orgAdmin).addIssuerKey(CENTRAL_AGENCY, key.address, 0, t + 86_400)).wait();
      let calls = 0;
      // the enumerator needs only getLogs: count its calls
      const counting = { getLogs: (filter: Filter) => (calls++, w.provider.getLogs(filter)) } as unknown as Provider;
      const counted = new LogEnumerator(w.ledger, counting, false, 1);
      await counted.advance(first.blockNumber);
      const before = calls;
      await counted.advance(first.blockNumber + 1);
      expect(calls - before, "one new block, one getLogs").to.equal(1);
      const second = await readLedgerState({ ledger: w.ledger, provider: w.provider, enumerator });
      expect(second.keys.map((k) => k.issuer)).to.include(key.address);
      expect(first.keys.map((k) => k.issuer)).to.not.include(key.address);
      try {
        await readLedgerState({ ledger: w.ledger, provider: w.provider, enumerator, digests: "logs" });
        expect.fail("an enumerator without digests cannot supply them");
      } catch (error) {
        expect(isCivilIdError(error, "INVALID_INPUT"), String(error)).to.equal(true);
      }
    } finally {
      await snapshot.restore();
    }
  });

  it("advancing to a block without registry events keeps the state (same tables) at the new block; an event forces a full read", async () => {
    const snapshot = await w.networkHelpers.takeSnapshot();
    try {
      await w.networkHelpers.mine(2);
      const quiet = await advanceLedgerState(state, { ledger: w.ledger, provider: w.provider, blockNumber: state.blockNumber + 2 });
      expect(quiet.organisations).to.equal(state.organisations);
      expect(quiet.blockHash).to.equal((await w.provider.getBlock(state.blockNumber + 2))!.hash);
      await w.registrar.unlock(ids.locked, "FOUND_DEVICE");
      const head = await w.provider.getBlockNumber();
      const changed = await advanceLedgerState(quiet, { ledger: w.ledger, provider: w.provider, blockNumber: head });
      expect(changed.organisations).to.not.equal(state.organisations);
      expect(changed.organisations.find((o) => o.agencyCode === CENTRAL_AGENCY)!.statuses[Number(ids.locked & 0xffffffffffn)]! & 3).to.equal(0);
    } finally {
      await snapshot.restore();
    }
  });

  it("a state read at an earlier block shows that block (the lock had not happened yet)", async () => {
    const before = await readLedgerState({ ledger: w.ledger, provider: w.provider, blockNumber: state.blockNumber - 1 });
    const central = before.organisations.find((o) => o.agencyCode === CENTRAL_AGENCY)!;
    expect(central.statuses[Number(ids.revoked & 0xffffffffffn)]! & 3).to.equal(0); // the revocation is the last block
    expect(before.blockHash).to.not.equal(state.blockHash);
  });

  it("builds a statuslist+jwt whose entries map Active → VALID, Locked → SUSPENDED, Revoked → INVALID", () => {
    const jwt = token();
    const jws = decodeCompactJws(jwt, 1 << 24)!;
    expect(jws.header).to.include({ alg: "ES256K", typ: "statuslist+jwt" });
    expect(jws.payload).to.include({ sub: `${BASE}/status-lists/${CENTRAL_AGENCY}`, iat: now, exp: now + 86_400, ttl: 60 });
    expect(jws.payload.mcid_ledger).to.deep.include({ block_number: state.blockNumber, block_hash: state.blockHash, entries: 5, agency_code: CENTRAL_AGENCY });
    const list = verify(jwt);
    const at = (id: bigint) => list.statusAt(statusListEntry(BASE, id).status_list.idx);
    expect(at(ids.active)).to.equal(TokenStatus.VALID);
    expect(at(ids.successor)).to.equal(TokenStatus.VALID);
    expect(at(ids.locked)).to.equal(TokenStatus.SUSPENDED);
    expect(at(ids.revoked)).to.equal(TokenStatus.INVALID);
    expect(at(ids.superseded)).to.equal(TokenStatus.INVALID);
    expect(list.statusAt(5), "nothing registered there").to.equal(TokenStatus.INVALID);
    expect(list.size).to.be.at.least(MIN_LIST_ENTRIES);
    expect(list.signer).to.equal(w.issuerWallet.address);
  });

  it("an independent decoder (@sd-jwt/jwt-status-list) reads the same entries", () => {
    const jwt = token();
    const theirs = getListFromStatusListJWT(jwt);
    const ours = verify(jwt);
    expect(theirs.getBitsPerStatus()).to.equal(2);
    for (let i = 0; i < 64; i++) expect(theirs.getStatus(i), `entry ${i}`).to.equal(ours.statusAt(i));
    // and our decoder reads what the library's own encoder packs
    const values = new Uint8Array([0, 1, 2, 0, 2, 2, 1, 0, 0, 1]);
    expect([...decompressStatuses(compressStatuses(values), 64).subarray(0, values.length)]).to.deep.equal([...values]);
  });

  it("refuses a tampered list: an entry flipped without the issuer key", () => {
    const jwt = token();
    const [h, , s] = jwt.split(".");
    const jws = decodeCompactJws(jwt, 1 << 24)!;
    const values = decompressStatuses((jws.payload.status_list as { lst: string }).lst, 1 << 20);
    values[Number(ids.locked & 0xffffffffffn)] = TokenStatus.VALID;
    const forged = { ...jws.payload, status_list: { bits: 2, lst: compressStatuses(values) } };
    refusal(() => verify(`${h}.${encodeJsonPart(forged)}.${s}`), "WRONG_KEY");
  });

  it("refuses a list signed by another key, even one of another accredited organisation", () => {
    const other = Wallet.createRandom().signingKey;
    refusal(() => verify(buildStatusListToken(state, CENTRAL_AGENCY, other, { baseUri: BASE, issuedAt: now })), "WRONG_KEY");
    // the central agency's key does not sign for the local government
    const local = buildStatusListToken(state, LOCAL_GOV, issuerKey, { baseUri: BASE, issuedAt: now });
    refusal(() => verify(local, { signers: statusSigners(state.keys, LOCAL_GOV, now), uri: statusListUri(BASE, LOCAL_GOV) }), "WRONG_KEY");
    // a high-s twin of a valid signature
    const jwt = token();
    const [h, p, s] = jwt.split(".");
    const sig = Buffer.from(s!, "base64url");
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const high = n - BigInt("0x" + sig.subarray(32).toString("hex"));
    const twin = Buffer.concat([sig.subarray(0, 32), Buffer.from(high.toString(16).padStart(64, "0"), "hex")]).toString("base64url");
    refusal(() => verify(`${h}.${p}.${twin}`), "WRONG_KEY");
  });

  it("refuses an expired list, one from the future and one whose state is older than the bound", () => {
    const jwt = token({ validitySeconds: 100 });
    refusal(() => verify(jwt, { now: now + 200, maxAgeSeconds: 10_000 }), "EXPIRED");
    refusal(() => verify(jwt, { now: now - 600 }), "NOT_YET_VALID");
    refusal(() => verify(token(), { now: now + 700, maxAgeSeconds: 600 }), "STALE");
    expect(verify(token(), { now: now + 500, maxAgeSeconds: 600 }).ageSeconds).to.equal(505);
  });

  it("refuses a malformed block hash, another subject, chain or type, and garbage", () => {
    for (const hash of ["0x1234", state.blockHash.toUpperCase().replace("0X", "0x"), state.blockHash.slice(2), 42]) {
      refusal(() => verify(resign(token(), issuerKey, (p) => { (p.mcid_ledger as Record<string, unknown>).block_hash = hash; })), "BAD_BLOCK_HASH");
    }
    refusal(() => verify(token(), { uri: statusListUri(BASE, LOCAL_GOV) }), "WRONG_SUBJECT");
    refusal(() => verify(resign(token(), issuerKey, (p) => { p.sub = `${BASE}/status-lists/${LOCAL_GOV}`; }), { uri: undefined }), "WRONG_SUBJECT");
    refusal(() => verify(token(), { chainId: w.chainId + 1 }), "WRONG_CHAIN");
    refusal(() => verify(resign(token(), issuerKey, (_p, h) => { h.typ = "JWT"; })), "WRONG_TYPE");
    refusal(() => verify(resign(token(), issuerKey, (p) => { delete p.mcid_ledger; })), "MALFORMED");
    refusal(() => verify(resign(token(), issuerKey, (p) => { p.status_list = { bits: 1, lst: "eJwDAAAAAAE" }; })), "MALFORMED");
    refusal(() => verify(resign(token(), issuerKey, (p) => { p.status_list = { bits: 2, lst: "bm90IHpsaWI" }; })), "MALFORMED");
    refusal(() => verify("not.a.jwt"), "MALFORMED");
    refusal(() => verify(42 as unknown as string), "MALFORMED");
  });

  it("refuses a small list that inflates past the bound (decompression bomb)", () => {
    const bomb = resign(token(), issuerKey, (p) => { p.status_list = { bits: 2, lst: deflateSync(Buffer.alloc((MAX_LIST_ENTRIES >> 2) + 1)).toString("base64url") }; });
    refusal(() => verify(bomb), "MALFORMED");
  });

  it("co-signatures: k distinct trusted members over the same payload; forged, foreign and duplicated ones do not count", () => {
    const members = w.actors.members.map((m) => m.address);
    const keys = Array.from({ length: 4 }, () => Wallet.createRandom());
    const trusted = keys.map((k) => k.address);
    const jwt = token();
    const sigs = keys.slice(0, 2).map((k) => coSignStatusList(jwt, state, k.signingKey));
    expect(verify(jwt, { coSignatures: { signatures: sigs, trusted, threshold: 2 } }).coSigners).to.have.members(trusted.slice(0, 2));
    refusal(() => verify(jwt, { coSignatures: { signatures: sigs, trusted, threshold: 3 } }), "INSUFFICIENT_SIGNATURES");
    refusal(() => verify(jwt, { coSignatures: { signatures: [sigs[0]!, sigs[0]!], trusted, threshold: 2 } }), "INSUFFICIENT_SIGNATURES");
    refusal(() => verify(jwt, { coSignatures: { signatures: sigs, trusted: members, threshold: 1 } }), "INSUFFICIENT_SIGNATURES");
    // a co-signature of another list (other payload) does not carry over
    const other = token({ ttlSeconds: 61 });
    refusal(() => verify(other, { coSignatures: { signatures: sigs, trusted, threshold: 1 } }), "INSUFFICIENT_SIGNATURES");
  });

  it("a member refuses to co-sign a list that differs from its own node's state", () => {
    const member = Wallet.createRandom().signingKey;
    const jws = decodeCompactJws(token(), 1 << 24)!;
    const values = decompressStatuses((jws.payload.status_list as { lst: string }).lst, 1 << 20);
    values[Number(ids.revoked & 0xffffffffffn)] = TokenStatus.VALID;
    const lying = signCompactJws(jws.header, { ...jws.payload, status_list: { bits: 2, lst: compressStatuses(values) } }, issuerKey);
    refusal(() => coSignStatusList(lying, state, member), "TAMPERED");
    const otherBlock = { ...state, blockNumber: state.blockNumber - 1 };
    refusal(() => coSignStatusList(token(), otherBlock, member), "FORK");
  });

  it("the national bundle: every organisation's list at one block; one bad list refuses the bundle", async () => {
    const localKey = Wallet.createRandom();
    const t = (await w.provider.getBlock("latest"))!.timestamp;
    await (await w.ledger.issuerRegistry.connect(w.actors.localAdmin).addIssuerKey(LOCAL_GOV, localKey.address, 0, t + 86_400)).wait();
    const s2 = await readLedgerState({ ledger: w.ledger, provider: w.provider });
    const at = s2.blockTimestamp + 5;
    const bundle = buildBundle(s2, new Map([[CENTRAL_AGENCY, issuerKey], [LOCAL_GOV, localKey.signingKey]]), { baseUri: BASE, issuedAt: at });
    expect(bundle.lists).to.have.length(2);
    expect(bundle.total_entries).to.equal(2 * MIN_LIST_ENTRIES);
    const lists = verifyBundle(JSON.stringify(bundle), { keys: s2.keys, now: at, maxAgeSeconds: 600, chainId: w.chainId });
    expect(lists.get(CENTRAL_AGENCY)!.statusAt(Number(ids.locked & 0xffffffffffn))).to.equal(TokenStatus.SUSPENDED);
    expect(lists.get(LOCAL_GOV)!.ledger.entries).to.equal(0);
    // a list of another block swapped in
    const older = buildStatusListToken(state, CENTRAL_AGENCY, issuerKey, { baseUri: BASE, issuedAt: at });
    const mixed = { ...bundle, lists: bundle.lists.map((l) => (l.agency_code === CENTRAL_AGENCY ? { ...l, token: older } : l)) };
    refusal(() => verifyBundle(mixed, { keys: s2.keys, now: at, maxAgeSeconds: 600 }), "TAMPERED");
    // one organisation's list filed under another
    const swapped = { ...bundle, lists: bundle.lists.map((l) => ({ ...l, agency_code: l.agency_code === CENTRAL_AGENCY ? LOCAL_GOV : CENTRAL_AGENCY })) };
    refusal(() => verifyBundle(swapped, { keys: s2.keys, now: at, maxAgeSeconds: 600 }), "WRONG_KEY");
    refusal(() => verifyBundle("{}", { keys: s2.keys, now: at, maxAgeSeconds: 600 }), "MALFORMED");
    // a co-signature requirement applies to every list
    refusal(() => verifyBundle(bundle, { keys: s2.keys, now: at, maxAgeSeconds: 600, coSignatures: { trusted: [localKey.address], threshold: 1 } }), "INSUFFICIENT_SIGNATURES");
  });

  it("the credential's standard status entry names its organisation's list and its sequence", () => {
    const id = makeCredentialId(CENTRAL_AGENCY, 12345n);
    expect(statusListEntry(BASE + "/", id)).to.deep.equal({ status_list: { idx: 12345, uri: `${BASE}/status-lists/${CENTRAL_AGENCY}` } });
    expect(holderReference(HOLDER_SECRET, "x")).to.match(/^0x/); // the fixture's holder secret is the one credentials were registered with
    expect(ReasonCode.SUPERSEDED_BY_REISSUE).to.equal(5);
  });
});
