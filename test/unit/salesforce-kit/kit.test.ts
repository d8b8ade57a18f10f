import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { ApexErrorListener, ApexParserFactory } from '@apexdevtools/apex-parser';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SaxesParser } from 'saxes';
import { fileLinkSchema } from '../../../lambdas/connectors/salesforce/schema';
import { EVENT_FIELDS, MAX_EVENT_TEXT } from '../../../lambdas/delivery/salesforce-delivery';
import { createFileSchema } from '../../../lambdas/routes/file-routes';
import { readConfig } from '../../../lib/config';
import { STACK_OUTPUTS } from '../../../lambdas/contract/stack';

/**
 * The Salesforce kit (salesforce/) cannot be deployed here, so its metadata is checked
 * statically: well-formed XML, and every name one file uses is defined by another.
 */
const ROOT = join(__dirname, '..', '..', '..');
const KIT = join(ROOT, 'salesforce');
const SRC = join(KIT, 'force-app', 'main', 'default');
const API_VERSION = '62.0';

/** The Platform Event fields the hub publishes (the delivery of job outcomes into Salesforce). */
const HUB_EVENT_FIELDS: string[] = Object.values(EVENT_FIELDS);

/**
 * Errors of a conforming XML 1.0 parser (saxes, namespace-aware): Salesforce's metadata deploy parser is
 * strict, so `--` inside a comment, an undeclared entity or a stray `&` fails the whole deploy, while
 * fast-xml-parser's validator lets them through.
 */
function strictXmlErrors(text: string): string[] {
  const errors: string[] = [];
  const parser = new SaxesParser({ xmlns: true });
  parser.on('error', (e) => errors.push(e.message));
  parser.write(text).close();
  return errors;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false, // keep "62.0" and "true" as written
  isArray: (name) =>
    [
      'externalCredentialParameters',
      'namedCredentialParameters',
      'classAccesses',
      'objectPermissions',
      'externalCredentialPrincipalAccesses',
      'labels',
      'userPermissions',
      'fieldPermissions',
    ].includes(name),
});

type Xml = Record<string, any>;

function xml(path: string): Xml {
  return parser.parse(readFileSync(path, 'utf8')) as Xml;
}

/** Component names in a metadata folder: file names without the suffix. */
function names(folder: string, suffix: string): string[] {
  const dir = join(SRC, folder);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(suffix))
        .map((f) => f.slice(0, -suffix.length))
        .sort()
    : [];
}

const classes = names('classes', '.cls');
const apexSource = (name: string) => readFileSync(join(SRC, 'classes', `${name}.cls`), 'utf8');
const isTestClass = (name: string) =>
  /^\s*@IsTest\b/i.test(apexSource(name).replace(/^\s*(\/\*[\s\S]*?\*\/|\/\/.*\n)\s*/g, ''));
const externalCredentials = names('externalCredentials', '.externalCredential-meta.xml');
const namedCredentials = names('namedCredentials', '.namedCredential-meta.xml');
const permissionSets = names('permissionsets', '.permissionset-meta.xml');
const ec = (name: string) =>
  xml(join(SRC, 'externalCredentials', `${name}.externalCredential-meta.xml`)).ExternalCredential as Xml;
const param = (credential: Xml, name: string) =>
  (credential.externalCredentialParameters as Xml[]).find((p) => p.parameterName === name);
const principals = (credential: Xml) =>
  (credential.externalCredentialParameters as Xml[])
    .filter((p) => p.parameterType === 'NamedPrincipal')
    .map((p) => p.parameterName as string);

