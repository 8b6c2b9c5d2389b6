/**
 * The governor's threshold band, mirrored from `ConsortiumGovernor.thresholdBounds` (the contract is the authority;
 * this copy only lets the SDK refuse a bad deployment or proposal before sending it, with the same limits).
 */
import { CivilIdError } from "../errors.js";

/** Most members the governor admits (`ConsortiumGovernor.MAX_MEMBERS`). */
export const MAX_MEMBERS = 64;

/** Allowed thresholds for `memberCount` members: a strict majority, at most N − 1 once N ≥ 3. */
export function thresholdBounds(memberCount: number): { min: number; max: number } {
  return { min: Math.floor(memberCount / 2) + 1, max: memberCount >= 3 ? memberCount - 1 : memberCount };
}

/** Throws INVALID_INPUT unless `threshold` is allowed for `memberCount` members (1..MAX_MEMBERS). */
export function checkThreshold(threshold: number, memberCount: number): void {
  if (!Number.isInteger(memberCount) || memberCount < 1 || memberCount > MAX_MEMBERS) {
    throw new CivilIdError("INVALID_INPUT", `A consortium has 1..${MAX_MEMBERS} members (got ${memberCount}).`);
  }
  const { min, max } = thresholdBounds(memberCount);
  if (!Number.isInteger(threshold) || threshold < min || threshold > max) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `Threshold ${threshold} is not allowed for ${memberCount} members: use ${min === max ? min : `${min}..${max}`} ` +
        "(a strict majority, and fewer than all members from 3 members on, so one lost key never blocks governance).",
    );
  }
}
