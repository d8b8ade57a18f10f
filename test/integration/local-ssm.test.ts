import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SsmSecretSource, secretParameterName } from '../../lambdas/adapters/secrets';
import { startLocalSsm } from '../../local/ssm-server';
import { RequestPreparationError } from '../../lambdas/shared/errors';

/** The local SSM endpoint speaks enough of the real protocol for the SDK and Powertools. */
let ssm: Awaited<ReturnType<typeof startLocalSsm>>;
let client: SSMClient;

beforeAll(async () => {
  ssm = await startLocalSsm();
  client = new SSMClient({
    region: 'us-east-1',
    endpoint: ssm.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((r) => ssm.server.close(() => r()));
});

test('SecureString values come back decrypted, cached for maxAge', async () => {
  const name = secretParameterName('local', 'orders', 'token');
  expect(name).toBe('/crm-bridge/local/connectors/orders/token');
  await client.send(new PutParameterCommand({ Name: name, Value: 'v1', Type: 'SecureString' }));
  const source = new SsmSecretSource(new SSMProvider({ awsSdkV3Client: client }), 'local', 300);
  expect(await source.get('orders', 'token')).toBe('v1');
  await client.send(new PutParameterCommand({ Name: name, Value: 'v2', Type: 'SecureString', Overwrite: true }));
  expect(await source.get('orders', 'token')).toBe('v1'); // cached
  const fresh = new SsmSecretSource(new SSMProvider({ awsSdkV3Client: client }), 'local', 300);
  expect(await fresh.get('orders', 'token')).toBe('v2');
});

test('a missing secret is a preparation error naming the command to fix it', async () => {
  const source = new SsmSecretSource(new SSMProvider({ awsSdkV3Client: client }), 'local', 0);
  const err = await source.get('orders', 'nope').catch((e) => e);
  expect(err).toBeInstanceOf(RequestPreparationError);
  expect(err.code).toBe('SECRET_NOT_FOUND');
  expect(err.message).toContain('crm-bridge secrets put orders nope');
});

test('overwriting needs Overwrite; listing by path hides SecureString values', async () => {
  await client.send(
    new PutParameterCommand({ Name: '/crm-bridge/local/connectors/a/x', Value: 'secret-x', Type: 'SecureString' }),
  );
  await expect(
    client.send(
      new PutParameterCommand({ Name: '/crm-bridge/local/connectors/a/x', Value: 'y', Type: 'SecureString' }),
    ),
  ).rejects.toMatchObject({ name: 'ParameterAlreadyExists' });
  const page = await client.send(
    new GetParametersByPathCommand({ Path: '/crm-bridge/local/connectors/a/', Recursive: true, WithDecryption: false }),
  );
  expect(page.Parameters!.map((p) => p.Name)).toEqual(['/crm-bridge/local/connectors/a/x']);
  expect(JSON.stringify(page)).not.toContain('secret-x');
});