describe('Salesforce kit: files', () => {
  test('is an SFDX project on API version 62.0', () => {
    const project = JSON.parse(readFileSync(join(KIT, 'sfdx-project.json'), 'utf8')) as {
      sourceApiVersion: string;
      packageDirectories: Array<{ path: string; default?: boolean }>;
    };
    expect(project.sourceApiVersion).toBe(API_VERSION);
    expect(project.packageDirectories).toEqual([{ path: 'force-app', default: true }]);
  });

  test('every XML file is well-formed and in the metadata namespace', () => {
    const files = walk(KIT).filter((f) => f.endsWith('.xml'));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const file of files) {
      const result = XMLValidator.validate(readFileSync(file, 'utf8'));
      expect({ file: relative(ROOT, file), result }).toEqual({ file: relative(ROOT, file), result: true });
      expect(readFileSync(file, 'utf8')).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n/);
      expect(readFileSync(file, 'utf8')).toContain('xmlns="http://soap.sforce.com/2006/04/metadata"');
    }
  });

  test('every XML file passes a strict, conforming XML parser (saxes)', () => {
    const files = walk(KIT).filter((f) => f.endsWith('.xml'));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const file of files)
      expect({ file: relative(ROOT, file), errors: strictXmlErrors(readFileSync(file, 'utf8')) }).toEqual({
        file: relative(ROOT, file),
        errors: [],
      });
  });

  test.each([
    ['"--" inside a comment', '<A><!-- run it with --flag --></A>'],
    ['an undeclared entity', '<A>&nbsp;</A>'],
    ['a stray ampersand', '<A>R&D</A>'],
    ['mismatched tags', '<A><b></A>'],
    ['an undeclared namespace prefix', '<x:A/>'],
  ])('the strict parser rejects %s (the check above can fail)', (_what, text) => {
    expect(strictXmlErrors(`<?xml version="1.0" encoding="UTF-8"?>\n${text}`)).not.toEqual([]);
  });

  test('the validator catches a broken file (the check above can fail)', () => {
    expect(XMLValidator.validate('<?xml version="1.0"?><A><b></A>')).not.toBe(true);
  });

  test('every Apex class has its -meta.xml on API 62.0, and every -meta.xml its class', () => {
    expect(classes.length).toBeGreaterThan(0);
    const metas = readdirSync(join(SRC, 'classes'))
      .filter((f) => f.endsWith('.cls-meta.xml'))
      .map((f) => f.slice(0, -'.cls-meta.xml'.length));
    expect(metas.sort()).toEqual(classes);
    for (const name of classes) {
      const meta = xml(join(SRC, 'classes', `${name}.cls-meta.xml`)).ApexClass as Xml;
      expect({ name, apiVersion: meta.apiVersion, status: meta.status }).toEqual({
        name,
        apiVersion: API_VERSION,
        status: 'Active',
      });
      expect(apexSource(name)).toMatch(new RegExp(`\\bclass\\s+${name}\\b`, 'i'));
    }
  });

  test('no secret is stored in the kit', () => {
    for (const file of walk(KIT)) {
      const text = readFileSync(file, 'utf8');
      expect({ file, awsKey: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/.test(text) }).toEqual({ file, awsKey: false });
      expect({ file, roleArn: /arn:aws:iam::\d{12}:role\//.test(text) }).toEqual({ file, roleArn: false });
    }
  });
});

