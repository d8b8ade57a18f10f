import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SecretSource } from '../connectors/secret-source';
import { InfrastructureError, RequestPreparationError } from '../shared/errors';

import { secretParameterName } from '../contract/stack';

export { secretParameterName };

/**
 * The CLI command that stores this secret, as an admin would type it: the value on stdin (never an
 * argument, which shell history and `ps` keep), and the target flag of the hub that needs it.
 */
export function secretsPutCommand(stage: string, connectorId: string, name: string): string {
  const target = stage === 'local' ? '--local' : `--stage ${stage}`;
  return `printf '%s' "$SECRET_VALUE" | npx crm-bridge secrets put ${connectorId} ${name} ${target}`;
}

/**
 * Connector secrets from SSM Parameter Store (SecureString), cached per warm
 * Lambda by Powertools for `maxAgeSeconds`. Values are never logged; a missing
 * parameter fails the job with an error naming the parameter (never the value);
 * an SSM outage is an infrastructure error, left to SQS redelivery.
 */
export class SsmSecretSource implements SecretSource {
  constructor(
    private readonly provider: SSMProvider,
    private readonly stage: string,
    private readonly maxAgeSeconds = 300,
  ) {}

  async get(connectorId: string, name: string): Promise<string> {
    const parameterName = secretParameterName(this.stage, connectorId, name);
    let value: string | undefined;
    try {
      value = await this.provider.get(parameterName, { decrypt: true, maxAge: this.maxAgeSeconds });
    } catch (err) {
      const notFound =
        err instanceof Error &&
        (err.name === 'ParameterNotFound' || (err.cause instanceof Error && err.cause.name === 'ParameterNotFound'));
      if (notFound) {
        throw new RequestPreparationError(
          'SECRET_NOT_FOUND',
          `Secret "${name}" of connector "${connectorId}" is not set (SSM parameter ${parameterName}): store it from the crm-bridge repository root with: ${secretsPutCommand(this.stage, connectorId, name)}`,
          err,
        );
      }
      throw new InfrastructureError(
        `Secret "${name}" of connector "${connectorId}" could not be read from SSM parameter ${parameterName}`,
        { cause: err },
      );
    }
    if (value === undefined || value === '') {
      throw new RequestPreparationError(
        'SECRET_NOT_FOUND',
        `Secret "${name}" of connector "${connectorId}" is empty (SSM parameter ${parameterName})`,
      );
    }
    return value;
  }
}
