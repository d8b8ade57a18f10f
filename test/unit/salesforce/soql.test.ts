import { bindSoql } from '../../../lambdas/connectors/salesforce/soql';
import { RequestPreparationError } from '../../../lambdas/shared/errors';

test('bind variables become SOQL literals of their JSON type', () => {
  expect(
    bindSoql(
      'SELECT Id FROM Account WHERE Name = :name AND NumberOfEmployees > :n AND IsActive__c = :active AND ParentId = :parent',
      { name: 'Acme', n: 50, active: true, parent: null },
    ),
  ).toBe(
    "SELECT Id FROM Account WHERE Name = 'Acme' AND NumberOfEmployees > 50 AND IsActive__c = true AND ParentId = null",
  );
});

test('strings are escaped, so a value cannot end the literal and add SOQL', () => {
  const bound = bindSoql('SELECT Id FROM Contact WHERE LastName = :name', { name: "O'Brien' OR Name != '" });
  expect(bound).toBe("SELECT Id FROM Contact WHERE LastName = 'O\\'Brien\\' OR Name != \\''");
  expect(bindSoql('SELECT Id FROM Note WHERE Body = :b', { b: 'a\\b\n"c"\t' })).toBe(
    'SELECT Id FROM Note WHERE Body = \'a\\\\b\\n\\"c\\"\\t\'',
  );
});

test('arrays become IN lists; colons inside quoted literals and date literals are left alone', () => {
  expect(
    bindSoql("SELECT Id FROM Account WHERE Id IN :ids AND Name != 'a:b' AND CreatedDate = LAST_N_DAYS:30", {
      ids: ['001A', '001B'],
    }),
  ).toBe("SELECT Id FROM Account WHERE Id IN ('001A', '001B') AND Name != 'a:b' AND CreatedDate = LAST_N_DAYS:30");
  expect(bindSoql("SELECT Id FROM Account WHERE Name = 'it\\'s :not' AND Id = :id", { id: 'x' })).toBe(
    "SELECT Id FROM Account WHERE Name = 'it\\'s :not' AND Id = 'x'",
  );
  expect(
    bindSoql('SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:days AND CloseDate < N_WEEKS_AGO:w', {
      days: 7,
      w: 2,
    }),
  ).toBe('SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:7 AND CloseDate < N_WEEKS_AGO:2');
  expect(() =>
    bindSoql('SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:days', { days: '7 OR Name != null' }),
  ).toThrow(/must be an integer/);
});

test('missing, empty-list and non-scalar values are refused before any call', () => {
  expect(() => bindSoql('SELECT Id FROM Account WHERE Name = :name', {})).toThrow(RequestPreparationError);
  expect(() => bindSoql('SELECT Id FROM Account WHERE Name = :name', {})).toThrow(/no "name" field/);
  expect(() => bindSoql('SELECT Id FROM Account WHERE Id IN :ids', { ids: [] })).toThrow(/empty list/);
  expect(() => bindSoql('SELECT Id FROM Account WHERE Name = :name', { name: { $ne: 1 } })).toThrow(/must be a string/);
  expect(() => bindSoql('SELECT Id FROM Account WHERE Name = :name', { name: Number.NaN })).toThrow(
    RequestPreparationError,
  );
});

test('a query without bind variables needs no input', () => {
  expect(bindSoql('SELECT Id FROM Account LIMIT 5', undefined)).toBe('SELECT Id FROM Account LIMIT 5');
});
