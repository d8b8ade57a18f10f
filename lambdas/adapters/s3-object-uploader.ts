import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectUploader } from '../files/migration';

const MiB = 1024 * 1024;

export interface S3ObjectUploaderOptions {
  bucket: string;
  /** Files up to this size are one PUT (buffered, at most this many bytes); larger ones multipart. @default 8 MiB */
  multipartThreshold?: number;
  /** Part size of multipart uploads (S3: at least 5 MiB but the last). @default 8 MiB, grown so a file fits in 10,000 parts */
  partSize?: number;
  /** Parts uploaded at once; memory is about (this + 1) × partSize. @default 2 */
  queueSize?: number;
}

/**
 * Streams a body into the files bucket without holding the file in memory:
 * a small file is buffered (up to the threshold) and put in one request; a
 * large one is cut into parts of `partSize`, at most `queueSize` in flight.
 * Every request carries its Content-MD5, so S3 refuses bytes damaged on the
 * way. `check` sees the byte count and MD5 of the whole body before the object
 * exists: a refusal (wrong size, wrong checksum) or any failure aborts the
 * multipart upload, and nothing is left in the bucket.
 */
export class S3ObjectUploader implements ObjectUploader {
  private readonly threshold: number;
  private readonly queueSize: number;

  constructor(
    private readonly s3: S3Client,
    private readonly opts: S3ObjectUploaderOptions,
  ) {
    this.threshold = opts.multipartThreshold ?? 8 * MiB;
    this.queueSize = Math.max(1, opts.queueSize ?? 2);
  }

  private partSizeFor(size: number): number {
    return Math.max(this.opts.partSize ?? 8 * MiB, Math.ceil(size / 10_000 / MiB) * MiB);
  }

  async upload(input: Parameters<ObjectUploader['upload']>[0]): Promise<void> {
    if (input.size <= this.threshold) return this.single(input);
    return this.multipart(input);
  }

  private async single({
    key,
    contentType,
    body,
    check,
    signal,
  }: Parameters<ObjectUploader['upload']>[0]): Promise<void> {
    const hash = createHash('md5');
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of body) {
      signal?.throwIfAborted();
      bytes += chunk.length;
      // The declared size may be wrong: never buffer past the threshold (the check refuses the file).
      if (bytes > this.threshold) {
        check({ bytes, md5: '' });
        throw new Error(`More than ${this.threshold} bytes arrived for a file declared smaller`);
      }
      hash.update(chunk);
      chunks.push(Buffer.from(chunk));
    }
    const data = Buffer.concat(chunks);
    const md5 = hash.digest();
    check({ bytes, md5: md5.toString('hex') });
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.opts.bucket,
        Key: key,
        Body: data,
        ContentType: contentType,
        ContentMD5: md5.toString('base64'),
      }),
      { abortSignal: signal },
    );
    await this.verifyStored(key, bytes);
  }

  private async multipart({
    key,
    contentType,
    size,
    body,
    check,
    signal,
  }: Parameters<ObjectUploader['upload']>[0]): Promise<void> {
    const partSize = this.partSizeFor(size);
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.opts.bucket, Key: key, ContentType: contentType }),
    );
    const hash = createHash('md5');
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    const send = (partNumber: number, data: Buffer) => {
      const p = this.s3
        .send(
          new UploadPartCommand({
            Bucket: this.opts.bucket,
            Key: key,
            UploadId,
            PartNumber: partNumber,
            Body: data,
            ContentMD5: createHash('md5').update(data).digest('base64'),
          }),
          { abortSignal: signal },
        )
        .then((r) => void parts.push({ PartNumber: partNumber, ETag: r.ETag! }))
        .catch((err: unknown) => void (failure ??= err instanceof Error ? err : new Error(String(err))))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    try {
      // Chunks are gathered and joined once per part (joining per chunk would copy each part ~100 times).
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let bytes = 0;
      let partNumber = 0;
      const cut = async (last: boolean) => {
        let data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        while (data.length >= partSize || (last && (data.length > 0 || partNumber === 0))) {
          // Bounded memory: wait for a free slot before cutting another part.
          while (inFlight.size >= this.queueSize) await Promise.race(inFlight);
          if (failure) throw failure;
          send(++partNumber, data.subarray(0, partSize));
          data = data.subarray(Math.min(partSize, data.length));
        }
        pending = data.length ? [data] : [];
        pendingBytes = data.length;
      };
      for await (const chunk of body) {
        signal?.throwIfAborted();
        if (failure) throw failure;
        hash.update(chunk);
        bytes += chunk.length;
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pendingBytes += chunk.length;
        if (pendingBytes >= partSize) await cut(false);
      }
      await cut(true);
      await Promise.all(inFlight);
      if (failure) throw failure;
      check({ bytes, md5: hash.digest('hex') });
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.opts.bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: parts.sort((a, b) => a.PartNumber - b.PartNumber) },
        }),
      );
      await this.verifyStored(key, bytes);
    } catch (err) {
      await Promise.allSettled(inFlight);
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key: key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  /** What S3 stores has the size read: checked before anything in Salesforce may be deleted. */
  private async verifyStored(key: string, bytes: number): Promise<void> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: key }));
    if (head.ContentLength !== bytes)
      throw new Error(`S3 holds ${head.ContentLength} bytes for ${key}; ${bytes} were uploaded`);
  }
}
