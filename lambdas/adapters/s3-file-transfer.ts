import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { FileTransfer, MultipartOutcome } from '../files/file-ports';

type Presigner = typeof import('@aws-sdk/s3-request-presigner');
let presigner: Promise<Presigner> | undefined;
/**
 * The presigner (and the signing code it pulls in) loads on the first URL, not at
 * cold start: most API calls are callouts, which never presign.
 */
const loadPresigner = () => (presigner ??= import('@aws-sdk/s3-request-presigner'));

/** S3's names for a multipart completion whose parts do not make the object. */
const REFUSED = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall']);

/** The files bucket: presigned single and multipart transfers, and the objects behind them. */
export class S3FileTransfer implements FileTransfer {
  private readonly expiresIn: number;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    /** @default 900 */
    urlExpirySeconds?: number,
  ) {
    this.expiresIn = urlExpirySeconds ?? 900;
  }

  async uploadUrl(key: string, contentType: string): Promise<string> {
    const { getSignedUrl } = await loadPresigner();
    return getSignedUrl(this.s3, new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }), {
      expiresIn: this.expiresIn,
    });
  }

  async startMultipart(key: string, contentType: string): Promise<string> {
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
    );
    return UploadId!;
  }

  async partUrl(key: string, uploadId: string, partNumber: number): Promise<string> {
    const { getSignedUrl } = await loadPresigner();
    return getSignedUrl(
      this.s3,
      new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }),
      { expiresIn: this.expiresIn },
    );
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: Array<{ partNumber: number; etag: string }>,
  ): Promise<MultipartOutcome> {
    try {
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: [...parts]
              .sort((a, b) => a.partNumber - b.partNumber)
              .map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
          },
        }),
      );
      return { outcome: 'assembled' };
    } catch (err) {
      const name = (err as Error).name;
      if (REFUSED.has(name)) return { outcome: 'refused', reason: name };
      if (name === 'NoSuchUpload') return { outcome: 'gone' };
      throw err;
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.s3
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
      .catch((err: Error) => {
        if (err.name !== 'NoSuchUpload') throw err;
      });
  }

  async storedSize(key: string): Promise<number | undefined> {
    try {
      return (await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).ContentLength;
    } catch (err) {
      // No object: 404, or 403 when the role may not list the bucket.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404 && status !== 403) throw err;
      return undefined;
    }
  }

  async downloadUrl(key: string, headers: { contentDisposition: string; contentType: string }): Promise<string> {
    const { getSignedUrl } = await loadPresigner();
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: headers.contentDisposition,
      ResponseContentType: headers.contentType,
    });
    return getSignedUrl(this.s3, command, { expiresIn: this.expiresIn });
  }

  async deleteObject(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
