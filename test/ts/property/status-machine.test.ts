/**
 * Property: the credential status state machine under random sequences of register (reissue), lock, unlock and
 * revoke by random actors — registrars and help desks of two organisations and an outsider — matches a reference
 * model: every accepted call is one the rules allow, every refused call is one they forbid, and afterwards every
 * credential's on-chain status, every holder's latest credential and the one-device rule agree with the model.
 */
import { expect } from "chai";
import fc from "fast-check";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { CENTRAL_AGENCY, LOCAL_GOV } from "../helpers/fixture.js";
import { holderRef, jwtDigest, useFixture } from "../helpers/ledger-test.js";
import { CredentialState, ReasonCode, makeCredentialId } from "../../../sdk/chain/codes.js";

type Actor = "registrarA" | "helpDeskA" | "registrarB" | "outsider";
type Op =
  | { kind: "register"; actor: Actor; holder: number }
  | { kind: "lock" | "unlock" | "revoke"; actor: Actor; pick: number };

interface ModelCredential { id: bigint; org: number; holder: number; state: CredentialState; reason: number }

const ROLE: Record<Actor, { org: number; registrar: boolean; lock: boolean }> = {
  registrarA: { org: CENTRAL_AGENCY, registrar: true, lock: true },
  helpDeskA: { org: CENTRAL_AGENCY, registrar: false, lock: true },
  registrarB: { org: LOCAL_GOV, registrar: true, lock: true },
  outsider: { org: 0, registrar: false, lock: false },
};
const HOLDERS = 4;

describe("property: status state machine under random actors (reference model)", function () {
  const fx = useFixture();

  it("every accepted and refused call, and the final state, match the model", async function () {
    this.timeout(120_000);
    const snapshot = await fx.f.networkHelpers.takeSnapshot();
    const a = fx.f.actors;
    const signer: Record<Actor, HardhatEthersSigner> = { registrarA: a.registrar, helpDeskA: a.helpDesk, registrarB: a.localRegistrar, outsider: a.outsider };
    const actorArb = fc.constantFrom<Actor>("registrarA", "helpDeskA", "registrarB", "outsider");
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("register" as const), actor: actorArb, holder: fc.nat({ max: HOLDERS - 1 }) }),
      fc.record({ kind: fc.constantFrom("lock" as const, "unlock" as const, "revoke" as const), actor: actorArb, pick: fc.nat() }),
    );

    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 24 }), async (ops) => {
        await snapshot.restore();
        const reg = fx.f.ledger.statusRegistry;
        const creds: ModelCredential[] = [];
        const next: Record<number, bigint> = { [CENTRAL_AGENCY]: 0n, [LOCAL_GOV]: 0n };
        const latest = new Map<number, ModelCredential>();
        for (const op of ops) {
          const role = ROLE[op.actor];
          const as = reg.connect(signer[op.actor]);
          if (op.kind === "register") {
            const previous = latest.get(op.holder);
            const live = previous && previous.state !== CredentialState.Revoked;
            const tx = as.register(holderRef(op.holder), jwtDigest(`${op.holder}-${creds.length}`));
            if (!role.registrar) {
              await expect(tx).to.be.revertedWithCustomError(reg, "NotAuthorised");
            } else if (live && previous.org !== role.org) {
              await expect(tx).to.be.revertedWithCustomError(reg, "HolderActiveElsewhere");
            } else {
              await (await tx).wait();
              if (live) Object.assign(previous, { state: CredentialState.Revoked, reason: ReasonCode.SUPERSEDED_BY_REISSUE });
              const c: ModelCredential = { id: makeCredentialId(role.org, next[role.org]!), org: role.org, holder: op.holder, state: CredentialState.Active, reason: 0 };
              next[role.org]! += 1n;
              creds.push(c);
              latest.set(op.holder, c);
            }
            continue;
          }
          if (creds.length === 0) continue;
          const c = creds[op.pick % creds.length]!;
          const to = op.kind === "lock" ? CredentialState.Locked : op.kind === "unlock" ? CredentialState.Active : CredentialState.Revoked;
          const reason = op.kind === "unlock" ? ReasonCode.FOUND_DEVICE : op.kind === "lock" ? ReasonCode.LOST_DEVICE : ReasonCode.LEFT_SERVICE;
          const tx = as[op.kind](c.id, reason);
          const allowedRole = op.kind === "lock" ? role.lock : role.registrar;
          const legal = to === CredentialState.Locked ? c.state === CredentialState.Active
            : to === CredentialState.Active ? c.state === CredentialState.Locked
            : c.state !== CredentialState.Revoked;
          if (!allowedRole) await expect(tx).to.be.revertedWithCustomError(reg, "NotAuthorised");
          else if (role.org !== c.org) await expect(tx).to.be.revertedWithCustomError(reg, "WrongOrganisation");
          else if (!legal) await expect(tx).to.be.revertedWithCustomError(reg, "InvalidTransition");
          else {
            await (await tx).wait();
            c.state = to;
            c.reason = reason;
          }
        }
        if (creds.length > 0) {
          const [registered, states, reasons] = await reg.statusesOf(creds.map((c) => c.id));
          expect(registered.every(Boolean)).to.equal(true);
          expect(states.map(Number)).to.deep.equal(creds.map((c) => c.state));
          expect(reasons.map(Number)).to.deep.equal(creds.map((c) => c.reason));
        }
        for (let h = 0; h < HOLDERS; h++) {
          expect(await reg.latestCredentialOf(holderRef(h))).to.equal(latest.get(h)?.id ?? 0n);
          const live = creds.filter((c) => c.holder === h && c.state !== CredentialState.Revoked);
          expect(live.length, `holder ${h} has at most one live credential`).to.be.at.most(1);
        }
      }),
      { numRuns: 30, seed: 20261127 },
    );
  });
});
