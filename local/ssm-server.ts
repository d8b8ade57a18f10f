import { text as readBody } from 'node:stream/consumers';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local endpoint that speaks the SSM Parameter Store API (AWS JSON 1.1
 * protocol) for the calls crm-bridge makes: the real SSMClient and Powertools
 * SSMProvider talk to it over HTTP, as they would to AWS. No SSM emulator is
 * published on npm (LocalStack and moto need Docker or PyPI).
 * State is in memory; SecureString values are not encrypted here.
 */
interface Parameter {
  Name: string;
  Type: 'String' | 'StringList' | 'SecureString';
  Value: string;
  Version: number;
  LastModifiedDate: number;
  DataType: 'text';
}

class SsmFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class LocalSsm {
  private readonly params = new Map<string, Parameter>();

  constructor(
    private readonly region = 'us-east-1',
    private readonly account = '000000000000',
  ) {}

  private arn(name: string) {
    return `arn:aws:ssm:${this.region}:${this.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  private view(p: Parameter, decrypt: boolean) {
    const value =
      p.Type === 'SecureString' && !decrypt ? Buffer.from(`kms-encrypted:${p.Name}`).toString('base64') : p.Value;
    return { ...p, Value: value, ARN: this.arn(p.Name) };
  }

  private mustGet(name: string): Parameter {
    const p = this.params.get(name);
    if (!p) throw new SsmFault('ParameterNotFound', `Parameter ${name} not found.`);
    return p;
  }

  handle(action: string, input: Record<string, any>): unknown {
    switch (action) {
      case 'GetParameter':
        return { Parameter: this.view(this.mustGet(input.Name), Boolean(input.WithDecryption)) };
      case 'GetParameters': {
        const names: string[] = input.Names ?? [];
        return {
          Parameters: names
            .filter((n) => this.params.has(n))
            .map((n) => this.view(this.params.get(n)!, Boolean(input.WithDecryption))),
          InvalidParameters: names.filter((n) => !this.params.has(n)),
        };
      }
      case 'PutParameter': {
        const existing = this.params.get(input.Name);
        if (existing && !input.Overwrite)
          throw new SsmFault(
            'ParameterAlreadyExists',
            'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
          );
        if (typeof input.Value !== 'string' || input.Value.length === 0)
          throw new SsmFault('ValidationException', 'Parameter value must not be empty.');
        const Version = (existing?.Version ?? 0) + 1;
        this.params.set(input.Name, {
          Name: input.Name,
          Type: input.Type ?? existing?.Type ?? 'String',
          Value: input.Value,
          Version,
          LastModifiedDate: Date.now() / 1000,
          DataType: 'text',
        });
        return { Version, Tier: 'Standard' };
      }
      case 'DeleteParameter':
        this.mustGet(input.Name);
        this.params.delete(input.Name);
        return {};
      case 'GetParametersByPath': {
        const path: string = input.Path.endsWith('/') ? input.Path : `${input.Path}/`;
        const all = [...this.params.values()]
          .filter((p) => p.Name.startsWith(path) && (input.Recursive || !p.Name.slice(path.length).includes('/')))
          .sort((a, b) => a.Name.localeCompare(b.Name));
        const start = input.NextToken ? Number(input.NextToken) : 0;
        const max = input.MaxResults ?? 10;
        const page = all.slice(start, start + max);
        return {
          Parameters: page.map((p) => this.view(p, Boolean(input.WithDecryption))),
          ...(start + max < all.length && { NextToken: String(start + max) }),
        };
      }
      default:
        throw new SsmFault('InvalidAction', `Action ${action} is not supported by the local SSM endpoint`);
    }
  }
}

export async function startLocalSsm(port = 0): Promise<{ server: Server; endpoint: string; store: LocalSsm }> {
  const store = new LocalSsm();
  const respond = async (req: IncomingMessage, res: ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.split('.')[1] ?? '';
    let status = 200;
    let body: unknown;
    try {
      body = store.handle(action, JSON.parse((await readBody(req)) || '{}'));
    } catch (err) {
      status = 400;
      body =
        err instanceof SsmFault
          ? { __type: err.type, message: err.message }
          : { __type: 'InternalServerError', message: String(err) };
    }
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `local-${Date.now()}` });
    res.end(JSON.stringify(body));
  };
  // respond cannot reject: reading and handling the request are inside its try.
  const server = createServer((req, res) => void respond(req, res));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, store };
}
