#!/usr/bin/env node
// Launcher for the TypeScript CLI (run from a clone: `npx crm-bridge ...`).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('./main.ts');
