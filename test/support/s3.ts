import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * fauxqs's S3 on 127.0.0.1 in a child process (fauxqs is ESM-only, which a
 * ts-jest test cannot require), reached by the real SDK client. Tests must call stop().
 */
export async function startS3(): Promise<{
  client: S3Client;
  endpoint: string;
  createBucket(name: string): Promise<string>;
  stop(): Promise<void>;
}> {
  const dist = join(__dirname, '../../node_modules/fauxqs/dist');
  const url = (p: string) => pathToFileURL(join(dist, p)).href;
  // buildApp with the stores startFauxqs would make, listening on loopback only (startFauxqs binds 0.0.0.0).
  const script = `
    import { buildApp } from ${JSON.stringify(url('app.js'))};
    import { SqsStore } from ${JSON.stringify(url('sqs/sqsStore.js'))};
    import { SnsStore } from ${JSON.stringify(url('sns/snsStore.js'))};
    import { S3Store } from ${JSON.stringify(url('s3/s3Store.js'))};
    const app = buildApp({ logger: false, stores: { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() } });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    process.stdout.write('PORT ' + new URL(address).port + '\\n');
    process.stdin.on('end', () => app.close().then(() => process.exit(0)));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fauxqs did not start:\n${output}`)), 20_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /PORT (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fauxqs exited with ${code}:\n${output}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    client,
    endpoint,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      client.destroy();
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill();
    },
  };
}
