import { randomBytes } from "node:crypto";

export type ChallengeVerdict = "ok" | "unknown" | "replayed" | "expired";

/**
 * Where a verifier's challenges live: issued once, consumed at most once. {@link ChallengeRegistry} keeps them in
 * memory (one verifier process); `SqliteChallengeStore` (challenge-store.ts) in a database shared by processes.
 */
export interface ChallengeStore {
  /** A fresh challenge. */
  issue(): string;
  /** Marks the challenge used, atomically; says why not if it cannot be. */
  consume(challenge: string): ChallengeVerdict;
}

/**
 * Single-use challenges (nonces) a verifier hands to the wallet. A presentation is accepted only with a challenge
 * this verifier issued, not yet used and not expired; consuming is synchronous, so two concurrent verifications
 * of the same presentation can never both succeed. Memory is bounded: expired entries are dropped, and at most
 * `maxOutstanding` challenges are outstanding (the oldest are dropped first).
 */
export class ChallengeRegistry implements ChallengeStore {
  private readonly outstanding = new Map<string, number>(); // challenge -> expires at (ms)
  private readonly used = new Map<string, number>(); //        challenge -> forget after (ms)

  constructor(
    private readonly ttlMs = 120_000,
    private readonly maxOutstanding = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh 128-bit challenge, base64url. */
  issue(): string {
    this.prune();
    const challenge = randomBytes(16).toString("base64url");
    this.outstanding.set(challenge, this.now() + this.ttlMs);
    if (this.outstanding.size > this.maxOutstanding) {
      const oldest = this.outstanding.keys().next().value;
      if (oldest !== undefined) this.outstanding.delete(oldest);
    }
    return challenge;
  }

  /** Marks the challenge used; says why not if it cannot be. */
  consume(challenge: string): ChallengeVerdict {
    const t = this.now();
    if (this.used.has(challenge)) return "replayed";
    const expiresAt = this.outstanding.get(challenge);
    if (expiresAt === undefined) return "unknown";
    this.outstanding.delete(challenge);
    this.used.set(challenge, t + this.ttlMs);
    return t > expiresAt ? "expired" : "ok";
  }

  private prune(): void {
    const t = this.now();
    for (const [c, at] of this.outstanding) {
      if (at >= t) break; // insertion order = expiry order (constant ttl)
      this.outstanding.delete(c);
    }
    for (const [c, at] of this.used) {
      if (at >= t) break;
      this.used.delete(c);
    }
  }
}
