/**
 * A strict JSON reader for the files Lethe trusts: RFC 8259 exactly, and no duplicate keys.
 *
 * `JSON.parse` keeps the last of two equal keys, so `{"seed": 1, "seed": 2}` reads as seed 2 and
 * a damaged or hand-edited file can say two things at once. The safetensors format forbids
 * duplicate keys; Lethe refuses them in every file it reads. Objects are built with own
 * properties only (a key `__proto__` is data, never a prototype).
 */

/** Why a text is not strict JSON; callers wrap it in an error that names the file. */
export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Nesting deeper than this is refused rather than risking the stack. */
const MAX_DEPTH = 256;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * Parses `text` as one JSON value; throws {@link JsonSyntaxError} on anything `JSON.parse` would
 * refuse, and on an object with two equal keys (`duplicate key "seed" at position 14`).
 */
export function parseStrictJson(text: string): unknown {
  let at = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at position ${at}`);
  };
  const space = (): void => {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else return;
    }
  };
  const string = (): string => {
    at++; // the opening quote
    let out = '';
    let start = at;
    for (;;) {
      if (at >= text.length) fail('unterminated string');
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        out += text.slice(start, at);
        at++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(start, at);
        const e = text[at + 1];
        if (e === 'u') {
          const hex = text.slice(at + 2, at + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          at += 6;
        } else if (e !== undefined && e in ESCAPES) {
          out += ESCAPES[e];
          at += 2;
        } else {
          fail('bad escape');
        }
        start = at;
        continue;
      }
      at++;
    }
  };
  /** After a member of an object or array: true past a ',', false past the `close` that ends it. */
  const more = (close: '}' | ']'): boolean => {
    space();
    const c = text[at];
    if (c !== ',' && c !== close) fail(`expected ',' or '${close}'`);
    at++;
    return c === ',';
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const obj: Record<string, unknown> = {};
      const seen = new Set<string>();
      space();
      if (text[at] === '}') {
        at++;
        return obj;
      }
      do {
        space();
        if (text[at] !== '"') fail('expected a string key');
        const keyAt = at;
        const key = string();
        if (seen.has(key)) {
          at = keyAt;
          fail(`duplicate key ${JSON.stringify(key)}`);
        }
        seen.add(key);
        space();
        if (text[at] !== ':') fail("expected ':'");
        at++;
        const v = value(depth + 1);
        Object.defineProperty(obj, key, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } while (more('}'));
      return obj;
    }
    if (c === '[') {
      at++;
      const arr: unknown[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return arr;
      }
      do arr.push(value(depth + 1));
      while (more(']'));
      return arr;
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (m === null) return fail(at >= text.length ? 'unexpected end' : 'unexpected character');
    at += m[0].length;
    return Number(m[0]);
  };
  const result = value(0);
  space();
  if (at < text.length) fail('unexpected text after the JSON value');
  return result;
}

/** Bytes as UTF-8 text; throws {@link JsonSyntaxError} on an invalid sequence (never U+FFFD). */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new JsonSyntaxError('not valid UTF-8');
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a parsed JSON value is an object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
