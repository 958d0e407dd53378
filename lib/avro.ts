import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { PipelineError } from './errors';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body. */
type Resolver = ReturnType<avro.Type['createResolver']>;

const MAGIC = 0;
const HEADER = 5;

/** A value cannot be decoded (bad magic byte, unknown schema, corrupt body): not retriable. */
export class DecodeError extends PipelineError {}

export function createRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url, retry: { retries: 5 } });
}

/**
 * Encodes with one registered writer schema and decodes any registered version into the
 * reader schema (Avro schema resolution), so a service built before a compatible schema
 * change keeps reading records written after it. Schemas are fetched once per id; the hot
 * path is synchronous once an id is known.
 */
export class AvroCodec<T> {
  private readonly readerType: avro.Type;
  private readonly readers = new Map<number, avro.Type | Resolver>();
  private writerId = -1;
  /** Registered as written: avsc's own schema() export would drop field defaults. */
  private readonly schemaText: string;

  constructor(
    private readonly registry: SchemaRegistry,
    readerSchemaText: string,
  ) {
    const schema = JSON.parse(readerSchemaText);
    this.readerType = avro.Type.forSchema(schema);
    this.schemaText = JSON.stringify(schema);
  }

  /** The registry id encode() writes; -1 before register(). */
  get schemaId(): number {
    return this.writerId;
  }

  /** Registers the schema under `subject` with BACKWARD compatibility; encode() then uses it. */
  async register(subject: string): Promise<number> {
    const { id } = await this.registry.register(
      { type: SchemaType.AVRO, schema: this.schemaText },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    );
    this.writerId = id;
    this.readers.set(id, this.readerType);
    return id;
  }

  /** Reused by encode(): the body is written here, then copied once into a buffer of its exact size. */
  private scratch = Buffer.allocUnsafe(1024);

  encode(value: T): Buffer {
    if (this.writerId < 0) throw new PipelineError('AvroCodec.encode before register()');
    let end = this.readerType.encode(value, this.scratch, HEADER);
    while (end < 0) {
      // avsc says how many bytes were missing (as a negative number): grow and write again.
      this.scratch = Buffer.allocUnsafe(Math.max(2 * this.scratch.length, this.scratch.length - end));
      end = this.readerType.encode(value, this.scratch, HEADER);
    }
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, HEADER, HEADER, end);
    out[0] = MAGIC;
    out.writeInt32BE(this.writerId, 1);
    return out;
  }

  /** Fetches the writer schemas of these values that are not known yet. */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    for (const value of values) {
      if (!value || value.length < HEADER || value[0] !== MAGIC) continue;
      const id = value.readInt32BE(1);
      if (!this.readers.has(id)) await this.learn(id);
    }
  }

  /** Synchronous decode; call prepare() first for values that may carry new schema ids. */
  decode(value: Buffer | null): T {
    if (!value || value.length < HEADER) throw new DecodeError('value shorter than the Confluent header');
    if (value[0] !== MAGIC) throw new DecodeError(`unknown magic byte ${value[0]}`);
    const id = value.readInt32BE(1);
    const reader = this.readers.get(id);
    if (!reader) throw new DecodeError(`schema id ${id} is not registered`);
    try {
      const body = value.subarray(HEADER);
      return (reader === this.readerType ? this.readerType.fromBuffer(body) : this.readerType.fromBuffer(body, reader as Resolver)) as T;
    } catch (err) {
      throw new DecodeError(`Avro body does not match schema id ${id}: ${(err as Error).message}`);
    }
  }

  private async learn(id: number): Promise<void> {
    let writerType: avro.Type;
    try {
      const schema = (await this.registry.getSchema(id)) as unknown as avro.Type;
      writerType = avro.Type.forSchema(schema.schema() as avro.Schema);
    } catch (err) {
      // The registry answered: the id is unknown. Anything else (network) is retriable.
      const status = (err as { status?: number }).status;
      if (status === 404) return;
      throw new PipelineError(`schema registry: cannot fetch schema ${id}`, { retriable: true, cause: err });
    }
    this.readers.set(id, writerType.equals(this.readerType) ? this.readerType : this.readerType.createResolver(writerType));
  }
}
