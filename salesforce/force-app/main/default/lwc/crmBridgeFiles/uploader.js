/**
 * Uploads one browser File straight to S3 with the presigned URLs the hub hands out through
 * Apex: a single PUT, or multipart parts sliced from the File (never read whole into memory)
 * with at most MAX_IN_FLIGHT parts on the wire and each failed part retried. XMLHttpRequest
 * rather than fetch because only it reports upload progress.
 */
export const MAX_IN_FLIGHT = 4;
export const MAX_ATTEMPTS = 3;
/** Part URLs asked for at a time (the controller asks the hub for as many): Apex holds no more than these. */
export const PART_URL_BATCH = 100;
/** Backoff before attempt n+1 (n = 1, 2): 1 s, 2 s. */
export const RETRY_DELAY_MS = 1000;

/** A failure whose message is already written for the person using the page. */
export class UploadError extends Error {
    constructor(message, { retryable = false, expired = false } = {}) {
        super(message);
        this.name = 'UploadError';
        this.retryable = retryable;
        this.expired = expired;
    }
}

export class UploadCancelled extends Error {
    constructor() {
        super('The upload was cancelled.');
        this.name = 'UploadCancelled';
    }
}

const NETWORK_MESSAGE =
    'The file could not be sent to file storage: the connection was lost, or file storage does not accept uploads from Salesforce yet. Check your connection and try again; if it keeps happening, contact your Salesforce administrator.';
const NO_ETAG_MESSAGE =
    'File storage accepted the upload but did not confirm it (the storage settings hide the confirmation). Please contact your Salesforce administrator.';

/** The words an end user sees for an S3 answer other than 2xx. */
function s3Error(status) {
    if (status === 0) return new UploadError(NETWORK_MESSAGE, { retryable: true });
    if (status === 403) {
        return new UploadError('The upload link has expired or was refused. Please try again.', {
            retryable: true,
            expired: true
        });
    }
    if (status === 400 || status === 413) {
        return new UploadError(
            'File storage refused this file. Please try again; if it keeps happening, contact your Salesforce administrator.'
        );
    }
    return new UploadError('File storage had a temporary problem while receiving the file. Please try again.', {
        retryable: status >= 500 || status === 408 || status === 429
    });
}

/** A message for anything thrown on the way: Apex errors carry their plain text in body.message. */
export function messageOf(error) {
    if (!error) return 'Something went wrong. Please try again.';
    if (error.body && typeof error.body.message === 'string' && error.body.message) return error.body.message;
    if (Array.isArray(error.body) && error.body.length && error.body[0].message) return error.body[0].message;
    if (error instanceof UploadError || error instanceof UploadCancelled) return error.message;
    return 'Something went wrong. Please try again; if it keeps happening, contact your Salesforce administrator.';
}

const defaultSleep = (ms) =>
    new Promise((resolve) => {
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        setTimeout(resolve, ms);
    });

export class FileUpload {
    /**
     * file: the browser File; recordId; apex: { createUpload, refreshPartUrls, completeUpload, cancelUpload }
     * (the imported Apex methods); onProgress(loaded, total).
     */
    constructor({
        file,
        recordId,
        apex,
        onProgress = () => {},
        sleep = defaultSleep,
        maxInFlight = MAX_IN_FLIGHT,
        maxAttempts = MAX_ATTEMPTS
    }) {
        this.file = file;
        this.recordId = recordId;
        this.apex = apex;
        this.onProgress = onProgress;
        this.sleep = sleep;
        this.maxInFlight = maxInFlight;
        this.maxAttempts = maxAttempts;
        this.fileId = undefined;
        this.cancelled = false;
        this.requests = new Set();
        this.loadedByPart = new Map();
    }

    get total() {
        return this.file.size;
    }

    get loaded() {
        let sum = 0;
        for (const value of this.loadedByPart.values()) sum += value;
        return Math.min(sum, this.total);
    }

    /** Resolves with the completed file (as the controller answers it). */
    async start() {
        const created = await this.apex.createUpload({
            recordId: this.recordId,
            fileName: this.file.name,
            contentType: this.file.type || 'application/octet-stream',
            size: this.file.size
        });
        this.fileId = created.fileId;
        this.checkCancelled();
        const upload = created.upload || {};
        let partsJson = null;
        if (upload.url) {
            await this.withRetry(
                1,
                { url: upload.url },
                (target) => this.put(target.url, this.file, 1, upload.headers || {}, false),
                false
            );
        } else {
            partsJson = JSON.stringify(await this.multipart(upload));
        }
        this.checkCancelled();
        this.report();
        return this.apex.completeUpload({ recordId: this.recordId, fileId: this.fileId, partsJson });
    }

    /** Stops every request on the wire; the hub then drops the unfinished upload. */
    async cancel() {
        if (this.cancelled) return;
        this.cancelled = true;
        for (const xhr of this.requests) xhr.abort();
        this.requests.clear();
        if (this.fileId) {
            try {
                await this.apex.cancelUpload({ recordId: this.recordId, fileId: this.fileId });
            } catch (e) {
                // Nothing to tell the user: S3 discards unfinished uploads after a day anyway.
            }
        }
    }

