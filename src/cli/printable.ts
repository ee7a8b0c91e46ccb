/**
 * An id or name read from a shop's file, as a terminal can show it: control characters (C0, DEL, C1) and
 * the bidirectional formatting characters become `\u` escapes, so an id holding an escape sequence cannot
 * clear the screen, retitle the terminal or reorder what is printed after it. Anything else is unchanged.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A message that may quote a shop's file, each line made printable (its line breaks kept). */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}
