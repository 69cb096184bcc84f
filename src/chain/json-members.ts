/**
 * Where each top-level member of a JSON object sits in its text, without parsing the values: the
 * proxy passes a node's `result` on as the node wrote it instead of parsing and re-serializing it.
 */

/** Character range [start, end) of one member's value. */
export type ValueRange = readonly [number, number];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  return at;
}

/** Index just past the string whose opening quote is at `at`; -1 if it does not end. */
function skipString(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Index just past the value starting at `at` (already past any space); -1 if malformed. */
function skipValue(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return skipString(text, at);
  if (first !== 0x7b && first !== 0x5b) {
    // A number, true, false or null: up to the next delimiter.
    let end = at;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === 0x2c || c === 0x7d || c === 0x5d || isSpace(c)) break;
      end++;
    }
    return end > at ? end : -1;
  }
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(text, i) - 1;
      if (i < 0) return -1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The value ranges of a JSON object's top-level members, by key; null when `text` is not a JSON
 * object this can read (the caller then parses it). Values are not checked: the text must come from
 * a JSON encoder (the node), as a parse of the same text would also accept only valid JSON.
 */
export function topLevelMembers(text: string): Map<string, ValueRange> | null {
  const members = new Map<string, ValueRange>();
  let at = skipSpace(text, 0);
  if (text.charCodeAt(at) !== 0x7b) return null;
  at = skipSpace(text, at + 1);
  if (text.charCodeAt(at) === 0x7d) return members;
  for (;;) {
    if (text.charCodeAt(at) !== QUOTE) return null;
    const keyEnd = skipString(text, at);
    if (keyEnd < 0) return null;
    const rawKey = text.slice(at + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(`"${rawKey}"`) as string) : rawKey;
    at = skipSpace(text, keyEnd);
    if (text.charCodeAt(at) !== 0x3a) return null;
    const start = skipSpace(text, at + 1);
    const end = skipValue(text, start);
    if (end < 0) return null;
    members.set(key, [start, end]);
    at = skipSpace(text, end);
    const next = text.charCodeAt(at);
    if (next === 0x7d) return skipSpace(text, at + 1) === text.length ? members : null;
    if (next !== 0x2c) return null;
    at = skipSpace(text, at + 1);
  }
}
