import { UserError } from '../../errors.js';
import { defineEntry, pyOrderedDict } from './py-values.js';
import { printable } from './stored-zip.js';

/**
 * A restricted unpickler. Written as its own opcode loop (rather than on an npm unpickler) so that
 * strictness is structural: GLOBAL/STACK_GLOBAL can only yield what `resolveGlobal` grants,
 * REDUCE can only call those grants, BUILD only reaches objects that declare `SET_STATE`, and
 * INST/OBJ/NEWOBJ/EXT are refused. Nothing in the file can name arbitrary code.
 */

/** A Python global the allow-list grants: a class token, and a function when REDUCE may call it. */
export class PyGlobal {
  constructor(
    readonly qualifiedName: string,
    readonly call?: (args: readonly unknown[]) => unknown,
  ) {}
}

/** Objects that accept the pickle BUILD opcode (Python `__setstate__`) implement this method. */
export const SET_STATE = Symbol('setstate');
interface StateTarget {
  [SET_STATE](state: unknown): void;
}

export interface UnpickleEnv {
  /** Names the file in error messages. */
  readonly source: string;
  /** The allow-list: returns undefined for anything not granted, which the reader refuses. */
  resolveGlobal(module: string, name: string): PyGlobal | undefined;
  /** Resolves a BINPERSID id (torch: the storage tuple). */
  persistentLoad(pid: unknown): unknown;
  /** Whether a non-container object produced by a grant may appear in the result. */
  isLeaf(value: object): boolean;
}

/** A dict while it is being filled; turned into a plain object or Map when the pickle ends. */
export class DictBuilder implements StateTarget {
  readonly entries = new Map<unknown, unknown>();
  constructor(readonly ordered: boolean) {}