describe('Salesforce kit: credentials', () => {
  test('both External Credentials and both Named Credentials exist', () => {
    expect(externalCredentials).toEqual(['CrmBridge_ApiKey', 'CrmBridge_SigV4']);
    expect(namedCredentials).toEqual(['CrmBridge', 'CrmBridge_ApiKey']);
  });

  test('each Named Credential is a SecuredEndpoint pointing at an existing External Credential', () => {
    const expected: Record<string, string> = { CrmBridge: 'CrmBridge_SigV4', CrmBridge_ApiKey: 'CrmBridge_ApiKey' };
    for (const name of namedCredentials) {
      const nc = xml(join(SRC, 'namedCredentials', `${name}.namedCredential-meta.xml`)).NamedCredential as Xml;
      expect(nc.namedCredentialType).toBe('SecuredEndpoint');
      expect(nc.calloutStatus).toBe('Enabled');
      const params = nc.namedCredentialParameters as Xml[];
      const auth = params.filter((p) => p.parameterType === 'Authentication');
      expect(auth).toHaveLength(1);
      expect(externalCredentials).toContain(auth[0]!.externalCredential);
      expect(auth[0]!.externalCredential).toBe(expected[name]);
      const url = params.find((p) => p.parameterType === 'Url')?.parameterValue as string;
      // The stack output ApiUrl without its trailing slash: Apex appends /v1/...
      expect(url).toMatch(/^https:\/\/[\w-]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com\/[a-z][a-z0-9-]*$/);
    }
  });

  test('SigV4: STS role variant for execute-api, with the external ID the CDK stack expects by default', () => {
    const sigv4 = ec('CrmBridge_SigV4');
    expect(sigv4.authenticationProtocol).toBe('AwsSv4');
    expect(param(sigv4, 'AwsSv4')).toMatchObject({
      parameterType: 'AuthProtocolVariant',
      parameterValue: 'AwsSv4_STS',
    });
    expect(param(sigv4, 'AwsService')).toMatchObject({ parameterType: 'AuthParameter', parameterValue: 'execute-api' });
    expect(param(sigv4, 'AwsRegion')).toMatchObject({ parameterType: 'AuthParameter' });
    expect(param(sigv4, 'AwsStsPrincipal')).toMatchObject({ parameterType: 'AwsStsPrincipal' });
    expect(param(sigv4, 'AwsExternalId')).toMatchObject({
      parameterType: 'AuthProviderUrlQueryParameter',
      parameterValue: readConfig(() => undefined).salesforceExternalId,
    });
    expect(principals(sigv4)).toEqual(['CrmBridgeRole']);
  });

  test('SigV4: parameter names and types are the Metadata API ones, not the Connect REST API ones', () => {
    // Metadata API / Tooling API, ExternalCredentialParameter.parameterType: "The allowed AuthProviderUrlQueryParameter
    // values are AwsExternalId and AwsDuration, used with AWS STS"; AwsStsPrincipal has no parameterValue. The Connect
    // REST API's External Credential Input names them AwsStsExternalId / AwsStsDuration instead (see docs/salesforce-setup.md).
    const sigv4 = ec('CrmBridge_SigV4');
    const all = (sigv4.externalCredentialParameters as Xml[])
      .map((p) => `${p.parameterType}:${p.parameterName}`)
      .sort();
    expect(all).toEqual([
      'AuthParameter:AwsRegion',
      'AuthParameter:AwsService',
      'AuthProtocolVariant:AwsSv4',
      'AuthProviderUrlQueryParameter:AwsDuration',
      'AuthProviderUrlQueryParameter:AwsExternalId',
      'AwsStsPrincipal:AwsStsPrincipal',
      'NamedPrincipal:CrmBridgeRole',
    ]);
    // The stack's role allows sessions of at most one hour (lib/constructs/salesforce-access.ts maxSessionDuration); STS's minimum is 900 s.
    expect(Number(param(sigv4, 'AwsDuration')!.parameterValue)).toBeGreaterThanOrEqual(900);
    expect(Number(param(sigv4, 'AwsDuration')!.parameterValue)).toBeLessThanOrEqual(3600);
    expect(param(sigv4, 'AwsStsPrincipal')!.parameterValue).toBeUndefined();
    expect(param(sigv4, 'AwsStsExternalId')).toBeUndefined();
    expect(param(sigv4, 'AwsStsDuration')).toBeUndefined();
  });

  test("API key: a Custom x-api-key header read from the principal's ApiKey parameter of this credential", () => {
    const apiKey = ec('CrmBridge_ApiKey');
    expect(apiKey.authenticationProtocol).toBe('Custom');
    const header = param(apiKey, 'x-api-key');
    expect(header).toMatchObject({
      parameterType: 'AuthHeader',
      parameterValue: '{!$Credential.CrmBridge_ApiKey.ApiKey}',
    });
    // $Credential.<External Credential>.<parameter>: the formula must name this very credential.
    expect(String(header!.parameterValue).match(/\$Credential\.(\w+)\./)![1]).toBe('CrmBridge_ApiKey');
    expect(principals(apiKey)).toEqual(['CrmBridgeKey']);
  });

  test('principals are parameter groups of their own (what the permission set grants)', () => {
    for (const name of externalCredentials) {
      for (const p of (ec(name).externalCredentialParameters as Xml[]).filter(
        (x) => x.parameterType === 'NamedPrincipal',
      )) {
        expect(p.parameterGroup).toBe(p.parameterName);
        expect(p.sequenceNumber).toBe('1');
      }
    }
  });
});