    checkCancelled() {
        if (this.cancelled) throw new UploadCancelled();
    }

    async multipart({ partSize, partCount, parts }) {
        this.urls = new Map((parts || []).map((p) => [p.partNumber, p.url]));
        this.partCount = partCount || (parts || []).length;
        const queue = Array.from({ length: this.partCount }, (_, i) => i + 1);
        const etags = [];
        const worker = async () => {
            while (queue.length) {
                this.checkCancelled();
                const partNumber = queue.shift();
                const start = (partNumber - 1) * partSize;
                const blob = this.file.slice(start, Math.min(start + partSize, this.file.size));
                const url = await this.urlFor(partNumber);
                const etag = await this.withRetry(
                    partNumber,
                    { url },
                    (target) => this.put(target.url, blob, partNumber, {}, true),
                    true
                );
                etags.push({ partNumber, etag });
            }
        };
        // Counted before starting: each worker takes its first part synchronously.
        const count = Math.min(this.maxInFlight, queue.length);
        const workers = [];
        for (let i = 0; i < count; i++) workers.push(worker());
        try {
            await Promise.all(workers);
        } catch (e) {
            // One part failed for good: stop the others (their bytes are of no use now).
            queue.length = 0;
            for (const xhr of this.requests) xhr.abort();
            throw e;
        }
        return etags.sort((a, b) => a.partNumber - b.partNumber);
    }

    /**
     * The part's URL; URLs not handed out with the create answer are asked for PART_URL_BATCH at a
     * time, from this part on (one request at a time: parts in flight wait for the same answer).
     */
    async urlFor(partNumber) {
        for (let own = false; !this.urls.has(partNumber);) {
            if (own)
                throw new UploadError(
                    'File storage did not hand out an upload link for part of this file. Please try again.'
                );
            if (!this.fetchingUrls) {
                own = true;
                const wanted = [];
                for (let n = partNumber; n <= this.partCount && wanted.length < PART_URL_BATCH; n++) {
                    if (!this.urls.has(n)) wanted.push(n);
                }
                this.fetchingUrls = this.apex
                    .refreshPartUrls({ recordId: this.recordId, fileId: this.fileId, partNumbers: wanted })
                    .then((fresh) => {
                        for (const p of fresh.parts || []) this.urls.set(p.partNumber, p.url);
                    })
                    .finally(() => {
                        this.fetchingUrls = null;
                    });
            }
            await this.fetchingUrls;
            this.checkCancelled();
        }
        return this.urls.get(partNumber);
    }

    /** Runs send(target) up to maxAttempts times; an expired part URL (refreshable) is exchanged for a fresh one first. */
    async withRetry(partNumber, target, send, refreshable) {
        for (let attempt = 1; ; attempt++) {
            try {
                return await send(target);
            } catch (e) {
                if (this.cancelled || e instanceof UploadCancelled) throw new UploadCancelled();
                this.loadedByPart.set(partNumber, 0);
                this.report();
                // An expired single-PUT URL cannot be renewed (the hub renews part URLs only): the same URL would fail again.
                if (
                    !(e instanceof UploadError) ||
                    !e.retryable ||
                    (e.expired && !refreshable) ||
                    attempt >= this.maxAttempts
                )
                    throw e;
                await this.sleep(RETRY_DELAY_MS * 2 ** (attempt - 1));
                this.checkCancelled();
                if (e.expired && refreshable) {
                    const fresh = await this.apex.refreshPartUrls({
                        recordId: this.recordId,
                        fileId: this.fileId,
                        partNumbers: [partNumber]
                    });
                    const part = (fresh.parts || []).find((p) => p.partNumber === partNumber);
                    if (part) {
                        target.url = part.url;
                        this.urls.set(partNumber, part.url);
                    }
                }
            }
        }
    }

    /** One PUT; resolves with the ETag S3 answered (needed, and so required, for a part). */
    put(url, body, partNumber, headers, needEtag) {
        return new Promise((resolve, reject) => {
            const xhr = new XMLHttpRequest();
            this.requests.add(xhr);
            xhr.open('PUT', url);
            for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
            xhr.upload.onprogress = (event) => {
                this.loadedByPart.set(partNumber, event.loaded);
                this.report();
            };
            const done = () => this.requests.delete(xhr);
            xhr.onload = () => {
                done();
                if (xhr.status >= 200 && xhr.status < 300) {
                    const etag = xhr.getResponseHeader('ETag');
                    if (needEtag && !etag) {
                        reject(new UploadError(NO_ETAG_MESSAGE));
                        return;
                    }
                    this.loadedByPart.set(partNumber, body.size);
                    this.report();
                    resolve(etag);
                } else {
                    reject(s3Error(xhr.status));
                }
            };
            xhr.onerror = () => {
                done();
                reject(s3Error(0));
            };
            xhr.ontimeout = xhr.onerror;
            xhr.onabort = () => {
                done();
                reject(new UploadCancelled());
            };
            xhr.send(body);
        });
    }

    report() {
        this.onProgress(this.loaded, this.total);
    }
}
