// ESLint (flat config): typescript-eslint's type-aware rules catch the async bugs tsc does not
// (a promise nobody awaits, an async callback where a sync one is expected, a switch that misses a case).
// Layout and quotes belong to Prettier: eslint-config-prettier, last, turns off every stylistic rule.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // salesforce/: the kit's Lightning Web Component follows Salesforce's own LWC rules (@salesforce/eslint-config-lwc,
  // run by a Salesforce DX project; they need ESLint 9 and Babel), and its disable comment names one of them.
  { ignores: ['node_modules/', 'cdk.out/', 'coverage/', '.crm-bridge/', '.bench/', '.perf/', 'salesforce/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // projectService: one TypeScript program from tsconfig.json for all files (as fast as tsc, and the same view).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Bugs. The two promise rules are in recommendedTypeChecked (named here so they stay on); the switch rule is not.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Passing on a caught error or an AbortSignal's reason (typed any/unknown) is right; rejecting with a literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // A runtime guard for untyped (JavaScript) callers prints the value TypeScript has narrowed to never.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNever: true }],
      // `let { response, token } = ...` where only one of them is reassigned.
      'prefer-const': ['error', { destructuring: 'all' }],

      // Off, because here they are noise rather than bugs:
      // tsc (noUnusedLocals/noUnusedParameters) already reports unused names, with `_` for the deliberate ones.
      '@typescript-eslint/no-unused-vars': 'off',
      // JSON.parse, SDK output, the soap client and jest matchers are `any` by design and are narrowed (zod or checks)
      // where it matters; these rules would flag each such line without finding a bug.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // String(x) on JSON values is deliberate (they have no toString of their own to miss); every hit was a narrowing artifact.
      '@typescript-eslint/no-base-to-string': 'off',
      // An async function without await implements a Promise-returning port, and turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // require() is how the code loads a module lazily and synchronously (CLI start-up, handlers after env is set,
      // jest.isolateModules); `typeof import()` keeps those calls typed.
      '@typescript-eslint/no-require-imports': 'off',
      // File-name validation and terminal output match control characters on purpose.
      'no-control-regex': 'off',
      // Log-line patterns spell the padded level ("INFO  job") as it is printed.
      'no-regex-spaces': 'off',
    },
  },
  {
    // Plain JavaScript run by Node (CommonJS or ESM): no type information, Node globals.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
);
