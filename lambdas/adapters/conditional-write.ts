import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/**
 * Runs a DynamoDB conditional write and answers `failed()` when its condition
 * did not hold (nothing was written); any other error is thrown on.
 */
export async function unlessConditionFails<T, F>(write: () => Promise<T>, failed: () => F): Promise<T | F> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return failed();
    throw err;
  }
}

/** Runs a DynamoDB conditional write: true when it was written, false when its condition did not hold. */
export function conditionHeld(write: () => Promise<unknown>): Promise<boolean> {
  return unlessConditionFails(
    async () => {
      await write();
      return true;
    },
    () => false,
  );
}
