import * as z from 'zod';
import { baseConnectorFields, httpUrlSchema, operationNameSchema, salesforceNameSchema } from '../common';
import { jmespathSchema } from '../mapping';
import { secretRefSchema, valueSourceSchema } from '../values';
import { lazyObject } from '../../shared/lazy';

/**
 * Both flows of a Connected App / External Client App that need no user at
 * run time. The secret parts (client secret, private key) live in SSM; the
 * client id and username may be inline or secrets.
 */
export const salesforceAuthSchema = lazyObject(() =>
  z.discriminatedUnion('type', [
    z
      .object({
        type: z.literal('clientCredentials'),
        clientId: valueSourceSchema,
        clientSecret: secretRefSchema,
      })
      .strict(),
    z
      .object({
        type: z.literal('jwtBearer'),
        clientId: valueSourceSchema,
        /** The Salesforce user the app acts as (the JWT's `sub`). */
        username: valueSourceSchema,
        /** PEM private key whose certificate is uploaded to the app. */
        privateKey: secretRefSchema,
        /** The JWT's `aud`. Default: https://test.salesforce.com for a sandbox My Domain, https://login.salesforce.com for a production one, else the loginUrl's origin. */
        audience: httpUrlSchema.optional(),
      })
      .strict(),
  ]),
);

/** Shared by every action: optional JMESPath mappings, as in REST operations. */
const common = lazyObject(() => ({
  description: z.string().max(1024).optional(),
  /** JMESPath over {payload, recordId}: builds the action's input. Default: the payload as is. */
  request: jmespathSchema.optional(),
  /** JMESPath over the Salesforce answer: becomes `data`. Default: the whole answer. */
  response: jmespathSchema.optional(),
}));

export const salesforceOperationSchema = lazyObject(() =>
  z.discriminatedUnion('action', [
    /** Input: the record's fields. */
    z.object({ action: z.literal('create'), sobject: salesforceNameSchema, ...common }).strict(),
    /** Input: the fields to change; the record is `Id` in the input, else the callout's recordId. */
    z.object({ action: z.literal('update'), sobject: salesforceNameSchema, ...common }).strict(),
    /** Input: the record's fields, including `externalIdField`, which finds (or creates) the record. */
    z
      .object({
        action: z.literal('upsert'),
        sobject: salesforceNameSchema,
        externalIdField: salesforceNameSchema,
        ...common,
      })
      .strict(),
    /** Input: values for the `:name` bind variables of `soql` (never SOQL itself). */
    z
      .object({
        action: z.literal('query'),
        soql: z
          .string()
          .max(20_000)
          .regex(/^\s*SELECT\s/i, 'must be a SOQL SELECT statement'),
        /** Pages are fetched until this many records (Salesforce returns up to 2,000 per page). */
        maxRecords: z.number().int().min(1).max(50_000).default(2000),
        ...common,
      })
      .strict(),
    /** Input: the event's fields. */
    z
      .object({
        action: z.literal('publishEvent'),
        sobject: salesforceNameSchema.refine(
          (n) => n.endsWith('__e'),
          'must be a Platform Event (API name ending in "__e")',
        ),
        ...common,
      })
      .strict(),
    /** Input: {"compositeRequest": [{method, url, referenceId, body?}]} — up to 25 subrequests. */
    z
      .object({
        action: z.literal('composite'),
        /** Roll back every subrequest when one fails; the job then fails with that subrequest's error. */
        allOrNone: z.boolean().default(true),
        ...common,
      })
      .strict(),
  ]),
);

/** The fields written on a file's link record when `fileLink.fields` is not given (the kit's CrmBridge_File__c). */
export const DEFAULT_FILE_LINK_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  Name: 'file.fileName',
  File_Id__c: 'file.fileId',
  Record_Id__c: 'file.recordId',
  File_Name__c: 'file.fileName',
  Size__c: 'file.size',
  Content_Type__c: 'file.contentType',
  Download_Path__c: 'file.downloadPath',
});

/**
 * A link record created in this org when a file becomes AVAILABLE (files API,
 * POST /v1/files with "link"): upserted by `externalIdField` = the fileId, so a
 * repeated delivery never creates a second record. `fields` (Salesforce field ->
 * JMESPath over {file}) replaces the default mapping as a whole.
 */
export const fileLinkSchema = lazyObject(() =>
  z
    .object({
      sobject: salesforceNameSchema.default('CrmBridge_File__c'),
      /** An External ID field of `sobject` (unique): holds the fileId. */
      externalIdField: salesforceNameSchema.default('File_Id__c'),
      fields: z
        .record(salesforceNameSchema, jmespathSchema)
        .refine((f) => Object.keys(f).length > 0, 'must map at least one field')
        .default({ ...DEFAULT_FILE_LINK_FIELDS }),
    })
    .strict(),
);

export type FileLinkSpec = z.infer<typeof fileLinkSchema>;

/** login.salesforce.com and test.salesforce.com: they serve the JWT bearer flow but not client credentials. */
const GENERIC_LOGIN_HOSTS = /^(login|test)\.salesforce\.com$/i;

export const salesforceConnectorSchema = lazyObject(() =>
  z
    .object({
      ...baseConnectorFields,
      type: z.literal('salesforce'),
      /** Where tokens come from: https://login.salesforce.com, https://test.salesforce.com, or the org's My Domain URL (required by the client credentials flow). */
      loginUrl: httpUrlSchema,
      /** REST API version; always sent (jsforce's own default is old). */
      apiVersion: z
        .string()
        .regex(/^\d{2,3}\.0$/, 'must look like "62.0"')
        .default('62.0'),
      auth: salesforceAuthSchema,
      /** May be empty: a connector used only as a delivery target needs no operations. */
      operations: z.record(operationNameSchema, salesforceOperationSchema).default({}),
      /** Link records for files that become AVAILABLE (optional; see docs/files.md). */
      fileLink: fileLinkSchema.optional(),
    })
    .strict()
    .superRefine((c, ctx) => {
      // Salesforce answers the client credentials flow on the generic hosts with invalid_grant "request not supported on this domain".
      if (c.auth.type === 'clientCredentials' && GENERIC_LOGIN_HOSTS.test(new URL(c.loginUrl).hostname)) {
        ctx.addIssue({
          code: 'custom',
          path: ['loginUrl'],
          message:
            "must be the org's My Domain URL (https://<domain>.my.salesforce.com) for the client credentials flow",
        });
      }
    }),
);

export type SalesforceConnector = z.infer<typeof salesforceConnectorSchema>;
export type SalesforceOperation = z.infer<typeof salesforceOperationSchema>;
export type SalesforceAuth = z.infer<typeof salesforceAuthSchema>;
