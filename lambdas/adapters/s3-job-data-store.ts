import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { JobDataStore } from '../domain/job-data';

/** The job data store on S3: one JSON object per payload or result, in a private bucket. */
export class S3JobDataStore implements JobDataStore {
  constructor(
    /** A function, so the client is created only when a large value is met. */
    private readonly s3: () => S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: string): Promise<void> {
    await this.s3().send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
  }

  async get(key: string): Promise<string> {
    const { Body } = await this.s3().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!Body) throw new Error(`Job data object ${key} has no body`);
    return Body.transformToString('utf8');
  }
}
