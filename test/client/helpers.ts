// Shared by the client's tests.
import assert from "node:assert/strict";
import { OpenworkError } from "../../src/client/index.js";

/** The OpenworkError a promise rejects with (fails the test when it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<OpenworkError> {
  const error = await promise.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof OpenworkError, String(error));
  return error;
}
