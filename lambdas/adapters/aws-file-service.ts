import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FileService, type FileServiceConfig } from '../files/file-service';
import { DynamoFileRepository } from './file-repository';
import { S3FileTransfer } from './s3-file-transfer';

export interface AwsFileServiceConfig extends FileServiceConfig {
  /** The files table (key fileId, index byRecordId). */
  tableName: string;
  /** The files bucket. */
  bucket: string;
  /** How long presigned URLs last. @default 900 */
  urlExpirySeconds?: number;
}

/** The file service on the files table and bucket: what the API handler (and tools) wire. */
export function awsFileService(db: DynamoDBDocumentClient, s3: S3Client, config: AwsFileServiceConfig): FileService {
  const { tableName, bucket, urlExpirySeconds, ...rules } = config;
  return new FileService(
    new DynamoFileRepository(db, tableName),
    new S3FileTransfer(s3, bucket, urlExpirySeconds),
    rules,
  );
}
