import type { Connector } from '../connectors/schema';

/**
 * Port: the registered connectors, validated (adapter: adapters/connector-store.ts,
 * DynamoDB with a short cache). A stored row that fails the schema rejects with
 * InvalidConnectorError; an unknown id resolves to undefined.
 */
export interface ConnectorSource {
  get(connectorId: string): Promise<Connector | undefined>;
}