  [SET_STATE](state: unknown): void {
    // An OrderedDict's state is its instance __dict__ (a state_dict's `_metadata` module
    // versions); it matters only to Python's load hooks and is dropped.
    if (!this.ordered || !(state instanceof DictBuilder || state === null)) {
      throw new Error('BUILD is only accepted on an OrderedDict with a dict state');
    }
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Longest pickled integer accepted (bytes): far above any integer a checkpoint holds. */
const MAX_LONG_BYTES = 4096;
/** Deepest nesting of containers accepted: real checkpoints nest a handful of levels; the walk below recurses. */
const MAX_DEPTH = 1000;

/** Unpickles `bytes` under `env`'s allow-list; every problem is a UserError naming `env.source`. */
export function unpickle(bytes: Uint8Array, env: UnpickleEnv): unknown {
  const fail = (why: string) => new UserError(`${env.source}: ${printable(why)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number) => {
    if (pos + n > bytes.length) throw fail(`pickle data is truncated at byte ${pos}`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) throw fail(`pickle length ${v} exceeds the data`);
    return Number(v);
  };
  const raw = (n: number) => bytes.subarray(need(n), pos);
  const utf8 = (n: number) => {
    const data = raw(n);
    try {
      return textDecoder.decode(data);
    } catch {
      throw fail(`invalid UTF-8 string at byte ${pos - n}`);
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail('pickle data is truncated inside a text field');
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return text;
  };
  const pop = () => {
    if (stack.length === 0) throw fail(`pickle stack underflow at byte ${pos - 1}`);
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) throw fail(`pickle stack underflow at byte ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const items = stack;
    const outer = metastack.pop();
    if (outer === undefined) throw fail(`pickle MARK missing at byte ${pos - 1}`);
    stack = outer;
    return items;
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) throw fail(`pickle memo entry ${i} is missing`);
    return memo.get(i);
  };
  const global = (module: string, name: string) => {
    const granted = env.resolveGlobal(module, name);
    if (!granted) {
      throw fail(`refusing to load global '${module}.${name}': not on the allow-list of checkpoint types (it could run code)`);
    }
    return granted;
  };
  const list = (x: unknown, op: string) => {
    if (!Array.isArray(x) || Object.isFrozen(x)) throw fail(`${op} on a value that is not a list`);
    return x;
  };
  const dict = (x: unknown, op: string) => {
    if (!(x instanceof DictBuilder)) throw fail(`${op} on a value that is not a dict`);
    return x;
  };
  const tuple = (items: unknown[]) => Object.freeze(items);
  const int = (v: bigint) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const long = (b: Uint8Array) => {
    if (b.length === 0) return 0;
    // Checkpoint integers are small; a huge LONG4 would only cost time (and BigInt shifts are quadratic).
    if (b.length > MAX_LONG_BYTES) throw fail(`pickle integer of ${b.length} bytes is beyond any checkpoint value`);
    let v = BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return int(v);
  };

  for (;;) {
    const opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: a length prefix only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || metastack.length !== 0) throw fail('pickle ends with an unbalanced stack');
        return finish(stack[0], env, fail);
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(raw(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(raw(u32())));
        break;
      case 0x47: // BINFLOAT (big endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str; torch.load decodes these as UTF-8)
        stack.push(utf8(u32()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(utf8(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(raw(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: {
        // TUPLE (popMark swaps `stack`, so it must run before `stack.push` is looked up)
        const items = popMark();
        stack.push(tuple(items));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x61: {
        // APPEND
        const item = pop();
        list(top(), 'APPEND').push(item);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        // A loop, not push(...items): a hostile pickle can put more items on the stack than a call takes arguments.
        const target = list(top(), 'APPENDS');
        for (const item of items) target.push(item);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new DictBuilder(false));
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new DictBuilder(false);
        for (let i = 0; i + 1 < items.length; i += 2) d.entries.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        dict(top(), 'SETITEM').entries.set(key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) throw fail('SETITEMS with an odd number of items');
        const d = dict(top(), 'SETITEMS');
        for (let i = 0; i < items.length; i += 2) d.entries.set(items[i], items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL needs two strings');
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal) || !fn.call) {
          throw fail(`refusing to call ${fn instanceof PyGlobal ? `'${fn.qualifiedName}'` : 'a non-global'}: not callable under the allow-list`);
        }
        if (!Array.isArray(args)) throw fail(`arguments to '${fn.qualifiedName}' are not a tuple`);
        try {
          stack.push(fn.call(args));
        } catch (err) {
          if (err instanceof UserError) throw err;
          throw fail(`${fn.qualifiedName}: ${(err as Error).message}`);
        }
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (typeof target !== 'object' || target === null || !(SET_STATE in target)) {
          throw fail(`refusing BUILD (setstate) on ${describe(target)}`);
        }
        try {
          (target as StateTarget)[SET_STATE](state);
        } catch (err) {
          throw fail((err as Error).message);
        }
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        try {
          stack.push(env.persistentLoad(pid));
        } catch (err) {
          if (err instanceof UserError) throw err;
          throw fail(`persistent id: ${(err as Error).message}`);
        }
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        if (op === 0x92) pop();
        pop();
        const cls = pop();
        throw fail(`refusing to instantiate ${describe(cls)} (NEWOBJ)`);
      }
      default:
        throw fail(`unsupported pickle opcode 0x${op.toString(16)} ('${String.fromCharCode(op)}') at byte ${opAt}`);
    }
  }
}

function describe(x: unknown): string {
  if (x instanceof PyGlobal) return `'${x.qualifiedName}'`;
  if (x instanceof DictBuilder) return 'a dict';
  if (Array.isArray(x)) return Object.isFrozen(x) ? 'a tuple' : 'a list';
  return typeof x === 'object' && x !== null ? `a ${x.constructor?.name ?? 'object'}` : `a ${typeof x}`;
}

/** Turns the unpickled graph into plain JS: dicts become objects (str keys) or Maps; shared references stay shared. */
function finish(root: unknown, env: UnpickleEnv, fail: (why: string) => Error): unknown {
  const done = new Map<object, unknown>();
  const walk = (x: unknown, depth = 0): unknown => {
    if (typeof x !== 'object' || x === null) return x;
    if (done.has(x)) return done.get(x);
    if (depth > MAX_DEPTH) throw fail(`containers nested more than ${MAX_DEPTH} deep`);
    if (Array.isArray(x)) {
      const out: unknown[] = [];
      done.set(x, out);
      for (const item of x) out.push(walk(item, depth + 1));
      return Object.isFrozen(x) ? Object.freeze(out) : out;
    }
    if (x instanceof DictBuilder) {
      const keys = [...x.entries.keys()];
      let out: object;
      if (keys.every((k) => typeof k === 'string')) {
        const obj = {};
        done.set(x, obj);
        for (const [k, v] of x.entries) defineEntry(obj, k as string, walk(v, depth + 1));
        out = obj;
      } else {
        const map = new Map<unknown, unknown>();
        done.set(x, map);
        for (const [k, v] of x.entries) {
          if (typeof k === 'object' && k !== null && !(Array.isArray(k) && Object.isFrozen(k))) {
            throw fail(`dict key ${describe(k)} is not supported`);
          }
          map.set(walk(k, depth + 1), walk(v, depth + 1));
        }
        out = map;
      }
      return x.ordered ? pyOrderedDict(out) : out;
    }
    if (x instanceof Uint8Array || env.isLeaf(x)) return x;
    throw fail(`${describe(x)} cannot be represented as a checkpoint value`);
  };
  return walk(root);
}
