import { readConfig } from '../../lib/config';
import { propsOf, synth } from './support';

const read = (context: Record<string, unknown>) => readConfig((k) => context[k]);

describe('readConfig', () => {
  test('defaults', () => {
    expect(read({})).toEqual({
      stage: 'dev',
      workerConcurrency: 25,
      workerReservedConcurrency: 25,
      maxReceiveCount: 25,
      apiAuth: 'iam',
      corsOrigins: [],
      removalPolicy: 'retain',
      salesforcePrincipalArn: undefined,
      salesforceExternalId: 'crm-bridge-dev',
      allowPrivateTargets: false,
      malwareScan: 'none',
    });
  });

  test('-c values arrive as strings and are accepted in that form', () => {
    const c = read({
      stage: 'prod',
      workerConcurrency: '40',
      workerReservedConcurrency: '50',
      corsOrigins: 'https://a.lightning.force.com, https://b.my.salesforce.com',
      removalPolicy: 'DESTROY',
      maxReceiveCount: '30',
      salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/sf',
      salesforceExternalId: 'org-00D-prod',
    });
    expect(c).toMatchObject({
      stage: 'prod',
      workerConcurrency: 40,
      workerReservedConcurrency: 50,
      maxReceiveCount: 30,
      removalPolicy: 'destroy',
      salesforceExternalId: 'org-00D-prod',
    });
    expect(c.corsOrigins).toEqual(['https://a.lightning.force.com', 'https://b.my.salesforce.com']);
    expect(read({ corsOrigins: '["https://a.example.com"]' }).corsOrigins).toEqual(['https://a.example.com']);
    expect(read({ corsOrigins: ['https://a.example.com'] }).corsOrigins).toEqual(['https://a.example.com']);
  });

  test('reserved concurrency follows workerConcurrency; 0 or false reserves none', () => {
    expect(read({ workerConcurrency: 5 }).workerReservedConcurrency).toBe(5);
    for (const none of [0, '0', false, 'false'])
      expect(read({ workerConcurrency: 5, workerReservedConcurrency: none }).workerReservedConcurrency).toBe(false);
  });

  test('salesforce principal: ARN or account id, with an external id', () => {
    expect(
      read({ salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/sf', salesforceExternalId: 'org-00D' }),
    ).toMatchObject({
      salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/sf',
      salesforceExternalId: 'org-00D',
    });
    expect(
      read({ salesforcePrincipalArn: '222222222222', salesforceExternalId: 'org-00D' }).salesforcePrincipalArn,
    ).toBe('222222222222');
  });

  test('a stage other than dev needs an explicit principal and external ID (iam mode); dev and apiKey mode do not', () => {
    const message =
      /Stage "prod" needs context "salesforcePrincipalArn" and "salesforceExternalId" .*guessable external ID "crm-bridge-prod".*-c salesforcePrincipalArn=.*-c salesforceExternalId=/;
    expect(() => read({ stage: 'prod' })).toThrow(message);
    expect(() => read({ stage: 'prod', salesforceExternalId: 'org-00D' })).toThrow(message);
    expect(() => read({ stage: 'prod', apiAuth: 'iam' })).toThrow(message);
    expect(
      read({ stage: 'prod', salesforcePrincipalArn: '222222222222', salesforceExternalId: 'org-00D' })
        .salesforceExternalId,
    ).toBe('org-00D');
    expect(read({ stage: 'prod', apiAuth: 'apiKey' }).apiAuth).toBe('apiKey');
    expect(read({}).salesforceExternalId).toBe('crm-bridge-dev');
    expect(() => synth({ stage: 'staging' })).toThrow(/Stage "staging" needs context "salesforcePrincipalArn"/);
  });

  test.each<[Record<string, unknown>, RegExp]>([
    [{ workerConcurrency: 1 }, /"workerConcurrency" must be between 2 and 1000/],
    [{ workerConcurrency: 1001 }, /between 2 and 1000/],
    [{ workerConcurrency: 'lots' }, /"workerConcurrency" must be an integer/],
    [{ workerConcurrency: 2.5 }, /must be an integer/],
    [
      { workerConcurrency: 25, workerReservedConcurrency: 10 },
      /"workerReservedConcurrency" must be at least "workerConcurrency" \(25\) or 0/,
    ],
    [{ workerReservedConcurrency: -1 }, /at least "workerConcurrency"/],
    [{ workerReservedConcurrency: 'many' }, /must be an integer/],
    [
      { maxReceiveCount: 15 },
      /"maxReceiveCount" must be an integer from 19 to 1000: a job still retrying can need 19 receives .* healthy jobs to the dead-letter queue; the default 25 .*; got 15/,
    ],
    [{ maxReceiveCount: '18' }, /"maxReceiveCount" must be an integer from 19 to 1000/],
    [{ maxReceiveCount: 1001 }, /"maxReceiveCount" must be an integer from 19 to 1000/],
    [{ maxReceiveCount: 'many' }, /"maxReceiveCount" must be an integer/],
    [{ apiAuth: 'open' }, /"apiAuth" must be "iam" or "apiKey"/],
    [{ stage: 'Prod!' }, /"stage" must be 1-20 lowercase/],
    [{ stage: 'a-very-long-stage-name-indeed' }, /"stage"/],
    [{ corsOrigins: 'http://insecure.example.com' }, /https origins/],
    [{ corsOrigins: 'https://acme.example.com/path' }, /without a path/],
    [{ corsOrigins: '[not json' }, /JSON array/],
    [{ removalPolicy: 'snapshot' }, /"removalPolicy" must be "retain" or "destroy"/],
    [{ salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/sf' }, /"salesforceExternalId" is required/],
    [{ salesforcePrincipalArn: 'salesforce', salesforceExternalId: 'x1' }, /IAM ARN .* or a 12-digit account id/],
    [{ salesforceExternalId: 'has spaces in it' }, /"salesforceExternalId" must be/],
    [{ apiAuth: 'apiKey', salesforceExternalId: 'org-1' }, /apply only with apiAuth "iam"/],
    [{ allowPrivateTargets: 'yes' }, /"allowPrivateTargets" must be true or false/],
  ])('bad context %j is refused with a message naming the key', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  test('bad context fails the synth', () => {
    expect(() => synth({ workerConcurrency: 0 })).toThrow(/workerConcurrency/);
    expect(() => synth({ maxReceiveCount: 10 })).toThrow(/"maxReceiveCount" must be an integer from 19/);
  });

  test('allowPrivateTargets reaches the worker as INTERNAL_TARGETS (refused unless set)', () => {
    expect(read({ allowPrivateTargets: 'true' }).allowPrivateTargets).toBe(true);
    expect(read({ allowPrivateTargets: false }).allowPrivateTargets).toBe(false);
    const { stack, template } = synth({ allowPrivateTargets: 'true' });
    expect(propsOf(template, stack.jobs.worker).Environment.Variables.INTERNAL_TARGETS).toBe('opt-in');
  });

  test('maxReceiveCount reaches the job queue redrive policy', () => {
    const { stack, template } = synth({ maxReceiveCount: '40' });
    expect(propsOf(template, stack.jobs.queue).RedrivePolicy.maxReceiveCount).toBe(40);
  });
});
