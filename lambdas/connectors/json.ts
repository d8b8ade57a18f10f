import { parse as losslessParse } from 'lossless-json';

/**
 * JSON from upstream services, parsed without losing digits: JSON.parse rounds
 * integers beyond 2^53 (Viber's message_token 5741311803571721087 would become
 * 5741311803571721000). An integer literal outside Number's safe range is kept
 * as its decimal string, exactly as sent; every other number is a number (a
 * fraction with more digits than a double holds keeps the nearest double, as
 * JSON.parse does: see docs/connectors.md).
 */

// A safe integer has at most 16 digits: text without a number token of 16 or more digits parses exactly with
// JSON.parse (fast path). Number tokens follow ":", "[", "," or start the text; a digit run inside a string
// (a Salesforce id such as "006000000000000001") seldom does, and then only costs the slower parse.
const LONG_DIGIT_RUN = /(?:^|[:[,])\s*-?\d{16}/;
const INTEGER_LITERAL = /^-?\d+$/;

function parseNumber(literal: string): number | string {
  const value = Number(literal);
  return INTEGER_LITERAL.test(literal) && !Number.isSafeInteger(value) ? literal : value;
}

/** Like JSON.parse (throws SyntaxError on bad JSON; a repeated key keeps its last value), with unsafe integers as strings. */
export function parseJson(text: string): unknown {
  if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text);
  return losslessParse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
}

/**
 * The same JSON text with every unsafe integer turned into a string literal, for
 * libraries that run JSON.parse themselves (jsforce): they then see the exact digits.
 */
export function protectLargeIntegers(text: string): string {
  if (!LONG_DIGIT_RUN.test(text)) return text;
  try {
    return JSON.stringify(parseJson(text));
  } catch {
    return text; // not JSON: the library reports it as it would have
  }
}
