/**
 * Reads the names of a vitest file's tests from its text, without importing it: every
 * `describe(…)`, `it(…)` and `test(…)` call whose first argument is a string literal, with the
 * chain of enclosing describes. Used by the ASVS table check (test/asvs-table.test.ts), so the
 * table's proofs name tests that exist.
 *
 * A small lexer: it skips comments, strings, template literals (with `${…}` nesting) and regular
 * expression literals, and tracks parenthesis depth so that a describe's body ends where its call
 * does. Names built with interpolation (`${…}`) keep their raw text and cannot be matched exactly;
 * `.each` tables are skipped (their names are formats, not names).
 */

export interface TestName {
  /** describe chain then the test's own name, e.g. ['HTTP skeleton', 'sets headers'] */
  chain: string[];
  kind: 'describe' | 'test';
}

const CALLEES = new Set(['describe', 'it', 'test']);
const MODIFIERS = new Set(['only', 'skip', 'concurrent', 'sequential', 'todo', 'fails', 'runIf', 'skipIf']);

/** Characters after which a `/` starts a regular expression rather than a division. */
const REGEX_PRECEDERS = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^', '']);

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}

/** Decodes the body of a '…' or "…" literal (the common escapes; enough for test names). */
function unescapeLiteral(raw: string): string {
  return raw.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/gs, (_m, e: string) => {
    if (e.startsWith('u{')) return String.fromCodePoint(Number.parseInt(e.slice(2, -1), 16));
    if (e.startsWith('u') && e.length === 5) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (e.startsWith('x') && e.length === 3) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f', v: '\v' };
    return simple[e] ?? e;
  });
}

export function parseTestNames(source: string): TestName[] {
  const out: TestName[] = [];
  /** open describes: their name and the paren depth just inside their call */
  const stack: { name: string; depth: number }[] = [];
  let depth = 0;
  let i = 0;
  let lastSignificant = '';
  const n = source.length;

  /** Index just past the string literal opened by the quote at `start`. */
  const skipQuoted = (start: number): number => {
    const q = source[start];
    let j = start + 1;
    while (j < n && source[j] !== q) {
      if (source[j] === '\\') j++;
      j++;
    }
    return j + 1;
  };
  /** Index just past the template literal opened at `start` (handles nested `${…}`). */
  const skipTemplate = (start: number): number => {
    let j = start + 1;
    while (j < n && source[j] !== '`') {
      if (source[j] === '\\') j += 2;
      else if (source[j] === '$' && source[j + 1] === '{') j = skipBraces(j + 1);
      else j++;
    }
    return j + 1;
  };
  /** Index just past the `}` matching the `{` at `start`, skipping nested literals. */
  const skipBraces = (start: number): number => {
    let d = 0;
    let j = start;
    while (j < n) {
      const c = source[j];
      if (c === '"' || c === "'") j = skipQuoted(j);
      else if (c === '`') j = skipTemplate(j);
      else {
        if (c === '{') d++;
        else if (c === '}') {
          d--;
          if (d === 0) return j + 1;
        }
        j++;
      }
    }
    return j;
  };
  const skipRegex = (start: number): number => {
    let j = start + 1;
    let inClass = false;
    while (j < n && source[j] !== '\n') {
      const c = source[j];
      if (c === '\\') j++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      j++;
    }
    j++;
    while (isIdentChar(source[j])) j++;
    return j;
  };
  const skipSpace = (start: number): number => {
    let j = start;
    while (j < n && /\s/.test(source[j] ?? '')) j++;
    return j;
  };

  while (i < n) {
    const c = source[i] ?? '';
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      i = skipQuoted(i);
      lastSignificant = 'x';
      continue;
    }
    if (c === '`') {
      i = skipTemplate(i);
      lastSignificant = 'x';
      continue;
    }
    if (c === '/') {
      if (REGEX_PRECEDERS.has(lastSignificant) || lastSignificant === 'return') {
        i = skipRegex(i);
        lastSignificant = 'x';
        continue;
      }
      i++;
      lastSignificant = '/';
      continue;
    }
    if (c === '(') {
      depth++;
      i++;
      lastSignificant = '(';
      continue;
    }
    if (c === ')') {
      depth--;
      while (stack.length > 0 && (stack[stack.length - 1]?.depth ?? 0) > depth) stack.pop();
      i++;
      lastSignificant = ')';
      continue;
    }
    if (isIdentChar(c) && !isIdentChar(source[i - 1]) && source[i - 1] !== '.') {
      let j = i;
      while (isIdentChar(source[j])) j++;
      const word = source.slice(i, j);
      if (CALLEES.has(word)) {
        // describe / it / test, then optional .modifier(s); `.each` tables are skipped
        let k = j;
        let each = false;
        let conditional = false;
        while (source[k] === '.') {
          let m = k + 1;
          while (isIdentChar(source[m])) m++;
          const mod = source.slice(k + 1, m);
          if (mod === 'each' || mod === 'for') each = true;
          else if (mod === 'runIf' || mod === 'skipIf') conditional = true;
          else if (!MODIFIERS.has(mod)) break;
          k = m;
          if (conditional && source[k] === '(') {
            // `.runIf(cond)(name, fn)`: skip the condition's parentheses
            let d = 0;
            let m2 = k;
            for (; m2 < n; m2++) {
              if (source[m2] === '(') d++;
              else if (source[m2] === ')') {
                d--;
                if (d === 0) break;
              }
            }
            k = m2 + 1;
            conditional = false;
          }
        }
        k = skipSpace(k);
        if (!each && source[k] === '(') {
          const argStart = skipSpace(k + 1);
          const q = source[argStart];
          if (q === '"' || q === "'" || q === '`') {
            const end = q === '`' ? skipTemplate(argStart) : skipQuoted(argStart);
            const raw = source.slice(argStart + 1, end - 1);
            const name = q === '`' ? raw : unescapeLiteral(raw);
            const chain = [...stack.map((s) => s.name), name];
            const kind = word === 'describe' ? 'describe' : 'test';
            out.push({ chain, kind });
            depth++; // the call's own parenthesis
            if (kind === 'describe') stack.push({ name, depth });
            i = end;
            lastSignificant = 'x';
            continue;
          }
        }
      }
      i = j;
      lastSignificant = word === 'return' || word === 'typeof' ? 'return' : 'x';
      continue;
    }
    if (!/\s/.test(c)) lastSignificant = c;
    i++;
  }
  return out;
}
