import { attachmentDisposition, MAX_PARTS, MIN_PART_SIZE, partSizeFor, S3_MAX_OBJECT_SIZE } from '../../../lambdas/files/file-service';

describe('partSizeFor', () => {
  test.each([1, 8 * 1024 ** 2 + 1, 50 * 1024 ** 2, 80 * 1024 ** 3, S3_MAX_OBJECT_SIZE])('%i bytes fit in 10,000 parts of at least 8 MiB', (size) => {
    const part = partSizeFor(size);
    expect(part).toBeGreaterThanOrEqual(MIN_PART_SIZE);
    expect(part % (1024 * 1024)).toBe(0);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
  });
  test('grows with the file only when needed', () => {
    expect(partSizeFor(50 * 1024 ** 2)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(S3_MAX_OBJECT_SIZE)).toBe(Math.ceil(S3_MAX_OBJECT_SIZE / MAX_PARTS / 1024 ** 2) * 1024 ** 2);
  });
});

test('attachmentDisposition keeps any name, with an ASCII fallback', () => {
  expect(attachmentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  expect(attachmentDisposition('Über "quotes" (1).txt')).toBe(`attachment; filename="_ber _quotes_ (1).txt"; filename*=UTF-8''%C3%9Cber%20%22quotes%22%20%281%29.txt`);
});
