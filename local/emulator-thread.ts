import { startEmulatorGroup, type EmulatorEndpoints, type EmulatorGroup } from './emulators';
import { serveThread } from './thread';

/** Thread entry: one group of emulators (see EMULATOR_GROUPS), reporting its endpoints to the hub. */
serveThread<EmulatorGroup, Partial<EmulatorEndpoints>>(async (group) => {
  const emulators = await startEmulatorGroup(group);
  return { ready: emulators.endpoints, stop: () => emulators.stop() };
});
