import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { InfrastructureError, RequestPreparationError } from '../connectors/errors';
import type { SecretSource } from '../connectors/types';

export function secretParameterName(stage: string, connectorId: string, name: string): string {
  return `/crm-bridge/${stage}/connectors/${connectorId}/${name}`;
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
      const notFound = err instanceof Error && (err.name === 'ParameterNotFound' || (err.cause instanceof Error && err.cause.name === 'ParameterNotFound'));
      if (notFound) {
        throw new RequestPreparationError(
          'SECRET_NOT_FOUND',
          `Secret "${name}" of connector "${connectorId}" is not set: store it with "crm-bridge secrets put ${connectorId} ${name}" (SSM parameter ${parameterName})`,
          err,
        );
      }
      throw new InfrastructureError(`Secret "${name}" of connector "${connectorId}" could not be read from SSM parameter ${parameterName}`, { cause: err });
    }
    if (value === undefined || value === '') {
      throw new RequestPreparationError('SECRET_NOT_FOUND', `Secret "${name}" of connector "${connectorId}" is empty (SSM parameter ${parameterName})`);
    }
    return value;
  }
}
