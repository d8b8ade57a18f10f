import { restWrapper } from './rest/wrapper';
import type { WrapperMap } from './types';

/** Dispatch table: one wrapper per connector type, checked exhaustive by the compiler. */
export const wrappers = {
  rest: restWrapper,
} satisfies WrapperMap;
