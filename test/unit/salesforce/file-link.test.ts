import { DEFAULT_FILE_LINK_FIELDS, fileLinkSchema } from '../../../lambdas/connectors/salesforce/schema';
import { parseConnector } from '../../../lambdas/connectors/schema';
import { fileLinkFields, MAX_NAME_LENGTH } from '../../../lambdas/delivery/file-link-delivery';
import { fileLinkContext, linkView, type LinkedFile } from '../../../lambdas/files/file-link';
import { RequestPreparationError } from '../../../lambdas/shared/errors';
import { errorsOf, salesforceRow } from '../../support/connectors';

const sf = salesforceRow;

const file = (extra: Partial<LinkedFile> = {}): LinkedFile => ({
  fileId: '5f0c1d2e-0000-4000-8000-000000000001',
  fileName: 'contract.pdf',
  contentType: 'application/pdf',
  size: 3 * 1024 ** 3,
  status: 'AVAILABLE',
  recordId: '006000000000001AAA',
  createdAt: '2026-01-02T03:04:05.000Z',
  updatedAt: '2026-01-02T03:05:00.000Z',
  ...extra,
});

describe('fileLink in a salesforce connector row', () => {
  test('is optional; {} gets every default', () => {
    const plain = parseConnector(sf());
    expect(plain.ok && plain.connector.type === 'salesforce' && plain.connector.fileLink).toBeUndefined();
    const r = parseConnector(sf({ fileLink: {} }));
    expect(r).toMatchObject({
      ok: true,
      connector: {
        fileLink: {
          sobject: 'CrmBridge_File__c',
          externalIdField: 'File_Id__c',
          // What each default field holds is checked against the kit (salesforce-kit/kit.test.ts) and below.
          fields: DEFAULT_FILE_LINK_FIELDS,
        },
      },
    });
  });

  test('own sobject, external id field and fields (which replace the default mapping)', () => {
    const r = fileLinkSchema.parse({
      sobject: 'Document_Link__c',
      externalIdField: 'Hub_File__c',
      fields: { Opportunity__c: 'file.recordId', Title__c: 'file.fileName' },
    });
    expect(r).toEqual({
      sobject: 'Document_Link__c',
      externalIdField: 'Hub_File__c',
      fields: { Opportunity__c: 'file.recordId', Title__c: 'file.fileName' },
    });
  });

  test('the defaults are not shared between parsed rows', () => {
    const a = fileLinkSchema.parse({});
    a.fields.Extra__c = 'file.size';
    expect(fileLinkSchema.parse({}).fields).toEqual(DEFAULT_FILE_LINK_FIELDS);
  });

  test('refused: unknown key, bad names, bad JMESPath, empty fields, fileLink on another type', () => {
    expect(errorsOf(sf({ fileLink: { sobject: 'CrmBridge_File__c', on: 'AVAILABLE' } }))[0]).toMatch(
      /^\$\.fileLink: Unrecognized key: "on"/,
    );
    expect(errorsOf(sf({ fileLink: { sobject: 'Bad Name' } }))[0]).toMatch(
      /^\$\.fileLink\.sobject: must be a Salesforce API name/,
    );
    expect(errorsOf(sf({ fileLink: { externalIdField: 'x/y' } }))[0]).toMatch(
      /^\$\.fileLink\.externalIdField: must be a Salesforce API name/,
    );
    expect(errorsOf(sf({ fileLink: { fields: { Title__c: 'file.[' } } }))[0]).toMatch(
      /^\$\.fileLink\.fields\.Title__c: is not a valid JMESPath expression/,
    );
    expect(errorsOf(sf({ fileLink: { fields: { 'Bad-Field': 'file.fileId' } } }))[0]).toMatch(
      /^\$\.fileLink\.fields\.Bad-Field/,
    );
    expect(errorsOf(sf({ fileLink: { fields: {} } }))).toEqual(['$.fileLink.fields: must map at least one field']);
    expect(
      errorsOf({
        connectorId: 'erp',
        type: 'rest',
        baseUrl: 'https://erp.example.com',
        operations: { get: { method: 'GET', path: '/x' } },
        fileLink: {},
      }),
    ).toEqual(['$: Unrecognized key: "fileLink"']);
  });
});

describe('link record fields', () => {
  const defaults = fileLinkSchema.parse({});

  test('the mapping context is {file} with the download path', () => {
    expect(fileLinkContext(file())).toEqual({
      file: {
        fileId: '5f0c1d2e-0000-4000-8000-000000000001',
        fileName: 'contract.pdf',
        contentType: 'application/pdf',
        size: 3 * 1024 ** 3,
        recordId: '006000000000001AAA',
        createdAt: '2026-01-02T03:04:05.000Z',
        updatedAt: '2026-01-02T03:05:00.000Z',
        downloadPath: '/v1/files/5f0c1d2e-0000-4000-8000-000000000001',
      },
    });
  });

  test('defaults: every kit field but the external id, which is the upsert key (sent in the URL)', () => {
    expect(fileLinkFields(file(), defaults)).toEqual({
      Name: 'contract.pdf',
      Record_Id__c: '006000000000001AAA',
      File_Name__c: 'contract.pdf',
      Size__c: 3 * 1024 ** 3,
      Content_Type__c: 'application/pdf',
      Download_Path__c: '/v1/files/5f0c1d2e-0000-4000-8000-000000000001',
    });
  });

  test('Name is cut to 80 characters (a custom object name), other fields are not', () => {
    const long = `${'a'.repeat(120)}.pdf`;
    const fields = fileLinkFields(file({ fileName: long }), defaults);
    expect(MAX_NAME_LENGTH).toBe(80);
    expect(fields.Name).toBe('a'.repeat(80));
    expect(fields.File_Name__c).toBe(long);
    // A surrogate pair at the cut is not split.
    const emoji = `${'b'.repeat(79)}😀rest`;
    expect(fileLinkFields(file({ fileName: emoji }), defaults).Name).toBe('b'.repeat(79));
  });

  test('own mappings: objects become JSON text, missing values null; a run-time mapping error names the field', () => {
    const spec = fileLinkSchema.parse({
      externalIdField: 'Key__c',
      fields: { Key__c: 'file.fileId', Meta__c: '{n: file.fileName, s: file.size}', Note__c: 'file.nothing' },
    });
    expect(fileLinkFields(file(), spec)).toEqual({
      Meta__c: JSON.stringify({ n: 'contract.pdf', s: 3 * 1024 ** 3 }),
      Note__c: null,
    });
    const bad = fileLinkSchema.parse({ fields: { Bad__c: 'length(file.size)' } });
    expect(() => fileLinkFields(file(), bad)).toThrow(RequestPreparationError);
    expect(() => fileLinkFields(file(), bad)).toThrow(/Bad__c/);
  });

  test('the public view shows nextAttemptAt only while a retry waits', () => {
    const error = { code: 'UPSTREAM_SALESFORCE_ERROR', message: 'locked', retryable: true, statusCode: 400 };
    expect(
      linkView({ connectorId: 'sf', status: 'PENDING', attempts: 1, error, nextAttemptAt: '2026-01-01T00:00:00.000Z' }),
    ).toEqual({
      connectorId: 'sf',
      status: 'PENDING',
      attempts: 1,
      error,
      nextAttemptAt: '2026-01-01T00:00:00.000Z',
    });
    expect(
      linkView({ connectorId: 'sf', status: 'FAILED', attempts: 3, error, nextAttemptAt: '2026-01-01T00:00:00.000Z' }),
    ).toEqual({ connectorId: 'sf', status: 'FAILED', attempts: 3, error });
  });
});
