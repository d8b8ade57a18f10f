import http from 'node:http';
import https from 'node:https';
import type { AxiosInstance } from 'axios';
import { checkTargetUrl, guardedLookup, type TargetRules } from './targets';

/**
 * An axios instance (the soap library's HTTP client, passed as its `request`
 * option) that reaches only allowed targets: each request URL is checked as
 * written, each address a name resolves to in the agents' lookup, and
 * redirects are not followed (a SOAP POST replayed elsewhere is not wanted;
 * a WSDL that moved needs its new URL in the row).
 */
export async function checkedAxios(rules: TargetRules): Promise<AxiosInstance> {
  const { default: axios } = await import('axios');
  const lookup = guardedLookup(rules) as unknown as http.AgentOptions['lookup'];
  const instance = axios.create({
    httpAgent: new http.Agent({ keepAlive: true, lookup }),
    httpsAgent: new https.Agent({ keepAlive: true, lookup }),
    maxRedirects: 0,
  });
  instance.interceptors.request.use((config) => {
    checkTargetUrl(String(config.url), rules);
    return config;
  });
  return instance;
}
