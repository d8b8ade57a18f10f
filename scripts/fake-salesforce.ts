import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startFakeSalesforce } from '../local/fake-salesforce';

/**
 * `npm run fake-salesforce`: the Salesforce stand-in the tests use (OAuth login server and REST
 * instance server on 127.0.0.1), for following docs/salesforce-connector.md without an org. It prints
 * its URLs and credentials, writes a ready connector row, and shows each call the hub makes.
 */
async function main() {
  const clientId = process.env.FAKE_SF_CLIENT_ID || 'crm-bridge-local';
  // A fresh secret per run: it is a stand-in's, but it still travels the way a real one must (stdin, SSM).
  const clientSecret = process.env.FAKE_SF_CLIENT_SECRET || randomBytes(12).toString('hex');
  const sf = await startFakeSalesforce({ clients: [{ clientId, clientSecret }] });
  const opportunityId = sf.seed('Opportunity', { Name: 'Demo deal', StageName: 'Prospecting' });

  const rowPath = process.env.FAKE_SF_ROW_PATH || join(tmpdir(), 'crm-bridge', 'fake-salesforce', 'sf.json');
  mkdirSync(dirname(rowPath), { recursive: true });
  const row = {
    connectorId: 'sf',
    type: 'salesforce',
    loginUrl: sf.loginUrl,
    auth: { type: 'clientCredentials', clientId, clientSecret: { secret: 'client-secret' } },
    operations: {
      createLead: { action: 'create', sobject: 'Lead' },
      updateOpportunity: { action: 'update', sobject: 'Opportunity' },
      findOpportunities: { action: 'query', soql: 'SELECT Id, Name, StageName FROM Opportunity' },
    },
  };
  writeFileSync(rowPath, `${JSON.stringify(row, null, 2)}\n`);

  console.log(`fake Salesforce ready (in memory, 127.0.0.1 only)
  login URL:     ${sf.loginUrl}
  instance URL:  ${sf.instanceUrl}
  client id:     ${clientId}
  client secret: ${clientSecret}
  seeded Opportunity: ${opportunityId}
  connector row: ${rowPath}
register it with the running local hub (npm start), from the repository root:
  npx crm-bridge connectors put ${rowPath} --local
  printf '%s' '${clientSecret}' | npx crm-bridge secrets put sf client-secret --local
Ctrl-C to stop. Calls the hub makes are shown below.`);

  // Show what arrives, so the steps of the doc can be watched as they happen.
  let calls = 0;
  let events = 0;
  let tokens = 0;
  const timer = setInterval(() => {
    for (; tokens < sf.tokenRequests.length; tokens++) {
      const t = sf.tokenRequests[tokens]!;
      console.log(`login  ${t.grantType} ${t.clientId ?? ''} -> ${t.ok ? 'ok' : 'refused'}`);
    }
    for (; calls < sf.calls.length; calls++) {
      const c = sf.calls[calls]!;
      console.log(
        `${c.method.padEnd(6)} /services/data/v${c.version}${c.path}${c.body === undefined ? '' : ` ${JSON.stringify(c.body)}`}`,
      );
    }
    for (; events < sf.events.length; events++) {
      const e = sf.events[events]!;
      console.log(`event  ${e.type} ${JSON.stringify(e.fields)}`);
    }
  }, 250);

  const stop = async () => {
    clearInterval(timer);
    await sf.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error('fake Salesforce failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
