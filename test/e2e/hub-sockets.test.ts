import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { startHubProcess, type RunningHub } from '../../local/hub-process';

/**
 * `npm start` opens an unauthenticated DynamoDB, SQS, S3 and SSM and an API: every
 * listening socket of the hub process must be on 127.0.0.1, never on all interfaces.
 * Read from /proc (Linux): the sockets in LISTEN state whose inode is one of the pid's fds.
 */
interface Listener {
  address: string;
  port: number;
}

/** One 32-bit word of /proc/net/tcp*, printed in host byte order, as the 4 bytes of the address. */
function wordBytes(hex: string): number[] {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return endianness() === 'LE' ? bytes.reverse() : bytes;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) return wordBytes(hex).join('.');
  const bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(hex.slice(i, i + 8)));
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

function listeningSockets(pid: number): Listener[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const out: Listener[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [local, state, inode] = [f[1]!, f[3]!, f[9]!];
      if (state !== '0A' || !inodes.has(inode)) continue; // 0A = LISTEN
      const [addr, port] = local.split(':');
      out.push({ address: decodeAddress(addr!), port: parseInt(port!, 16) });
    }
  }
  return out;
}

const portOf = (url: string) => Number(new URL(url).port);

describe('the local hub', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHubProcess();
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
  });

  test('decodes /proc addresses', () => {
    expect(decodeAddress(endianness() === 'LE' ? '0100007F' : '7F000001')).toBe('127.0.0.1');
    expect(decodeAddress('00000000')).toBe('0.0.0.0');
    expect(decodeAddress('00000000000000000000000000000000')).toBe('0:0:0:0:0:0:0:0');
  });

  (process.platform === 'linux' ? test : test.skip)('listens on 127.0.0.1 only', () => {
    const sockets = listeningSockets(hub.state.pid);
    // Every service the hub announces is among them, so the check below cannot pass on an empty list.
    const expected = [hub.state.baseUrl, hub.state.echoUrl!, ...Object.values(hub.state.endpoints)].map(portOf);
    expect(sockets.map((s) => s.port)).toEqual(expect.arrayContaining(expected));
    expect(sockets.filter((s) => s.address !== '127.0.0.1')).toEqual([]);
  });
});
