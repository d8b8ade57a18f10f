// Its own module, importing nothing: values.ts needs it, and types.ts (which imports the connector schemas) would close a circle.

/** Where wrappers read connector secrets (SSM in the worker: domain/secrets.ts). */
export interface SecretSource {
  /** The secret's value; throws RequestPreparationError when it does not exist. */
  get(connectorId: string, name: string): Promise<string>;
}
