import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';

/**
 * The crmBridgeFiles component and its Apex controller are deployed together but tested
 * apart (lwc-jest mocks the Apex, Apex tests cannot run here): these checks tie them together
 * statically, so a renamed method or parameter fails here instead of in the org.
 */
const SRC = join(__dirname, '..', '..', '..', 'salesforce', 'force-app', 'main', 'default');
const BUNDLE = join(SRC, 'lwc', 'crmBridgeFiles');
const js = readdirSync(BUNDLE)
  .filter((f) => f.endsWith('.js'))
  .map((f) => readFileSync(join(BUNDLE, f), 'utf8'))
  .join('\n');
const main = readFileSync(join(BUNDLE, 'crmBridgeFiles.js'), 'utf8');
const controller = readFileSync(join(SRC, 'classes', 'CrmBridgeFilesController.cls'), 'utf8');
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  isArray: (name) => ['target', 'targetConfig', 'property', 'supportedFormFactor'].includes(name),
});
const meta = parser.parse(readFileSync(join(BUNDLE, 'crmBridgeFiles.js-meta.xml'), 'utf8')).LightningComponentBundle;

/** @AuraEnabled methods of the controller: name -> parameter names. */
const auraMethods = new Map(
  [...controller.matchAll(/@AuraEnabled\s+public static [\w<>, ]+? (\w+)\(([^)]*)\)/g)].map((m) => [
    m[1]!,
    m[2]!
      .split(',')
      .map((p) => p.trim().split(/\s+/).pop()!)
      .filter(Boolean),
  ]),
);

describe('crmBridgeFiles', () => {
  test('is exposed on record pages for desktop and phone, with title, accepted types and page size properties', () => {
    expect(meta.isExposed).toBe('true');
    expect(meta.apiVersion).toBe('62.0');
    expect(meta.targets.target).toEqual(['lightning__RecordPage']);
    const config = meta.targetConfigs.targetConfig[0];
    expect(config.targets).toBe('lightning__RecordPage');
    expect(config.supportedFormFactors.supportedFormFactor.map((f: { type: string }) => f.type).sort()).toEqual([
      'Large',
      'Small',
    ]);
    const properties = config.property.map((p: { name: string }) => p.name).sort();
    expect(properties).toEqual(['acceptedTypes', 'cardTitle', 'pageSize']);
    // App Builder sets only @api properties.
    for (const name of properties)
      expect({ name, api: new RegExp(`@api ${name}\\b`).test(main) }).toEqual({ name, api: true });
    expect(main).toMatch(/@api recordId;/);
  });

  test('imports only @AuraEnabled methods of CrmBridgeFilesController, and calls each with its parameter names', () => {
    expect(auraMethods.size).toBeGreaterThanOrEqual(7);
    const imports = [...main.matchAll(/import (\w+) from '@salesforce\/apex\/(\w+)\.(\w+)';/g)];
    expect(imports.length).toBe(auraMethods.size);
    for (const [, local, className, method] of imports) {
      expect({ className, method, aura: auraMethods.has(method!) }).toEqual({
        className: 'CrmBridgeFilesController',
        method,
        aura: true,
      });
      const calls = [...js.matchAll(new RegExp(`\\b${local}\\(\\{([^}]*)\\}\\)`, 'g'))];
      expect({ method, called: calls.length > 0 }).toEqual({ method, called: true });
      for (const call of calls) {
        const keys = call[1]!
          .split(',')
          .map((part) => part.trim().match(/^(\w+)/)?.[1])
          .filter(Boolean)
          .sort();
        expect({ method, keys }).toEqual({ method, keys: [...auraMethods.get(method!)!].sort() });
      }
    }
  });

  test('the check above reads parameter names (it can fail)', () => {
    expect(auraMethods.get('createUpload')).toEqual(['recordId', 'fileName', 'contentType', 'size']);
  });

  test('the browser never holds hub credentials: no API key or Authorization header in the component', () => {
    expect(js).not.toMatch(/x-api-key|authorization|callout:/i);
    expect(js).toMatch(/new XMLHttpRequest\(\)/);
  });

  test('lwc-jest tests are not deployed', () => {
    expect(readFileSync(join(SRC, '..', '..', '..', '.forceignore'), 'utf8')).toMatch(/^\*\*\/__tests__\/\*\*$/m);
  });
});
