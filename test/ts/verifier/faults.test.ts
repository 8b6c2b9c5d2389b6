/**
 * The verifier when its node fails (down, slow, answering garbage), with and without a local index to fall back
 * on, under concurrent load, and how fast a lock reaches the gate through each kind of ledger view.
 */
import { expect } from "chai";
import { AbiCoder, Wallet, type Provider } from "ethers";
import { civilIdWorld } from "../helpers/world.js";
import { craftPresentation, flipSignatureBit, nowSeconds, type Holder } from "../helpers/forge.js";
import { deadProvider, hangingProvider, providerWith } from "../helpers/faulty-provider.js";
import { connectLedger } from "../../../sdk/chain/contracts.js";
import { OnlineLedgerView, type LedgerView } from "../../../sdk/status/ledger-view.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { PresentationVerifier, type VerificationResult, type VerifierOptions } from "../../../sdk/verifier/verifier.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";

type World = Awaited<ReturnType<typeof civilIdWorld>>;
type Snapshot = Awaited<ReturnType<World["networkHelpers"]["takeSnapshot"]>>;

const AUD = "login:mail.korea.kr";
const POLICY = POLICIES.mailLogin;

describe("PresentationVerifier under faults and load", function () {
  let w: World;
  let snapshot: Snapshot;
  let holder: Holder;
  let base: { jwt: string; credentialId: bigint };

  before(async () => {
    w = await civilIdWorld();
    holder = Wallet.createRandom();
    base = await w.issueTo(holder, "person-1");
    snapshot = await w.networkHelpers.takeSnapshot();
  });
  afterEach(async () => {
    await snapshot.restore();
  });

  const onlineView = (provider: Provider = w.provider, timeoutMs?: number) =>
    new OnlineLedgerView(connectLedger(w.ledger.deployment, provider), provider, timeoutMs);

  function verifier(options: Partial<VerifierOptions> = {}): PresentationVerifier {
    return new PresentationVerifier({ ledger: onlineView(), challenges: new ChallengeRegistry(), ...options });
  }

  /** A synced index whose clock can be moved (`index.age(ms)` pretends that much time passed since). */
  async function syncedIndex(maxStalenessMs = 10_000) {
    let offset = 0;
    const index = new LedgerIndex({ provider: w.provider, deployment: w.ledger.deployment, maxStalenessMs, now: () => Date.now() + offset });
    await index.sync();
    return Object.assign(index, { age: (ms: number) => { offset += ms; } });
  }

  async function tap(v: PresentationVerifier, credential = base.jwt, who: Holder = holder): Promise<VerificationResult> {
    const challenge = v.issueChallenge();
    return v.verify(await w.present(who, credential, challenge, AUD), { challenge, audience: AUD, policy: POLICY });
  }

  function expectReasons(result: VerificationResult, reasons: readonly string[], source?: "primary" | "fallback") {
    expect(result.reasons, result.details.join(" | ")).to.deep.equal(reasons);
    expect(result.ok).to.equal(reasons.length === 0);
    if (source) expect(result.ledgerSource).to.equal(source);
  }

  /** Answers `statusOf` with an (ABI-valid) state outside the enum; everything else honestly. */
  function outOfRangeState(): Provider {
    const selector = w.ledger.statusRegistry.interface.getFunction("statusOf").selector;
    return providerWith(w.provider, {
      call: (async (tx: { data?: string }) =>
        tx.data?.startsWith(selector) ? AbiCoder.defaultAbiCoder().encode(["bool", "uint8", "uint8"], [true, 3, 0]) : w.provider.call(tx as never)) as never,
    });
  }

  const garbage: Record<string, () => Provider> = {
    "undecodable call results": () => providerWith(w.provider, { call: (async () => "0xdeadbeef") as never }),
    "empty call results": () => providerWith(w.provider, { call: (async () => "0x") as never }),
    "junk instead of logs": () => providerWith(w.provider, { getLogs: (async () => [{ junk: true }, 42]) as never }),
    "a credential state outside the enum": outOfRangeState,
  };

  describe("node failures", () => {
    it("refuses (LEDGER_UNAVAILABLE) when the node is down", async () => {
      expectReasons(await tap(verifier({ ledger: onlineView(deadProvider(w.provider)) })), ["LEDGER_UNAVAILABLE"]);
    });

    it("refuses (LEDGER_UNAVAILABLE) when the node never answers, within the online view's timeout", async () => {
      const started = Date.now();
      expectReasons(await tap(verifier({ ledger: onlineView(hangingProvider(w.provider), 150) })), ["LEDGER_UNAVAILABLE"]);
      const elapsed = Date.now() - started;
      expect(elapsed).to.be.at.least(150);
      expect(elapsed).to.be.below(2_000);
    });

    for (const [what, make] of Object.entries(garbage)) {
      it(`refuses (LEDGER_UNAVAILABLE) when the node answers garbage: ${what}`, async () => {
        expectReasons(await tap(verifier({ ledger: onlineView(make()) })), ["LEDGER_UNAVAILABLE"]);
      });
    }

    it("refuses (LEDGER_UNAVAILABLE) a view answering a credential state outside the enum, whatever the view", async () => {
      const online = onlineView();
      const lying: LedgerView = {
        chainId: online.chainId,
        statusRegistry: online.statusRegistry,
        issuerTrust: (...a) => online.issuerTrust(...a),
        credentialStatus: async (id) => ({ ...(await online.credentialStatus(id)), state: 3 as never }),
      };
      expectReasons(await tap(verifier({ ledger: lying })), ["LEDGER_UNAVAILABLE"]);
    });
  });

  describe("fallback to the local index", () => {
    const primaries: Record<string, () => LedgerView> = {
      "down": () => onlineView(deadProvider(w.provider)),
      "hanging": () => onlineView(hangingProvider(w.provider), 100),
      "answering garbage": () => onlineView(providerWith(w.provider, { call: (async () => "0xdeadbeef") as never })),
      "answering a credential state outside the enum": () => onlineView(outOfRangeState()),
    };
    for (const [what, primary] of Object.entries(primaries)) {
      it(`accepts from a fresh index when the node is ${what}, and refuses INDEX_STALE once the index is older than its bound`, async () => {
        const index = await syncedIndex(10_000);
        const v = verifier({ ledger: primary(), fallback: index });
        const ok = await tap(v);
        expectReasons(ok, [], "fallback");
        expect(ok.claims?.name).to.equal("홍길동");
        index.age(10_001);
        expectReasons(await tap(v), ["INDEX_STALE"]);
      });
    }

    it("the fallback's verdicts are its own: a locked credential is refused from the index too", async () => {
      await w.registrar.lock(base.credentialId, "LOST_DEVICE");
      const index = await syncedIndex();
      const refused = await tap(verifier({ ledger: onlineView(deadProvider(w.provider)), fallback: index }));
      expectReasons(refused, ["CREDENTIAL_LOCKED"], "fallback");
      expect(refused.statusReason).to.equal("LOST_DEVICE");
    });

    it("a healthy node is always preferred to the index", async () => {
      const index = await syncedIndex();
      expectReasons(await tap(verifier({ fallback: index })), [], "primary");
      index.age(60_000); // a stale fallback is never consulted while the node answers
      expectReasons(await tap(verifier({ fallback: index })), [], "primary");
    });

    it("with the whole node gone (DID resolution too), admits credentials it already verified and refuses new ones", async () => {
      const newcomer = Wallet.createRandom();
      const second = await w.issueTo(newcomer, "person-2");
      const index = await syncedIndex();
      let down = false;
      const fail = () => Promise.reject(new Error("connect ECONNREFUSED 10.0.0.5:8545"));
      const flaky = providerWith(w.provider, {
        call: ((tx: never) => (down ? fail() : w.provider.call(tx))) as never,
        getLogs: ((filter: never) => (down ? fail() : w.provider.getLogs(filter))) as never,
        getBlock: ((tag: never) => (down ? fail() : w.provider.getBlock(tag))) as never,
        getBlockNumber: (() => (down ? fail() : w.provider.getBlockNumber())) as never,
      });
      const v = verifier({ ledger: onlineView(flaky), fallback: index });
      expectReasons(await tap(v), [], "primary");
      down = true;
      expectReasons(await tap(v), [], "fallback"); // signature remembered, status from the index
      // A credential never seen before needs no node either: its issuer's key is verified with OpenSSL (no DID
      // resolution), trust and status come from the index.
      expectReasons(await tap(v, second.jwt, newcomer), [], "fallback");
    });
  });

  describe("concurrency", () => {
    it("50 parallel verifications give the same answers as one at a time", async function () {
      this.timeout(60_000);
      const holders = Array.from({ length: 10 }, () => Wallet.createRandom());
      const credentials: Awaited<ReturnType<World["issueTo"]>>[] = [];
      for (const [i, h] of holders.entries()) credentials.push(await w.issueTo(h, `crowd-${i}`));
      await w.registrar.lock(credentials[3]!.credentialId, "LOST_DEVICE");
      await w.registrar.revoke(credentials[7]!.credentialId, "LEFT_SERVICE");

      /** Scenario i for verifier v: holder i % 10, variant ⌊i / 10⌋ (genuine, wrong audience, tampered, expired, someone else's). */
      async function scenario(v: PresentationVerifier, i: number) {
        const who = holders[i % 10]!;
        const jwt = credentials[i % 10]!.jwt;
        const challenge = v.issueChallenge();
        const t = nowSeconds();
        let vp: string;
        switch (Math.floor(i / 10)) {
          case 0: vp = await w.present(who, jwt, challenge, AUD); break;
          case 1: vp = await w.present(who, jwt, challenge, "login:elsewhere"); break;
          case 2: vp = flipSignatureBit(await w.present(who, jwt, challenge, AUD)); break;
          case 3: vp = await craftPresentation(w.chainId, who, [jwt], { nonce: challenge, aud: AUD, iat: t - 600, exp: t - 300 }); break;
          default: vp = await w.present(holders[(i + 1) % 10]!, jwt, challenge, AUD);
        }
        return { vp, challenge };
      }
      const run = async (v: PresentationVerifier, s: { vp: string; challenge: string }) =>
        v.verify(s.vp, { challenge: s.challenge, audience: AUD, policy: POLICY });

      const one = verifier();
      const sequential: VerificationResult[] = [];
      for (let i = 0; i < 50; i++) sequential.push(await run(one, await scenario(one, i)));
      const many = verifier();
      const scenarios = await Promise.all(Array.from({ length: 50 }, (_, i) => scenario(many, i)));
      const parallel = await Promise.all(scenarios.map((s) => run(many, s)));

      const view = (r: VerificationResult) => ({ ok: r.ok, reasons: r.reasons, holder: r.holder, claims: r.claims });
      expect(parallel.map(view)).to.deep.equal(sequential.map(view));
      const tally = new Map<string, number>();
      for (const r of parallel) tally.set(r.reasons.join(",") || "ok", (tally.get(r.reasons.join(",") || "ok") ?? 0) + 1);
      expect(Object.fromEntries(tally)).to.deep.equal({
        ok: 8, CREDENTIAL_LOCKED: 1, CREDENTIAL_REVOKED: 1, AUDIENCE_MISMATCH: 10,
        BAD_PRESENTATION_SIGNATURE: 10, PRESENTATION_EXPIRED: 10, HOLDER_MISMATCH: 10,
      });
    });

    it("the same presentation and challenge verified 20 times at once succeeds exactly once", async () => {
      const v = verifier();
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      const results = await Promise.all(Array.from({ length: 20 }, () => v.verify(vp, { challenge, audience: AUD, policy: POLICY })));
      expect(results.filter((r) => r.ok)).to.have.length(1);
      expect(results.filter((r) => !r.ok).map((r) => r.reasons)).to.deep.equal(Array(19).fill(["CHALLENGE_REPLAYED"]));
    });
  });

  describe("lock propagation", () => {
    it("the online verifier refuses at the next verification after a lock", async () => {
      const v = verifier();
      expectReasons(await tap(v), [], "primary");
      await w.registrar.lock(base.credentialId, "LOST_DEVICE");
      expectReasons(await tap(v), ["CREDENTIAL_LOCKED"], "primary");
    });

    it("an indexed verifier refuses right after its next sync()", async () => {
      const index = await syncedIndex();
      const v = verifier({ ledger: index });
      expectReasons(await tap(v), [], "primary");
      await w.registrar.lock(base.credentialId, "LOST_DEVICE");
      // Until it syncs, the index answers from the block it last saw (bounded by maxStalenessMs).
      expectReasons(await tap(v), [], "primary");
      await index.sync();
      expectReasons(await tap(v), ["CREDENTIAL_LOCKED"], "primary");
    });
  });
});
