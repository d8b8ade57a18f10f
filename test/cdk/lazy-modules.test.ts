import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import { hubFunction } from '../../lib/constructs/lambda-defaults';
import { testApp } from './support';

/**
 * The worker as CDK bundles it (lambda-defaults.ts): the libraries of SOAP and
 * Salesforce connectors are files of their own in the asset, read on first use,
 * not part of the index.js every cold start loads. Strings that only those
 * libraries contain tell where their code is.
 */
const MARKERS = {
  soap: 'schemas.xmlsoap.org/wsdl/', // soap's WSDL parser
  jsforce: 'sforce-limit-info', // jsforce's connection
  axios: 'ERR_BAD_RESPONSE', // axios' errors (soap's HTTP client)
};

describe('worker bundle', () => {
  const app = testApp({ 'aws:cdk:bundling-stacks': ['**'] });
  const stack = new Stack(app, 'LazyModules');
  const fn = hubFunction(stack, 'Worker', {
    entry: 'lambdas/worker.ts',
    description: 'lazy modules test',
    environment: {},
    timeout: Duration.seconds(5),
  });
  const assembly = app.synth();
  const key: string = assembly.getStackByName(stack.stackName).template.Resources[
    stack.getLogicalId(fn.node.defaultChild as CfnResource)
  ].Properties.Code.S3Key;
  const assetDir = join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
  const main = readFileSync(join(assetDir, 'index.js'), 'utf8');
  const lazy = {
    soap: 'node_modules/soap.js',
    jsforce: 'node_modules/jsforce/core.js',
    axios: 'node_modules/axios.js',
  };

  test('main file requires soap, jsforce and axios instead of containing them', () => {
    for (const [name, marker] of Object.entries(MARKERS)) {
      expect({ name, contains: main.includes(marker) }).toEqual({ name, contains: false });
    }
    const required = [...main.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required).toEqual(expect.arrayContaining(['soap', 'jsforce/core', 'axios']));
  });

  test("main file has zod's schemas but none of its translations", () => {
    // `import * as z from 'zod'` lets the bundler drop z.locales (~250 KB); `import { z }` keeps them all.
    expect(main).toContain('$ZodObject');
    expect(main.includes('Неверный ввод')).toBe(false); // zod's Russian messages
  });

  test('the lazy files are in the asset, each with its library, and resolve from index.js', () => {
    for (const [name, file] of Object.entries(lazy)) {
      const path = join(assetDir, file);
      expect({ name, exists: existsSync(path) }).toEqual({ name, exists: true });
      expect({ name, marker: readFileSync(path, 'utf8').includes(MARKERS[name as keyof typeof MARKERS]) }).toEqual({
        name,
        marker: true,
      });
      // Node's own resolution from the handler's directory, as Lambda's runtime does it.
      expect(
        require.resolve(name === 'jsforce' ? 'jsforce/core' : name, { paths: [dirname(join(assetDir, 'index.js'))] }),
      ).toBe(path);
    }
    // soap shares the axios file rather than carrying a copy.
    expect(readFileSync(join(assetDir, lazy.soap), 'utf8').includes(MARKERS.axios)).toBe(false);
  });
});
