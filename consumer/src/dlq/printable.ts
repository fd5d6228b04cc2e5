/*
 * Dead letters hold what clients sent and what errors said; `dlq list` and `dlq show` print them
 * on an operator's terminal. ESC, CR and the other control characters (C1 too: U+009B is a
 * CSI on many terminals), bidirectional overrides and unpaired surrogates could there rewrite
 * the screen, hide a line or run a terminal's escape commands. They are printed escaped, as
 * \u001b, so what was sent stays readable and nothing of it acts on the terminal.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;
const UNPRINTABLE_BUT_NEWLINE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

const escape = (character: string): string => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One value, line breaks included, as text that cannot act on a terminal. */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, escape);
}

/**
 * The output of a command, whose own line breaks are kept. JSON stays JSON: these characters can
 * only stand in its strings, where `\u` escapes mean the same.
 */
export function printableOutput(text: string): string {
  return text.replace(UNPRINTABLE_BUT_NEWLINE, escape);
}
