/**
 * The verifier's ledger health as its kiosk API sends it (`GET /kiosk/health`, the `health` event of
 * `GET /presentations/{id}/events`), declared once: the service builds it (services/verifier/ledger-health.ts,
 * whose response schema is checked against it) and the gate page reads it. Plain TypeScript with no imports, so
 * both the pages and the services may use it.
 */
export const LEDGER_HEALTH_STATES = ["ok", "stale", "unavailable"] as const;
export type LedgerHealthState = (typeof LEDGER_HEALTH_STATES)[number];

export interface LedgerHealth {
  readonly state: LedgerHealthState;
  /** The newest block a quorum of nodes agreed on at the last successful probe (-1 before the first). */
  readonly block: number;
  /** Milliseconds since the last successful probe (null before the first). */
  readonly stalenessMs: number | null;
  readonly maxStalenessMs: number;
  /** Nodes currently usable / configured, and how many must agree. */
  readonly nodesUsable: number;
  readonly nodesTotal: number;
  readonly quorum: number;
  /** ISO 8601 of the last successful probe, null before the first. */
  readonly syncedAt: string | null;
  /** Why the last probe failed (operators' detail), when it did. */
  readonly lastError?: string;
}
