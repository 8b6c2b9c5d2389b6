/**
 * The uses a relying party may request, as the bits of the on-chain listing's `uses` mask
 * (RelyingPartyRegistry). One bit per use policy id (sdk/verifier/policies.ts): a gate operator's key is granted
 * "building-gate" only, so a request it signs for "on-duty-identity" (which asks for every claim) is refused by the
 * wallet before anything is shown.
 */
import { CivilIdError } from "../errors.js";

export const USE_BITS = {
  "building-gate": 1 << 0,
  "mail-login": 1 << 1,
  "business-system-login": 1 << 2,
  "library-card": 1 << 3,
  "on-duty-identity": 1 << 4,
  "document-signature": 1 << 5,
} as const;

export type UseId = keyof typeof USE_BITS;

/** Every bit the listing may carry today. */
export const ALL_USES_MASK = Object.values(USE_BITS).reduce((a, b) => a | b, 0);

export function isUseId(value: unknown): value is UseId {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(USE_BITS, value);
}

/** The bit of one use; throws INVALID_INPUT naming the known uses. */
export function useBit(use: string): number {
  if (!isUseId(use)) throw new CivilIdError("INVALID_INPUT", `Unknown use ${JSON.stringify(use)}: one of ${Object.keys(USE_BITS).join(", ")}.`);
  return USE_BITS[use];
}

/** The mask of a list of uses (non-empty, no unknown use). */
export function usesMask(uses: readonly string[]): number {
  if (uses.length === 0) throw new CivilIdError("INVALID_INPUT", "Name at least one use.");
  let mask = 0;
  for (const use of uses) mask |= useBit(use);
  return mask;
}

/** The uses of a mask, in bit order (unknown bits are ignored: a newer listing may know more uses). */
export function usesOfMask(mask: number): UseId[] {
  return (Object.keys(USE_BITS) as UseId[]).filter((use) => (mask & USE_BITS[use]) !== 0);
}
