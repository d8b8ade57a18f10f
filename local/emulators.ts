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
 * By default they run in a worker thread of the hub process: on AWS these
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

/** Starts the emulators in the calling thread. */
export async function startEmulators(): Promise<Emulators> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const ddbServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const ddbPort = await listen(ddbServer);
    stops.push(() => close(ddbServer));
    // fauxqs is ESM-only.
    const { startFauxqs } = await import('fauxqs');
    const fauxqs = await startFauxqs({ port: 0, logger: false });
    stops.push(() => fauxqs.stop());
    const ssm = await startLocalSsm();
    stops.push(() => close(ssm.server));
    return {
      endpoints: {
        dynamodb: `http://127.0.0.1:${ddbPort}`,
        sqs: `http://127.0.0.1:${fauxqs.port}`,
        s3: `http://127.0.0.1:${fauxqs.port}`,
        ssm: ssm.endpoint,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Starts the emulators in a worker thread of this process (see emulator-thread.ts). */
export async function startEmulatorsThread(onFatal: (err: Error) => void): Promise<Emulators> {
  const thread = await startThread<EmulatorEndpoints>('emulator-thread.ts', undefined, (event) => {
    const { fatal } = event as { fatal?: string };
    if (fatal !== undefined) onFatal(new Error(fatal));
  });
  return { endpoints: thread.ready, stop: () => thread.stop() };
}
