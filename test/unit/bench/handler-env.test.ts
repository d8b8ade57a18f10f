import { DUMMY_ENV } from '../../../bench/handler-env';
import { CONTROLLER_ENV, WORKER_ENV } from '../../../lambdas/contract/env';
import { readEnv } from '../../../lambdas/shared/env';

// The bundle and observability benches require() each handler in a fresh node with this env: a variable the
// handler needs and the bench does not set stops the bench at load.
test.each([
  ['controller', CONTROLLER_ENV],
  ['worker', WORKER_ENV],
] as const)('the bundle bench env is enough for the %s to load', (_, spec) => {
  expect(() => readEnv(spec, DUMMY_ENV)).not.toThrow();
});
