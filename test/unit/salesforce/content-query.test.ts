import {
  canonicalWhere,
  contentDocumentLinkQuery,
  contentVersionQuery,
  isRecordLink,
  MAX_WHERE_LENGTH,
} from '../../../lambdas/connectors/salesforce/content-query';
import { InvalidRequestError } from '../../../lambdas/shared/errors';

/** The --where of a Files migration: what is allowed comes back in canonical form, anything else is a 400 naming why. */
describe('canonicalWhere', () => {
  test.each([
    ["Title = 'Q1'", "Title = 'Q1'"],
    ["title like 'Q%' and FileExtension in ('pdf','PDF')", "(title LIKE 'Q%' AND FileExtension IN ('pdf', 'PDF'))"],
    [
      'ContentSize >= 10000000 OR NOT IsMajorVersion = false',
      '(ContentSize >= 10000000 OR NOT (IsMajorVersion = false))',
    ],
    [
      'CreatedDate < LAST_N_DAYS:90 AND LastModifiedDate > 2020-01-31',
      '(CreatedDate < LAST_N_DAYS:90 AND LastModifiedDate > 2020-01-31)',
    ],
    ['CreatedDate = this_fiscal_year', 'CreatedDate = THIS_FISCAL_YEAR'],
    ['CreatedDate >= 2024-01-31T10:00:00.000+02:00', 'CreatedDate >= 2024-01-31T10:00:00.000+02:00'],
    [
      'Custom_Field__c != null AND ContentSize NOT IN (1, 2.5, -3)',
      '(Custom_Field__c != null AND ContentSize NOT IN (1, 2.5, -3))',
    ],
    ["Title <> 'a\\'b\\\\c\\nd'", "Title <> 'a\\'b\\\\c\\nd'"],
    ['((A = 1 OR B = 2) AND (C = 3))', '((A = 1 OR B = 2) AND C = 3)'],
  ])('%s', (input, canonical) => {
    expect(canonicalWhere(input)).toBe(canonical);
    // The canonical form is a fixed point: stored and parsed again by every batch, it stays the same.
    expect(canonicalWhere(canonical)).toBe(canonical);
  });

  test.each([
    ["Title = 'x'; DELETE", /semicolon/],
    ["Title = 'x' --", /"-"/],
    ["Owner.Name = 'x'", /dot/],
    ['Id IN (SELECT Id FROM Account)', /subqueries/],
    ['(SELECT Id FROM Account)', /subqueries/],
    ['Title = SELECT', /subqueries/],
    ['LIMIT = 1', /not a field name/],
    ['Title', /operator/],
    ['Title =', /value/],
    ['Title = x', /value/],
    ['Title LIKE 5', /LIKE takes/],
    ['Title IN ()', /value/],
    ["Title = 'x' AND", /condition expected/],
    ["'x' = Title", /field name/],
    ['Title = 1 2', /unexpected "2"/],
    ['', /empty/],
    ["Title = 'a\\qb'", /unknown escape/],
    ['Title = "x"', /"\\""/],
    ['Title = `x`', /"`"/],
  ])('refuses %s', (input, message) => {
    let error: unknown;
    try {
      canonicalWhere(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toMatch(message);
  });

  test('length is bounded before anything is parsed', () => {
    expect(() => canonicalWhere(`Title = '${'x'.repeat(MAX_WHERE_LENGTH)}'`)).toThrow(/at most 1000 are allowed/);
  });
});

describe('queries', () => {
  test('the page query keeps the condition in parentheses after IsLatest, keyset-paged on Id', () => {
    expect(contentVersionQuery("Title = 'a' OR Title = 'b'", '068000000000001AAA', 20)).toBe(
      "SELECT Id, ContentDocumentId, Title, PathOnClient, FileExtension, FileType, ContentSize, Checksum, CreatedDate FROM ContentVersion WHERE IsLatest = true AND ((Title = 'a' OR Title = 'b')) AND Id > '068000000000001AAA' ORDER BY Id LIMIT 20",
    );
  });

  test('a tampered stored condition or cursor is refused, not run', () => {
    expect(() => contentVersionQuery("Title = 'a') OR (Id != null", undefined, 1)).toThrow(InvalidRequestError);
    expect(() => contentVersionQuery("Title = 'a'", "x' OR Id != '", 1)).toThrow(/not a Salesforce id/);
    expect(() => contentDocumentLinkQuery(["069000000000001' OR '1"])).toThrow(/not a Salesforce id/);
  });

  test('users, libraries and groups are not records', () => {
    expect(
      ['005000000000001', '058000000000001', '0F9000000000001', '001000000000001', '500000000000001'].map(isRecordLink),
    ).toEqual([false, false, false, true, true]);
  });
});
