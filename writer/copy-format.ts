/**
 * PostgreSQL COPY binary format (`COPY … FROM STDIN (FORMAT binary)`): a signature header,
 * then per row a 16-bit field count and per field a 32-bit byte length (-1 for NULL) and the
 * value in its type's binary send format, then a 16-bit -1 trailer. Binary because the server
 * then parses no text: no float8in, no timestamp arithmetic, no escapes.
 *
 * The column types of the target must match exactly (text, float8, timestamptz): binary COPY
 * does no casts.
 */
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]); // + flags, extension length
const CHUNK_BYTES = 65536;
/** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix microseconds. */
const PG_EPOCH_UNIX_US = 946_684_800_000_000;
const TWO_POW_32 = 2 ** 32;

/** Encodes rows into 64 KiB buffers: few stream writes, no per-row allocation. */
export class CopyBinaryWriter {
  private readonly chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private at = HEADER.copy(this.buf, 0);

  row(fields: number): void {
    this.reserve(2);
    this.at = this.buf.writeInt16BE(fields, this.at);
  }

  text(value: string | null): void {
    if (value === null) return this.null();
    this.reserve(4 + 3 * value.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const bytes = this.buf.write(value, this.at + 4, 'utf8');
    this.buf.writeInt32BE(bytes, this.at);
    this.at += 4 + bytes;
  }

  float8(value: number | null): void {
    if (value === null) return this.null();
    this.reserve(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(value, this.at);
  }

  /**
   * timestamptz from integer Unix microseconds: int64 microseconds since 2000-01-01, written
   * as two 32-bit halves so the value stays exact without a BigInt per row.
   */
  timestamptz(unixUs: number): void {
    if (!Number.isSafeInteger(unixUs)) throw new RangeError(`timestamp ${unixUs} µs is not an exact integer`);
    const us = unixUs - PG_EPOCH_UNIX_US;
    const high = Math.floor(us / TWO_POW_32);
    this.reserve(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeInt32BE(high, this.at);
    this.at = this.buf.writeUInt32BE(us - high * TWO_POW_32, this.at);
  }

  /** Ends the data (trailer) and returns it; the writer is not used afterwards. */
  finish(): Buffer[] {
    this.reserve(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    this.chunks.push(this.buf.subarray(0, this.at));
    return this.chunks;
  }

  private null(): void {
    this.reserve(4);
    this.at = this.buf.writeInt32BE(-1, this.at);
  }

  /** Rows may span chunks: COPY data is one byte stream. */
  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.at = 0;
  }
}
