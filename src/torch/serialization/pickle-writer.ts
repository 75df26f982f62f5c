/**
 * Emits protocol-2 pickle opcodes, limited to those torch 1.13's weights-only unpickler accepts
 * (plus BINFLOAT, which it lacks; torch >= 2.0 accepts it). The caller walks its value tree.
 */
export class PickleWriter {
  private buf = Buffer.alloc(1 << 16);
  private len = 0;

  constructor() {
    this.bytes(0x80, 2); // PROTO 2
  }

  /** Ends the pickle (STOP) and returns its bytes. */
  finish(): Uint8Array {
    this.bytes(0x2e);
    return this.buf.subarray(0, this.len);
  }

  none(): void {
    this.bytes(0x4e);
  }

  bool(v: boolean): void {
    this.bytes(v ? 0x88 : 0x89);
  }

  int(v: number | bigint): void {
    const n = typeof v === 'bigint' ? v : BigInt(v);
    if (n >= 0n && n < 0x100n) this.bytes(0x4b, Number(n)); // BININT1
    else if (n >= 0n && n < 0x10000n) {
      this.bytes(0x4d); // BININT2
      this.reserve(2).writeUInt16LE(Number(n), this.len - 2);
    } else if (n >= -0x80000000n && n < 0x80000000n) {
      this.bytes(0x4a); // BININT
      this.reserve(4).writeInt32LE(Number(n), this.len - 4);
    } else {
      // LONG1: minimal little-endian two's complement
      const out: number[] = [];
      let x = n;
      for (;;) {
        out.push(Number(x & 0xffn));
        x >>= 8n;
        const sign = out[out.length - 1] & 0x80;
        if ((x === 0n && !sign) || (x === -1n && sign)) break;
      }
      if (out.length > 255) throw new Error(`integer ${n} is too large to pickle`);
      this.bytes(0x8a, out.length, ...out);
    }
  }

  float(v: number): void {
    this.bytes(0x47); // BINFLOAT, big endian
    this.reserve(8).writeDoubleBE(v, this.len - 8);
  }

  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.bytes(0x58); // BINUNICODE
    this.reserve(4).writeUInt32LE(n, this.len - 4);
    this.reserve(n).write(s, this.len - n, 'utf8');
  }

  /** GLOBAL 'module\nname\n'. */
  global(module: string, name: string): void {
    const text = `${module}\n${name}\n`;
    this.bytes(0x63);
    this.reserve(text.length).write(text, this.len - text.length, 'latin1');
  }

  mark(): void {
    this.bytes(0x28);
  }

  /** Builds a tuple of the values pushed since the matching `mark()`. */
  tupleFromMark(): void {
    this.bytes(0x74);
  }

  emptyTuple(): void {
    this.bytes(0x29);
  }

  emptyList(): void {
    this.bytes(0x5d);
  }

  /** Appends the values pushed since `mark()` to the list below the mark. */
  appends(): void {
    this.bytes(0x65);
  }

  emptyDict(): void {
    this.bytes(0x7d);
  }

  /** Sets the key/value pairs pushed since `mark()` on the dict below the mark. */
  setItems(): void {
    this.bytes(0x75);
  }

  /** Calls the callable below the argument tuple on top of the stack. */
  reduce(): void {
    this.bytes(0x52);
  }

  /** Replaces the id on top of the stack by the object it names (BINPERSID). */
  persistentId(): void {
    this.bytes(0x51);
  }

  private bytes(...values: number[]): void {
    const b = this.reserve(values.length);
    for (let i = 0; i < values.length; i++) b[this.len - values.length + i] = values[i];
  }

  /** Grows the buffer (doubling, so appends stay linear) and advances `len` by `n`. */
  private reserve(n: number): Buffer {
    if (this.len + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    this.len += n;
    return this.buf;
  }
}
