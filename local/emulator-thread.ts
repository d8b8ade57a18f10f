import { startEmulators, type EmulatorEndpoints } from './emulators';
import { serveThread } from './thread';

/** Thread entry: the emulators, reporting their endpoints to the hub. */
serveThread<void, EmulatorEndpoints>(async () => {
  const emulators = await startEmulators();
  return { ready: emulators.endpoints, stop: () => emulators.stop() };
});
