// The import rules of docs/architecture.md ("Who may import whom"), checked by `npm run lint:deps`
// (part of `npm test`). A rule changes here and in that page together.

/** Folders of lambdas/, and the handlers at its top. */
const L = {
  handlers: '^lambdas/(api|worker)\\.ts$',
  routes: '^lambdas/routes/',
  domain: '^lambdas/domain/',
  connectors: '^lambdas/connectors/',
  delivery: '^lambdas/delivery/',
  files: '^lambdas/files/',
  adapters: '^lambdas/adapters/',
  shared: '^lambdas/shared/',
};

/** The AWS SDK, resolved (node_modules/@aws-sdk/...) or not (a bare @aws-sdk/... specifier). */
const AWS_SDK = '(^|node_modules/)@aws-sdk/';

/** A `from` layer that must not reach the `to` paths. */
const never = (name, comment, from, to) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Files that import each other: move what they share into a module both may import.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    never(
      'lambdas-only-lambdas',
      'Lambda code is bundled on its own: it never imports the CDK app, the local hub, the CLI, bench, scripts or tests.',
      '^lambdas/',
      '^(lib|local|cli|bench|scripts|bin|test)/',
    ),
    never(
      'shared-is-a-leaf',
      'lambdas/shared imports nothing else of lambdas/ but the contract (env names and bounds).',
      L.shared,
      '^lambdas/(?!shared/|contract/)',
    ),
    never(
      'connectors-below-domain',
      'Connectors (wrappers, HTTP plumbing, schemas) know no jobs, deliveries, files or routes.',
      L.connectors,
      `${L.domain}|${L.delivery}|${L.files}|${L.routes}|${L.handlers}`,
    ),
    never(
      'domain-knows-no-edge',
      'The domain holds the ports; delivery, files, routes and handlers depend on it, never the reverse.',
      L.domain,
      `${L.delivery}|${L.files}|${L.routes}|${L.handlers}`,
    ),
    never(
      'domain-knows-no-adapters',
      'The domain declares its ports; the adapters implement them and the handlers wire them, never the reverse.',
      L.domain,
      L.adapters,
    ),
    never(
      'adapters-below-handlers',
      'Adapters implement ports of the domain and of files/ (with connectors and shared); they never reach routes, delivery or handlers.',
      L.adapters,
      `${L.delivery}|${L.routes}|${L.handlers}`,
    ),
    never(
      'aws-sdk-in-adapters',
      'AWS SDK calls live in adapters (and the clients in shared/clients.ts); the domain, connectors, files, routes, delivery and handlers see ports.',
      `${L.domain}|${L.connectors}|${L.files}|${L.routes}|${L.delivery}|${L.handlers}|^lambdas/contract/`,
      AWS_SDK,
    ),
    never(
      'files-below-edges',
      'The file service is called by routes and delivery, and calls neither.',
      L.files,
      `${L.delivery}|${L.routes}|${L.handlers}|${L.connectors}`,
    ),
    never(
      'files-knows-no-adapters',
      'files/ declares its ports (file-ports.ts); the adapters implement them and the handlers wire them, never the reverse.',
      L.files,
      L.adapters,
    ),
    never(
      'delivery-below-handlers',
      'Delivery is wired by the worker; it never reaches routes or handlers.',
      L.delivery,
      `${L.routes}|${L.handlers}`,
    ),
    never(
      'routes-below-handlers',
      'Routes are wired by the API handler; they never reach delivery or handlers.',
      L.routes,
      `${L.delivery}|${L.handlers}`,
    ),
    never(
      'lib-is-infrastructure',
      'The CDK app names Lambda entry files by path; it imports no runtime, hub, CLI or test code, only the dependency-free contract (lambdas/contract/) it shares with the handlers.',
      '^(lib|bin)/',
      '^(lambdas/(?!contract/)|local/|cli/|bench/|scripts/|test/)',
    ),
    never(
      'contract-is-a-leaf',
      'lambdas/contract holds names and shapes CDK and the handlers agree on: it imports nothing of the project.',
      '^lambdas/contract/',
      '^(lambdas/(?!contract/)|lib/|local/|cli/|bench/|scripts/|test/)',
    ),
    never(
      'tools-not-tests',
      'The hub, CLI, bench and scripts ship without test/: what they share with tests lives in local/.',
      '^(local|cli|bench|scripts)/',
      '^test/',
    ),
    never(
      'local-not-tools',
      'The local hub is used by the CLI, bench and scripts, never the reverse.',
      '^local/',
      '^(cli|bench|scripts)/',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a circle of types is a circle for the reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
