import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { startLocalSsm } from './ssm-server';
import { startThread } from './thread';

/**
 * The local stand-ins for AWS services: dynalite (DynamoDB), fauxqs (SQS, S3)
 * and the local SSM endpoint, each an HTTP server on 127.0.0.1 that the real
 * SDK clients reach over HTTP.
 *
 * By default they run in worker threads of the hub process: on AWS these
 * services do not share a CPU with the Lambdas, and in one thread their
 * request handling (dynalite parses and validates every call) competes with
 * the handlers for the same core. Still one process: Ctrl-C stops it all.
 */
export interface EmulatorEndpoints {
  dynamodb: string;
  sqs: string;
  s3: string;
  ssm: string;
}

export interface Emulators {
  endpoints: EmulatorEndpoints;
  stop(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** What one emulator thread serves: dynalite alone, or fauxqs (SQS, S3) with the SSM endpoint. */
export const EMULATOR_GROUPS = {
  async dynamodb(stops: Array<() => Promise<void>>): Promise<Pick<EmulatorEndpoints, 'dynamodb'>> {
    const ddbServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const ddbPort = await listen(ddbServer);
    stops.push(() => close(ddbServer));
    return { dynamodb: `http://127.0.0.1:${ddbPort}` };
  },
  async queues(stops: Array<() => Promise<void>>): Promise<Pick<EmulatorEndpoints, 'sqs' | 's3' | 'ssm'>> {
    // fauxqs is ESM-only. Its startFauxqs() listens on 0.0.0.0 whatever host it is given
    // (an unauthenticated SQS/S3 open to the network), so the app it builds is started here, on loopback.
    const { buildApp } = await import('fauxqs');
    const fauxqs = buildApp({ logger: false });
    const address = await fauxqs.listen({ port: 0, host: '127.0.0.1' });
    stops.push(() => fauxqs.close());
    const fauxqsPort = new URL(address).port;
    const ssm = await startLocalSsm();
    stops.push(() => close(ssm.server));
    return { sqs: `http://127.0.0.1:${fauxqsPort}`, s3: `http://127.0.0.1:${fauxqsPort}`, ssm: ssm.endpoint };
  },
};
export type EmulatorGroup = keyof typeof EMULATOR_GROUPS;

/** Runs `start` with a list of stops; on failure, stops what it started and rethrows. */
async function started<T>(
  start: (stops: Array<() => Promise<void>>) => Promise<T>,
): Promise<{ value: T; stop: () => Promise<void> }> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    return { value: await start(stops), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Starts one group of emulators in the calling thread (see emulator-thread.ts). */
export async function startEmulatorGroup(
  group: EmulatorGroup,
): Promise<{ endpoints: Partial<EmulatorEndpoints>; stop(): Promise<void> }> {
  const { value, stop } = await started<Partial<EmulatorEndpoints>>((stops) => EMULATOR_GROUPS[group](stops));
  return { endpoints: value, stop };
}

/** Starts every emulator in the calling thread. */
export async function startEmulators(): Promise<Emulators> {
  const { value, stop } = await started(async (stops) => ({
    ...(await EMULATOR_GROUPS.dynamodb(stops)),
    ...(await EMULATOR_GROUPS.queues(stops)),
  }));
  return { endpoints: value, stop };
}

/**
 * Starts the emulators in two worker threads of this process: DynamoDB in one,
 * SQS/S3/SSM in the other, so a burst of requests to one service does not
 * queue the other's behind it (on AWS they are separate services).
 */
export async function startEmulatorsThread(onFatal: (err: Error) => void): Promise<Emulators> {
  const onEvent = (event: unknown) => {
    const { fatal } = event as { fatal?: string };
    if (fatal !== undefined) onFatal(new Error(fatal));
  };
  const [dynamodb, queues] = await Promise.allSettled([
    startThread<Pick<EmulatorEndpoints, 'dynamodb'>>('emulator-thread.ts', 'dynamodb' satisfies EmulatorGroup, onEvent),
    startThread<Pick<EmulatorEndpoints, 'sqs' | 's3' | 'ssm'>>(
      'emulator-thread.ts',
      'queues' satisfies EmulatorGroup,
      onEvent,
    ),
  ]);
  const stop = async () => {
    await Promise.all([dynamodb, queues].map((t) => (t.status === 'fulfilled' ? t.value.stop() : Promise.resolve())));
  };
  if (dynamodb.status === 'rejected') {
    await stop();
    throw dynamodb.reason;
  }
  if (queues.status === 'rejected') {
    await stop();
    throw queues.reason;
  }
  return { endpoints: { ...dynamodb.value.ready, ...queues.value.ready }, stop };
}
