import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { SqliteChallengeStore } from "../../../sdk/verifier/challenge-store.js";
import { PresentationVerifier } from "../../../sdk/verifier/verifier.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { isCivilIdError } from "../../../sdk/errors.js";
import { civilIdWorld } from "../helpers/world.js";

const GATE = { audience: "gate:sejong-east", policy: "building-gate" };
const LIBRARY = { audience: "library:sejong", policy: "library-card" };

describe("verifier/challenge-store: single-use challenges shared by processes", () => {
  let dir: string;
  let file: string;
  let t: number;
  const clock = () => t;
  const open = (options = {}) => new SqliteChallengeStore(file, { now: clock, ...options });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mcid-challenges-"));
    file = path.join(dir, "nested", "verifier.sqlite");
    t = Date.parse("2026-03-02T00:00:00Z");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("issues fresh challenges for a scope; each is consumed once, and only in its own scope", () => {
    const store = open();
    const issued = store.issue(GATE);
    expect(issued).to.deep.include({ ...GATE, issuedAt: "2026-03-02T00:00:00.000Z", expiresAt: "2026-03-02T00:02:00.000Z" });
    expect(issued.challenge).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(store.issue(GATE).challenge).to.not.equal(issued.challenge);
    // Another verifier or use does not consume it (and cannot use it).
    expect(store.consume(LIBRARY, issued.challenge)).to.equal("unknown");
    expect(store.consume({ ...GATE, policy: "mail-login" }, issued.challenge)).to.equal("unknown");
    expect(store.consume(GATE, issued.challenge)).to.equal("ok");
    expect(store.consume(GATE, issued.challenge)).to.equal("replayed");
    expect(store.consume(GATE, "never-issued")).to.equal("unknown");
    expect(store.consume(GATE, "")).to.equal("unknown");
    store.close();
    store.close();
  });

  it("shares state between connections: a challenge issued by one process is consumed once by any", () => {
    const issuer = open();
    const gateA = open();
    const gateB = open();
    const { challenge } = issuer.issue(GATE);
    const verdicts = [gateA.consume(GATE, challenge), gateB.consume(GATE, challenge), gateA.consume(GATE, challenge)];
    expect(verdicts).to.deep.equal(["ok", "replayed", "replayed"]);
    for (const s of [issuer, gateA, gateB]) s.close();
    // And it survives a restart.
    const reopened = open();
    expect(reopened.consume(GATE, challenge)).to.equal("replayed");
    reopened.close();
  });

  it("honours expiry, per challenge lifetimes and retention", () => {
    const store = open({ ttlMs: 60_000, retentionMs: 3_600_000 });
    const short = store.issue(GATE);
    const long = store.issue(GATE, 600_000);
    expect(long.expiresAt).to.equal("2026-03-02T00:10:00.000Z");
    t += 60_000;
    expect(store.consume(GATE, short.challenge)).to.equal("ok"); // at the expiry instant it is still valid
    const late = store.issue(GATE);
    t += 60_001;
    expect(store.consume(GATE, late.challenge)).to.equal("expired");
    expect(store.consume(GATE, late.challenge)).to.equal("replayed");
    expect(store.consume(GATE, long.challenge)).to.equal("ok");
    // Past the retention, rows are dropped on the next issue: a replay is then simply unknown (still refused).
    t += 600_000 + 3_600_001;
    store.issue(GATE);
    expect(store.consume(GATE, long.challenge)).to.equal("unknown");
    store.close();
  });

  it("refuses scopes and lifetimes it cannot honour", () => {
    const store = open();
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return isCivilIdError(error, "INVALID_INPUT");
      }
      return false;
    };
    expect(refused(() => store.issue({ audience: "", policy: "building-gate" }))).to.equal(true);
    expect(refused(() => store.issue({ audience: "gate\n1", policy: "building-gate" }))).to.equal(true);
    expect(refused(() => store.issue({ audience: "gate", policy: " " }))).to.equal(true);
    expect(refused(() => store.issue(GATE, 999))).to.equal(true);
    expect(refused(() => store.issue(GATE, 3_600_001))).to.equal(true);
    expect(refused(() => open({ ttlMs: 0 }))).to.equal(true);
    expect(refused(() => store.scoped({ audience: "gate", policy: "" }))).to.equal(true);
    store.close();
  });

  it("serves a PresentationVerifier: a scoped store accepts its own answer once and refuses replays and foreign challenges", async function () {
    this.timeout(60_000);
    const w = await civilIdWorld();
    const holder = Wallet.createRandom();
    const { jwt } = await w.issueTo(holder, "person-1");
    const store = new SqliteChallengeStore(file);
    const verifier = (scope: typeof GATE) => new PresentationVerifier({ ledger: new OnlineLedgerView(w.ledger, w.provider), challenges: store.scoped(scope) });
    const gate = verifier(GATE);
    const challenge = gate.issueChallenge();
    const vp = await w.present(holder, jwt, challenge, GATE.audience);
    const first = await gate.verify(vp, { challenge, audience: GATE.audience, policy: POLICIES.buildingGate });
    expect(first.ok, first.details.join(" ")).to.equal(true);
    // A second gate process (another store on the same file) sees the replay.
    const other = new SqliteChallengeStore(file);
    const gate2 = new PresentationVerifier({ ledger: new OnlineLedgerView(w.ledger, w.provider), challenges: other.scoped(GATE) });
    expect((await gate2.verify(vp, { challenge, audience: GATE.audience, policy: POLICIES.buildingGate })).reasons).to.deep.equal(["CHALLENGE_REPLAYED"]);
    // A challenge the library issued does not open the gate.
    const libraryChallenge = store.issue(LIBRARY).challenge;
    const foreign = await w.present(holder, jwt, libraryChallenge, GATE.audience);
    expect((await gate.verify(foreign, { challenge: libraryChallenge, audience: GATE.audience, policy: POLICIES.buildingGate })).reasons).to.deep.equal(["CHALLENGE_UNKNOWN"]);
    expect(store.consume(LIBRARY, libraryChallenge)).to.equal("ok");
    store.close();
    other.close();
    await w.connection.close();
  });
});
