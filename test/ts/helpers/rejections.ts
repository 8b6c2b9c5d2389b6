/** Assertions on rejected promises, shared by the suites (one wording, one way to fail when nothing is thrown). */
import { expect } from "chai";
import { isCivilIdError, type ErrorCode } from "../../../sdk/errors.js";

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

/** Expects `promise` to reject with a CivilIdError of `code` (the message names the error it got instead). */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await rejection(promise).catch((e: unknown) => {
    throw new Error(`expected a ${code} rejection`, { cause: e });
  });
  expect(isCivilIdError(error, code), String(error)).to.equal(true);
}
