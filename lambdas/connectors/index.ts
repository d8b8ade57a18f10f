import { restWrapper } from './rest/wrapper';
import { salesforceWrapper } from './salesforce/wrapper';
import { slackWrapper } from './slack/wrapper';
import { soapWrapper } from './soap/wrapper';
import { viberWrapper } from './viber/wrapper';
import type { WrapperMap } from './types';

/** Dispatch table: one wrapper per connector type, checked exhaustive by the compiler. */
export const wrappers = {
  rest: restWrapper,
  soap: soapWrapper,
  slack: slackWrapper,
  viber: viberWrapper,
  salesforce: salesforceWrapper,
} satisfies WrapperMap;
