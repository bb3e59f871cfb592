/**
 * Input values repeated in error messages, capped: a message names what was wrong, it does not
 * carry it back (a 10 MB model name must not give a 10-million-character error).
 */

/** Longest single value an error message repeats. */
export const MAX_ECHO_CHARS = 120;

/** Names listed at most in one message ("have: a, b, c, ... and 40 more"). */
export const MAX_ECHO_ITEMS = 20;

/** Longest whole message any `GatewayError` carries, however many values it lists. */
export const MAX_MESSAGE_CHARS = 8_000;

/** `value`, or its start and its length when longer than `max`. */
export function echo(value: string, max: number = MAX_ECHO_CHARS): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}... (${value.length} characters)`;
}

/** A comma-separated list of names, each capped, at most `MAX_ECHO_ITEMS` of them. */
export function echoList(values: Iterable<string>): string {
  const all = [...values];
  const shown = all.slice(0, MAX_ECHO_ITEMS).map((value) => echo(value));
  if (all.length > MAX_ECHO_ITEMS) shown.push(`... and ${all.length - MAX_ECHO_ITEMS} more`);
  return shown.join(", ");
}