describe('Salesforce kit: permission sets, event, label', () => {
  const access = xml(join(SRC, 'permissionsets', 'CrmBridge_Access.permissionset-meta.xml')).PermissionSet as Xml;
  const eventDir = join(SRC, 'objects', 'Callout_Result__e');
  const eventFields = readdirSync(join(eventDir, 'fields')).map((f) => basename(f, '.field-meta.xml'));

  test('CrmBridge_Access grants every principal of both External Credentials', () => {
    const granted = (access.externalCredentialPrincipalAccesses as Xml[]).map((a) => {
      expect(a.enabled).toBe('true');
      return a.externalCredentialPrincipal as string;
    });
    const defined = externalCredentials.flatMap((name) => principals(ec(name)).map((p) => `${name}-${p}`));
    expect(granted.sort()).toEqual(defined.sort());
  });

  test('CrmBridge_Access grants every non-test Apex class, and only existing ones', () => {
    const granted = (access.classAccesses as Xml[]).map((c) => c.apexClass as string).sort();
    expect(granted).toEqual(classes.filter((c) => !isTestClass(c)));
  });

  test('permission sets name only existing objects; the event is readable and publishable', () => {
    expect(permissionSets).toEqual(['CrmBridge_Access', 'CrmBridge_Files_Delete', 'CrmBridge_Integration']);
    // CrmBridge_Files_Delete only adds the delete custom permission to crm-bridge Access.
    for (const name of permissionSets.filter((n) => n !== 'CrmBridge_Files_Delete')) {
      const set = xml(join(SRC, 'permissionsets', `${name}.permissionset-meta.xml`)).PermissionSet as Xml;
      for (const p of set.objectPermissions as Xml[]) {
        const custom = String(p.object).endsWith('__e') || String(p.object).endsWith('__c');
        if (custom) expect(existsSync(join(SRC, 'objects', p.object))).toBe(true);
        if (p.object === 'Callout_Result__e')
          expect({ read: p.allowRead, create: p.allowCreate, edit: p.allowEdit }).toEqual({
            read: 'true',
            create: 'true',
            edit: 'false',
          });
      }
      expect((set.objectPermissions as Xml[]).map((p) => p.object)).toContain('Callout_Result__e');
    }
  });

  test('Callout_Result__e is a high-volume Platform Event published after commit, with the fields the hub sends', () => {
    const event = xml(join(eventDir, 'Callout_Result__e.object-meta.xml')).CustomObject as Xml;
    expect(event).toMatchObject({
      eventType: 'HighVolume',
      publishBehavior: 'PublishAfterCommit',
      deploymentStatus: 'Deployed',
    });
    expect(HUB_EVENT_FIELDS.sort()).toEqual([
      'Connector_Id__c',
      'Error__c',
      'Job_Id__c',
      'Operation__c',
      'Record_Id__c',
      'Result__c',
      'Status__c',
    ]);
    expect(eventFields.sort()).toEqual([...HUB_EVENT_FIELDS].sort());
    for (const name of eventFields) {
      const field = xml(join(eventDir, 'fields', `${name}.field-meta.xml`)).CustomField as Xml;
      expect(field.fullName).toBe(name);
      const long = name === 'Result__c' || name === 'Error__c';
      expect({ name, type: field.type }).toEqual({ name, type: long ? 'LongTextArea' : 'Text' });
      // The hub cuts what it publishes to MAX_EVENT_TEXT: the field must hold that much.
      if (long) expect(Number(field.length)).toBe(MAX_EVENT_TEXT);
    }
  });

  test('every __c field the Apex classes use on the event exists on it', () => {
    const used = new Set<string>();
    for (const name of classes)
      for (const m of apexSource(name).matchAll(/\b([A-Z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c)\b/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((f) => !eventFields.includes(f))).toEqual([]);
  });

  test('the CrmBridge_NamedCredential label names an existing Named Credential', () => {
    const labels = (xml(join(SRC, 'labels', 'CustomLabels.labels-meta.xml')).CustomLabels as Xml).labels as Xml[];
    const label = labels.find((l) => l.fullName === 'CrmBridge_NamedCredential');
    expect(namedCredentials).toContain(label?.value);
    expect(String(label!.shortDescription).length).toBeLessThanOrEqual(80);
  });
});

describe('Salesforce kit: the file link object', () => {
  const defaults = fileLinkSchema.parse({});
  const objectDir = join(SRC, 'objects', defaults.sobject);
  const fieldNames = existsSync(join(objectDir, 'fields'))
    ? readdirSync(join(objectDir, 'fields'))
        .map((f) => basename(f, '.field-meta.xml'))
        .sort()
    : [];
  const field = (name: string) => xml(join(objectDir, 'fields', `${name}.field-meta.xml`)).CustomField as Xml;
  const setOf = (name: string) =>
    xml(join(SRC, 'permissionsets', `${name}.permissionset-meta.xml`)).PermissionSet as Xml;
  const fieldPermissions = (set: Xml) => (set.fieldPermissions ?? []) as Xml[];

  test('the default fileLink target is this object, keyed by an External ID field of it', () => {
    expect(defaults.sobject).toBe('CrmBridge_File__c');
    const object = xml(join(objectDir, `${defaults.sobject}.object-meta.xml`)).CustomObject as Xml;
    expect(object).toMatchObject({ deploymentStatus: 'Deployed', nameField: { type: 'Text' }, sharingModel: 'Read' });
    expect(fieldNames).toContain(defaults.externalIdField);
  });

  test('defines exactly the custom fields the default mapping writes (Name is the standard name field)', () => {
    const mapped = Object.keys(defaults.fields)
      .filter((f) => f.endsWith('__c'))
      .sort();
    expect(Object.keys(defaults.fields).filter((f) => !f.endsWith('__c'))).toEqual(['Name']);
    expect(fieldNames).toEqual(mapped);
    for (const name of fieldNames) expect(field(name).fullName).toBe(name);
  });

  test('File_Id__c: Text(64), External ID, unique', () => {
    expect(field('File_Id__c')).toMatchObject({ type: 'Text', length: '64', externalId: 'true', unique: 'true' });
  });

  test('each field holds what the hub writes into it', () => {
    const max = (key: 'fileName' | 'contentType') =>
      (createFileSchema.shape[key] as unknown as { maxLength: number }).maxLength;
    expect(field('File_Name__c')).toMatchObject({ type: 'Text' });
    expect(Number(field('File_Name__c').length)).toBeGreaterThanOrEqual(max('fileName'));
    expect(Number(field('Content_Type__c').length)).toBeGreaterThanOrEqual(max('contentType'));
    expect(field('Record_Id__c')).toMatchObject({ type: 'Text', length: '18' }); // a link needs a 15- or 18-character record id
    expect(field('Size__c')).toMatchObject({ type: 'Number', precision: '18', scale: '0' }); // 5 TiB has 13 digits
    expect(Number(field('Download_Path__c').length)).toBeGreaterThanOrEqual('/v1/files/'.length + 128); // fileIds are at most 128 characters
    for (const name of fieldNames)
      expect({ name, required: field(name).required }).toEqual({ name, required: 'false' });
  });

  test('crm-bridge Integration may create, edit and read the records and edit every field; crm-bridge Access may read them', () => {
    const integration = setOf('CrmBridge_Integration');
    const access = setOf('CrmBridge_Access');
    const objectPermission = (set: Xml) => (set.objectPermissions as Xml[]).find((p) => p.object === defaults.sobject);
    expect(objectPermission(integration)).toMatchObject({
      allowCreate: 'true',
      allowEdit: 'true',
      allowRead: 'true',
      allowDelete: 'false',
    });
    expect(objectPermission(access)).toMatchObject({
      allowCreate: 'false',
      allowEdit: 'false',
      allowRead: 'true',
      allowDelete: 'false',
    });
    const granted = (set: Xml, editable: string) =>
      fieldPermissions(set)
        .filter(
          (p) => String(p.field).startsWith(`${defaults.sobject}.`) && p.readable === 'true' && p.editable === editable,
        )
        .map((p) => String(p.field).split('.')[1])
        .sort();
    expect(granted(integration, 'true')).toEqual(fieldNames);
    expect(granted(access, 'false')).toEqual(fieldNames);
  });

  test('every field permission names an existing, non-required custom field (Salesforce refuses field permissions on required fields)', () => {
    for (const name of permissionSets) {
      for (const p of fieldPermissions(setOf(name))) {
        const [object, fieldName] = String(p.field).split('.');
        const path = join(SRC, 'objects', object!, 'fields', `${fieldName}.field-meta.xml`);
        expect({ set: name, field: p.field, exists: existsSync(path) }).toEqual({
          set: name,
          field: p.field,
          exists: true,
        });
        expect((xml(path).CustomField as Xml).required).not.toBe('true');
      }
    }
  });
});

describe('Salesforce kit: Apex', () => {
  test('every callout: name and Named Credential literal in Apex is a Named Credential of the kit', () => {
    const referenced = new Set<string>();
    for (const name of classes) {
      const source = apexSource(name);
      for (const m of source.matchAll(/callout:(\w+)/g)) referenced.add(m[1]!);
      for (const m of source.matchAll(/NAMED_CREDENTIAL\s*=\s*'(\w+)'/g)) referenced.add(m[1]!);
      for (const m of source.matchAll(/new CrmBridgeClient\('(\w+)'\)/g)) referenced.add(m[1]!);
    }
    expect(referenced.has('CrmBridge')).toBe(true);
    expect([...referenced].filter((n) => !namedCredentials.includes(n))).toEqual([]);
    expect(apexSource('CrmBridgeClient')).toContain("'callout:' + namedCredential");
  });

  test('the client posts /v1/callouts/{connectorId}/{operation} with an Idempotency-Key and reads /v1/jobs/{jobId}', () => {
    const client = apexSource('CrmBridgeClient');
    expect(client).toContain(
      "newRequest('POST', '/v1/callouts/' + encodeSegment(connectorId) + '/' + encodeSegment(operation))",
    );
    expect(client).toContain("req.setHeader('Idempotency-Key'");
    expect(client).toContain("newRequest('GET', '/v1/jobs/' + encodeSegment(jobId))");
    expect(client).toMatch(/'payload' => payload/);
    expect(client).toMatch(/body\.put\('recordId', recordId\)/);
  });

  test('the client lists jobs (GET /v1/jobs with the filters) and retries one (POST /v1/jobs/{jobId}/retry)', () => {
    const client = apexSource('CrmBridgeClient');
    expect(client).toMatch(
      /public JobPage listJobs\(String connectorId, String status, Integer limitCount, String nextToken\)/,
    );
    expect(client).toContain("newRequest('GET', '/v1/jobs?' + String.join(query, '&'))");
    for (const param of ['connectorId', 'status', 'limit', 'nextToken'])
      expect(client).toContain(`query.add('${param}=`);
    expect(client).toMatch(/public Accepted retryJob\(String jobId\)/);
    expect(client).toContain("newRequest('POST', '/v1/jobs/' + encodeSegment(jobId) + '/retry')");
    const tests = apexSource('CrmBridgeClientTest');
    expect(tests).toMatch(/\.listJobs\(/);
    expect(tests).toMatch(/\.retryJob\(/);
  });

  test('every non-test class has a test class that mocks the HTTP callouts', () => {
    const production = classes.filter((c) => !isTestClass(c));
    expect(production.sort()).toEqual([
      'CrmBridgeClient',
      'CrmBridgeFilesController',
      'CrmBridgeInvocable',
      'CrmBridgeQueueable',
    ]);
    for (const name of production) {
      expect(classes).toContain(`${name}Test`);
      const test = apexSource(`${name}Test`);
      expect(isTestClass(`${name}Test`)).toBe(true);
      expect(test).toContain(name);
      expect((test.match(/@IsTest\s+static void \w+\(\)/g) ?? []).length).toBeGreaterThanOrEqual(3);
      expect(test).toContain('Test.setMock(HttpCalloutMock.class');
    }
    expect(apexSource('CrmBridgeMock')).toMatch(/implements HttpCalloutMock/);
  });

  test('the Flow action and the Queueable have the shapes Flow and triggers need', () => {
    const invocable = apexSource('CrmBridgeInvocable');
    expect(invocable.match(/@InvocableMethod\(/g)).toHaveLength(1);
    expect(invocable).toMatch(/callout=true/);
    expect(invocable).toMatch(/public static List<SubmitResult> submit\(List<SubmitRequest> requests\)/);
    // Each Flow input and output is a public String annotated on the line above.
    const lines = invocable.split('\n').map((l) => l.trim());
    const annotated = (name: string) => {
      const at = lines.indexOf(`public String ${name};`);
      return at > 0 && lines[at - 1]!.startsWith('@InvocableVariable(');
    };
    for (const name of [
      'connectorId',
      'operation',
      'payloadJson',
      'recordId',
      'jobId',
      'status',
      'errorCode',
      'errorMessage',
    ])
      expect({ name, annotated: annotated(name) }).toEqual({ name, annotated: true });
    expect(annotated('missing')).toBe(false);
    expect(apexSource('CrmBridgeQueueable')).toMatch(/implements Queueable, Database\.AllowsCallouts/);
  });
});

/** The body of an Apex method (from its signature to the matching closing brace). */
function apexMethod(source: string, signature: RegExp): string {
  const m = signature.exec(source);
  if (!m) throw new Error(`no method ${signature}`);
  const open = source.indexOf('{', m.index + m[0].length - 1);
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(m.index, i + 1);
  }
  throw new Error(`unbalanced ${signature}`);
}

describe('Salesforce kit: the Queueable survives the limits of a real org', () => {
  const queueable = apexSource('CrmBridgeQueueable');
  const execute = apexMethod(queueable, /public void execute\(QueueableContext context\)/);
  const chain = apexMethod(queueable, /private void chain\(List<CalloutRequest> rest\)/);
  const enqueue = apexMethod(queueable, /public static Id enqueue\(List<CalloutRequest> requests\)/);

  test('publishes the refusal events before it chains (a failed chain must not lose them)', () => {
    expect(execute).toContain('EventBus.publish(refusals)');
    expect(execute.indexOf('EventBus.publish(refusals)')).toBeLessThan(execute.indexOf('chain(rest)'));
    expect(execute).not.toContain('System.enqueueJob');
  });

  test('never chains from a queued job under test, checks the queued-job limit, and reports what it cannot chain', () => {
    const guard = chain.indexOf('Test.isRunningTest() && System.isQueueable()');
    const limit = chain.indexOf('Limits.getQueueableJobs() < Limits.getLimitQueueableJobs()');
    const enqueueAt = chain.indexOf('System.enqueueJob(');
    expect(guard).toBeGreaterThan(0);
    expect(limit).toBeGreaterThan(guard);
    expect(enqueueAt).toBeGreaterThan(limit);
    expect(chain).toMatch(/catch \(AsyncException e\)/); // chain depth (5 in Developer Edition)
    expect(chain).toMatch(/refusal\(request, 'NOT_QUEUED'/);
    expect(chain).toContain('EventBus.publish(notQueued)');
  });

  test('enqueue checks the queued-job limit before System.enqueueJob (a save from async code may queue one job)', () => {
    expect(enqueue.indexOf('Limits.getQueueableJobs() >= Limits.getLimitQueueableJobs()')).toBeGreaterThan(0);
    expect(enqueue.indexOf('Limits.getQueueableJobs()')).toBeLessThan(enqueue.indexOf('System.enqueueJob('));
  });
});

describe('docs/salesforce-setup.md: trigger examples', () => {
  const guide = readFileSync(join(ROOT, 'docs', 'salesforce-setup.md'), 'utf8');
  const triggers = [...guide.matchAll(/```apex\n(trigger [\s\S]*?)```/g)].map((m) => m[1]!);

  test('a trigger that queues work checks the queued-job limit first', () => {
    const queuing = triggers.filter((t) => /CrmBridgeQueueable\.enqueue\(|System\.enqueueJob\(/.test(t));
    expect(queuing.length).toBeGreaterThanOrEqual(1);
    for (const t of queuing) {
      const check = t.indexOf('Limits.getQueueableJobs() < Limits.getLimitQueueableJobs()');
      expect({
        trigger: t.slice(0, 40),
        checks: check >= 0 && check < t.search(/CrmBridgeQueueable\.enqueue\(|System\.enqueueJob\(/),
      }).toEqual({ trigger: t.slice(0, 40), checks: true });
    }
  });

  test('an event field is turned into an Id only with a guard (a bad value would fail the whole event batch)', () => {
    const withIds = triggers.filter((t) => /Record_Id__c/.test(t) && /WhatId|WhoId|Id\.valueOf/.test(t));
    expect(withIds.length).toBeGreaterThanOrEqual(1);
    for (const t of withIds) {
      expect(t).not.toMatch(/(WhatId|WhoId)\s*=\s*e\.Record_Id__c/);
      // Id.valueOf throws StringException for a value that is not an Id: it must sit in a try block.
      expect(t).toMatch(/try\s*\{[^}]*Id\.valueOf\([^}]*\}\s*catch\s*\(StringException/);
    }
  });
});

/** The label Setup shows for a metadata file's component. */
const label = (folder: string, suffix: string, root: string, name: string) =>
  String((xml(join(SRC, folder, `${name}${suffix}`))[root] as Xml).label);

describe("the README's Salesforce setup", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Salesforce setup'),
    readme.indexOf('\n## ', readme.indexOf('## Salesforce setup') + 1),
  );

  test('covers both variants with the names Setup shows, and links the full guide', () => {
    expect(section.length).toBeGreaterThan(500);
    for (const name of externalCredentials) {
      expect(section).toContain(
        `**${label('externalCredentials', '.externalCredential-meta.xml', 'ExternalCredential', name)}**`,
      );
      for (const principal of principals(ec(name))) expect(section).toContain(`**${principal}**`);
    }
    for (const name of namedCredentials)
      expect(section).toContain(
        `**${label('namedCredentials', '.namedCredential-meta.xml', 'NamedCredential', name)}**`,
      );
    for (const name of permissionSets)
      expect(section).toContain(`**${label('permissionsets', '.permissionset-meta.xml', 'PermissionSet', name)}**`);
    expect(section).toContain('`ApiKey`');
    expect(section).toContain('crm-bridge: Call External Service');
    expect(section).toContain('(docs/salesforce-setup.md)');
  });

  test('names only stack outputs the CDK stack defines, and all the Salesforce ones', () => {
    // The stack's outputs are the contract's (test/cdk/stack.test.ts checks the synthesized stack against it).
    const defined = new Set<string>(Object.values(STACK_OUTPUTS));
    for (const output of ['ApiUrl', 'ApiRegion', 'SalesforceRoleArn', 'SalesforceExternalId', 'ApiKeyId'])
      expect(section).toContain(output);
    const named = [...section.matchAll(/`(Api\w+|Salesforce\w+)`/g)]
      .map((m) => m[1]!)
      .filter((name) => name !== 'ApiKey'); // ApiKey: the principal's parameter, not an output
    for (const output of named) expect(defined).toContain(output);
  });
});

describe('docs/salesforce-setup.md', () => {
  const guide = readFileSync(join(ROOT, 'docs', 'salesforce-setup.md'), 'utf8');

  test('names every credential, principal and permission set as Setup shows them', () => {
    for (const name of externalCredentials) {
      expect(guide).toContain(
        `**${label('externalCredentials', '.externalCredential-meta.xml', 'ExternalCredential', name)}**`,
      );
      for (const principal of principals(ec(name))) expect(guide).toContain(`**${principal}**`);
    }
    for (const name of namedCredentials)
      expect(guide).toContain(`**${label('namedCredentials', '.namedCredential-meta.xml', 'NamedCredential', name)}**`);
    for (const name of permissionSets)
      expect(guide).toContain(`**${label('permissionsets', '.permissionset-meta.xml', 'PermissionSet', name)}**`);
    expect(guide).toContain('`ApiKey`'); // the authentication parameter the x-api-key formula reads
    expect(guide).toContain('crm-bridge: Call External Service'); // the Flow action's label
    expect(apexSource('CrmBridgeInvocable')).toContain("label='crm-bridge: Call External Service'");
  });

  test('names only stack outputs the CDK stack defines, and all the Salesforce ones', () => {
    // The stack's outputs are the contract's (test/cdk/stack.test.ts checks the synthesized stack against it).
    const defined = new Set<string>(Object.values(STACK_OUTPUTS));
    const needed = ['ApiUrl', 'ApiRegion', 'SalesforceRoleArn', 'SalesforceExternalId', 'ApiKeyId'];
    for (const output of needed) {
      expect(defined).toContain(output);
      expect(guide).toContain(output);
    }
    const referenced = [...guide.matchAll(/stack output \*\*(\w+)\*\*/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThanOrEqual(4);
    for (const output of referenced) expect(defined).toContain(output);
  });

  test('deploys the kit with sf project deploy start and imports docs/openapi.json', () => {
    expect(guide).toContain('sf project deploy start --source-dir force-app');
    expect(guide).toContain('docs/openapi.json');
    expect(existsSync(join(ROOT, 'docs', 'openapi.json'))).toBe(true);
  });
});

// The Apex grammar check: @apexdevtools/apex-parser is a devDependency, so a missing parser fails this file (no skip).
describe('Salesforce kit: Apex syntax (@apexdevtools/apex-parser)', () => {
  type Unit = 'compilationUnit' | 'triggerUnit' | 'anonymousUnit';
  /** Syntax errors of one source parsed as a class file, a trigger file or anonymous Apex (each rule ends at EOF). */
  const parse = (source: string, unit: Unit = 'compilationUnit'): string[] => {
    const errors: string[] = [];
    class Listener extends ApexErrorListener {
      apexSyntaxError(line: number, column: number, message: string) {
        errors.push(`${line}:${column} ${message}`);
      }
    }
    ApexParserFactory.createLexerAndParser(source, new Listener()).parser[unit]();
    return errors;
  };
  const triggers = walk(KIT).filter((f) => f.endsWith('.trigger'));

  test.each(classes)('%s parses', (name) => expect(parse(apexSource(name))).toEqual([]));
  test('every trigger of the kit parses', () => {
    for (const file of triggers)
      expect({ file: relative(ROOT, file), errors: parse(readFileSync(file, 'utf8'), 'triggerUnit') }).toEqual({
        file: relative(ROOT, file),
        errors: [],
      });
  });
  test('the Apex examples of docs/salesforce-setup.md parse', () => {
    const guide = readFileSync(join(ROOT, 'docs', 'salesforce-setup.md'), 'utf8');
    const blocks = [...guide.matchAll(/```apex\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.filter((b) => /^trigger\s/.test(b)).length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      const errors = parse(block, /^trigger\s/.test(block) ? 'triggerUnit' : 'anonymousUnit');
      expect({ block: block.slice(0, 60), errors }).toEqual({ block: block.slice(0, 60), errors: [] });
    }
  });
  test('a syntax error is reported (the checks above can fail)', () => {
    expect(parse('public class X { void f() { Integer i = ; } }')).not.toEqual([]);
    expect(parse('public class X { void f() { } } }')).not.toEqual([]); // trailing text: the rule must reach EOF
    expect(parse('trigger T on Account (after insert) { System.debug(1) }', 'triggerUnit')).not.toEqual([]);
    expect(parse("String s = 'unterminated;", 'anonymousUnit')).not.toEqual([]);
  });
});
