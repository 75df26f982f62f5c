/**
 * JSON as Python's `json` module writes it for nnU-Net (batchgenerators `save_json`: indent 4, sorted keys,
 * allow_nan): non-finite floats are the bare tokens NaN / Infinity / -Infinity, which JSON.parse rejects.
 * summary.json holds NaN for every class that is empty in both reference and prediction.
 */

export type PyJsonValue = null | boolean | number | string | PyJsonValue[] | { [key: string]: PyJsonValue };

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return JSON.stringify(n);
}

function write(value: PyJsonValue, indent: string, out: string[]): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    out.push(JSON.stringify(value));
  } else if (typeof value === 'number') {
    out.push(formatNumber(value));
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]');
      return;
    }
    const inner = indent + '    ';
    out.push('[\n');
    value.forEach((v, i) => {
      out.push(inner);
      write(v, inner, out);
      out.push(i < value.length - 1 ? ',\n' : '\n');
    });
    out.push(indent + ']');
  } else {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) {
      out.push('{}');
      return;
    }
    const inner = indent + '    ';
    out.push('{\n');
    keys.forEach((k, i) => {
      out.push(`${inner}${JSON.stringify(k)}: `);
      write(value[k], inner, out);
      out.push(i < keys.length - 1 ? ',\n' : '\n');
    });
    out.push(indent + '}');
  }
}

/** Serialize like Python's `json.dump(obj, f, indent=4, sort_keys=True)`. */
export function stringifyPythonJson(value: PyJsonValue): string {
  const out: string[] = [];
  write(value, '', out);
  return out.join('');
}

// NUL cannot occur unescaped inside a JSON string, so these markers never collide with real strings
const NON_FINITE: Record<string, number> = { '\u0000NaN': NaN, '\u0000Infinity': Infinity, '\u0000-Infinity': -Infinity };

/** Parse JSON that may contain Python's bare NaN / Infinity / -Infinity tokens. */
export function parsePythonJson(text: string): unknown {
  let converted = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    for (const token of ['NaN', 'Infinity', '-Infinity']) {
      if (text.startsWith(token, i)) {
        converted += text.slice(last, i) + JSON.stringify(`\u0000${token}`);
        i += token.length - 1;
        last = i + 1;
        break;
      }
    }
  }
  converted += text.slice(last);
  return JSON.parse(converted, (_key, v: unknown) => (typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v));
}
