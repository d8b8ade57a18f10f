import { createElement } from 'lwc';
import CrmBridgeFiles from 'c/crmBridgeFiles';
import listFiles from '@salesforce/apex/CrmBridgeFilesController.listFiles';
import createUpload from '@salesforce/apex/CrmBridgeFilesController.createUpload';
import refreshPartUrls from '@salesforce/apex/CrmBridgeFilesController.refreshPartUrls';
import completeUpload from '@salesforce/apex/CrmBridgeFilesController.completeUpload';
import cancelUpload from '@salesforce/apex/CrmBridgeFilesController.cancelUpload';
import getDownloadUrl from '@salesforce/apex/CrmBridgeFilesController.getDownloadUrl';
import deleteFile from '@salesforce/apex/CrmBridgeFilesController.deleteFile';
import { navigations } from 'lightning/navigation';

// jest.mock calls are hoisted above the imports only when written out one by one.
jest.mock('@salesforce/apex/CrmBridgeFilesController.listFiles', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('@salesforce/apex/CrmBridgeFilesController.createUpload', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('@salesforce/apex/CrmBridgeFilesController.refreshPartUrls', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/CrmBridgeFilesController.completeUpload', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/CrmBridgeFilesController.cancelUpload', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('@salesforce/apex/CrmBridgeFilesController.getDownloadUrl', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/CrmBridgeFilesController.deleteFile', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('lightning/navigation', () => {
    const Navigate = Symbol('Navigate');
    const navigations = [];
    const NavigationMixin = (Base) =>
        class extends Base {
            [Navigate](pageReference) {
                navigations.push(pageReference);
            }
        };
    NavigationMixin.Navigate = Navigate;
    return { NavigationMixin, navigations };
});

const RECORD_ID = '001000000000001AAA';
const realSetTimeout = setTimeout;
/** Lets every pending promise (Apex mocks, XHR callbacks, re-render) settle. */
const flush = () => new Promise((resolve) => realSetTimeout(resolve, 0));
async function settle(times = 5) {
    for (let i = 0; i < times; i++) await flush();
}

/** Stands in for XMLHttpRequest: each PUT waits until the test answers it (or onSend does). */
class FakeXhr {
    static sent = [];
    static onSend = () => {};
    constructor() {
        this.upload = {};
        this.requestHeaders = {};
        this.status = 0;
        this.aborted = false;
    }
    open(method, url) {
        this.method = method;
        this.url = url;
    }
    setRequestHeader(name, value) {
        this.requestHeaders[name] = value;
    }
    getResponseHeader(name) {
        return (this.responseHeaders || {})[name.toLowerCase()] ?? null;
    }
    send(body) {
        this.body = body;
        FakeXhr.sent.push(this);
        FakeXhr.onSend(this);
    }
    abort() {
        this.aborted = true;
        if (this.onabort) this.onabort();
    }
    progress(loaded) {
        this.upload.onprogress({ lengthComputable: true, loaded, total: this.body.size });
    }
    respond(status, headers = {}) {
        this.status = status;
        this.responseHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
        this.onload();
    }
    fail() {
        this.status = 0;
        this.onerror();
    }
}
const inFlight = () => FakeXhr.sent.filter((x) => !x.done && !x.aborted);
const answer = (xhr, status, headers) => {
    xhr.done = true;
    xhr.respond(status, headers);
};

function file(name, size, type = 'application/pdf') {
    // Distinct bytes, so each part's slice can be told apart.
    const bytes = new Uint8Array(size).map((_, i) => i % 251);
    return new File([bytes], name, { type });
}

function blobText(blob) {
    return new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(new Uint8Array(reader.result).join(','));
        reader.onerror = reject;
        reader.readAsArrayBuffer(blob);
    });
}

const FILES = [
    {
        fileId: 'f3',
        fileName: 'site-photo.jpg',
        contentType: 'image/jpeg',
        size: 2621440,
        status: 'AVAILABLE',
        createdAt: '2026-05-03T10:00:00.000Z',
        uploadedBy: 'Grace Hopper'
    },
    {
        fileId: 'f2',
        fileName: 'video.mp4',
        contentType: 'video/mp4',
        size: 1288490189,
        status: 'PENDING',
        createdAt: '2026-05-02T10:00:00.000Z'
    },
    {
        fileId: 'f1',
        fileName: 'contract.pdf',
        contentType: 'application/pdf',
        size: 512,
        status: 'AVAILABLE',
        createdAt: '2026-05-01T10:00:00.000Z',
        uploadedBy: 'Ada Lovelace'
    }
];

function page(files = FILES, extra = {}) {
    return { files, canUpload: true, canDelete: true, ...extra };
}

async function mount(props = {}) {
    const element = createElement('c-crm-bridge-files', { is: CrmBridgeFiles });
    Object.assign(element, { recordId: RECORD_ID, ...props });
    document.body.appendChild(element);
    await settle();
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);
const $$ = (element, selector) => [...element.shadowRoot.querySelectorAll(selector)];
const text = (element, selector) => ($(element, selector) || {}).textContent;

function pick(element, ...files) {
    const input = $(element, '[data-id="picker"]');
    input.dispatchEvent(new CustomEvent('change', { detail: { files } }));
}

beforeEach(() => {
    FakeXhr.sent = [];
    FakeXhr.onSend = () => {};
    global.XMLHttpRequest = FakeXhr;
    listFiles.mockResolvedValue(page());
    navigations.length = 0;
});

afterEach(() => {
    while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    jest.clearAllMocks();
    jest.restoreAllMocks();
});

describe('the list', () => {
    test('shows name, size, type, uploaded by/at and status in the order the controller answers (newest first)', async () => {
        const element = await mount({ pageSize: 3 });
        expect(listFiles).toHaveBeenCalledWith({ recordId: RECORD_ID, pageSize: 3, nextToken: null });
        const rows = $$(element, 'tbody tr');
        expect(rows.map((r) => r.dataset.file)).toEqual(['f3', 'f2', 'f1']);
        const cell = (row, id) => row.querySelector(`[data-id="${id}"]`).textContent;
        expect(cell(rows[0], 'name')).toBe('site-photo.jpg');
        expect(cell(rows[0], 'size')).toBe('2.5 MB');
        expect(cell(rows[0], 'type')).toBe('image/jpeg');
        expect(cell(rows[0], 'uploaded-by')).toBe('Grace Hopper');
        expect(rows[0].querySelector('[data-id="uploaded-at"]').value).toBe('2026-05-03T10:00:00.000Z');
        expect(cell(rows[0], 'status')).toBe('Available');
        expect(cell(rows[1], 'size')).toBe('1.2 GB');
        expect(cell(rows[1], 'status')).toBe('Uploading');
        expect(cell(rows[1], 'uploaded-by')).toBe('—');
        expect(cell(rows[2], 'size')).toBe('512 bytes');
        // A file still uploading has nothing to download yet.
        expect(rows[1].querySelector('[data-action="download"]').disabled).toBe(true);
        expect(rows[0].querySelector('[data-action="download"]').disabled).toBe(false);
    });

    test('malware scan states read as words and offer no download', async () => {
        listFiles.mockResolvedValue(
            page([
                { ...FILES[0], fileId: 's1', status: 'SCANNING' },
                { ...FILES[0], fileId: 's2', status: 'QUARANTINED', scanResult: 'THREATS_FOUND' },
                { ...FILES[0], fileId: 's3', status: 'SCAN_FAILED', scanResult: 'UNSUPPORTED' }
            ])
        );
        const element = await mount();
        const rows = $$(element, 'tbody tr');
        expect(rows.map((r) => r.querySelector('[data-id="status"]').textContent)).toEqual([
            'Checking for viruses',
            'Blocked: a virus was found',
            'Blocked: could not be checked for viruses'
        ]);
        for (const row of rows) expect(row.querySelector('[data-action="download"]').disabled).toBe(true);
    });

    test("pages forward with the hub's nextToken and back again", async () => {
        listFiles
            .mockResolvedValueOnce(page(FILES.slice(0, 2), { nextToken: 'token-2' }))
            .mockResolvedValueOnce(page(FILES.slice(2)));
        const element = await mount({ pageSize: 2 });
        expect($(element, '[data-id="previous"]').disabled).toBe(true);
        expect($(element, '[data-id="next"]').disabled).toBe(false);
        expect(text(element, '[data-id="page"]')).toBe('Page 1');

        $(element, '[data-id="next"]').click();
        await settle();
        expect(listFiles).toHaveBeenLastCalledWith({ recordId: RECORD_ID, pageSize: 2, nextToken: 'token-2' });
        expect($$(element, 'tbody tr').map((r) => r.dataset.file)).toEqual(['f1']);
        expect(text(element, '[data-id="page"]')).toBe('Page 2');
        expect($(element, '[data-id="next"]').disabled).toBe(true);

        listFiles.mockResolvedValueOnce(page(FILES.slice(0, 2), { nextToken: 'token-2' }));
        $(element, '[data-id="previous"]').click();
        await settle();
        expect(listFiles).toHaveBeenLastCalledWith({ recordId: RECORD_ID, pageSize: 2, nextToken: null });
        expect($$(element, 'tbody tr').map((r) => r.dataset.file)).toEqual(['f3', 'f2']);
    });

    test('a user who may only read gets no drop zone and no delete buttons', async () => {
        listFiles.mockResolvedValue(page(FILES, { canUpload: false, canDelete: false }));
        const element = await mount();
        expect($(element, '[data-id="dropzone"]')).toBeNull();
        expect($$(element, '[data-action="delete"]')).toHaveLength(0);
        expect($$(element, '[data-action="download"]')).toHaveLength(3);
    });

    test("an empty record says so; a refused list shows the controller's words", async () => {
        listFiles.mockResolvedValueOnce(page([]));
        let element = await mount();
        expect(text(element, '[data-id="empty"]')).toBe('No files on this record yet.');
        document.body.removeChild(element);

        listFiles.mockRejectedValueOnce({
            body: { message: "You don't have access to this record, so you can't see its files." }
        });
        element = await mount();
        expect(text(element, '[data-id="error"]')).toBe(
            "You don't have access to this record, so you can't see its files."
        );
        expect($(element, '[role="alert"]')).not.toBeNull();
    });
});

describe('uploading', () => {
    test('a small file: one PUT straight to S3 with the signed headers, progress in bytes and %, then complete', async () => {
        createUpload.mockResolvedValue({
            fileId: 'new-1',
            upload: {
                method: 'PUT',
                url: 'https://bucket.s3.amazonaws.com/files/new-1?X-Amz-Signature=s',
                headers: { 'content-type': 'application/pdf' }
            }
        });
        completeUpload.mockResolvedValue({ fileId: 'new-1', status: 'AVAILABLE' });
        const element = await mount();
        const doc = file('offer.pdf', 2048);
        pick(element, doc);
        await settle();

        expect(createUpload).toHaveBeenCalledWith({
            recordId: RECORD_ID,
            fileName: 'offer.pdf',
            contentType: 'application/pdf',
            size: 2048
        });
        expect(FakeXhr.sent).toHaveLength(1);
        const put = FakeXhr.sent[0];
        expect(put.method).toBe('PUT');
        expect(put.url).toBe('https://bucket.s3.amazonaws.com/files/new-1?X-Amz-Signature=s');
        expect(put.requestHeaders).toEqual({ 'content-type': 'application/pdf' });
        expect(put.body).toBe(doc);
        expect(text(element, '[data-id="announcer"]')).toBe('Uploading offer.pdf.');
        expect($(element, '[data-id="announcer"]').getAttribute('aria-live')).toBe('polite');

        put.progress(1024);
        await settle(1);
        expect(text(element, '[data-id="progress"]')).toBe('1 KB of 2 KB (50%)');
        expect($(element, 'lightning-progress-bar').value).toBe(50);

        listFiles.mockClear();
        answer(put, 200, { ETag: '"abc"' });
        await settle();
        expect(completeUpload).toHaveBeenCalledWith({ recordId: RECORD_ID, fileId: 'new-1', partsJson: null });
        expect(text(element, '[data-id="progress"]')).toBe('Uploaded, 2 KB');
        expect(text(element, '[data-id="announcer"]')).toBe('offer.pdf uploaded.');
        expect(listFiles).toHaveBeenCalledWith({ recordId: RECORD_ID, pageSize: 10, nextToken: null }); // the new file shows at the top
    });

    test('a single PUT refused by S3 (expired link) is explained and not sent again with the same link', async () => {
        createUpload.mockResolvedValue({
            fileId: 'new-2',
            upload: { method: 'PUT', url: 'https://s3/put', headers: {} }
        });
        const element = await mount();
        pick(element, file('late.pdf', 10));
        await settle();
        answer(FakeXhr.sent[0], 403);
        await settle();
        expect(FakeXhr.sent).toHaveLength(1);
        expect(completeUpload).not.toHaveBeenCalled();
        expect(text(element, '[data-id="upload-error"]')).toBe(
            'The upload link has expired or was refused. Please try again.'
        );
    });

    test('a single PUT that fails on the network is retried', async () => {
        createUpload.mockResolvedValue({
            fileId: 'new-3',
            upload: { method: 'PUT', url: 'https://s3/put', headers: {} }
        });
        completeUpload.mockResolvedValue({});
        jest.spyOn(window, 'setTimeout').mockImplementation((fn) => realSetTimeout(fn, 0));
        await mount();
        pick(document.body.firstChild, file('flaky.pdf', 10));
        await settle();
        FakeXhr.sent[0].fail();
        await settle();
        expect(FakeXhr.sent).toHaveLength(2);
        answer(FakeXhr.sent[1], 200, { ETag: '"ok"' });
        await settle();
        expect(completeUpload).toHaveBeenCalledWith({ recordId: RECORD_ID, fileId: 'new-3', partsJson: null });
    });

    test('several files at once each get their own upload and progress', async () => {
        createUpload.mockImplementation(async ({ fileName }) => ({
            fileId: `id-${fileName}`,
            upload: { method: 'PUT', url: `https://s3/${fileName}`, headers: {} }
        }));
        completeUpload.mockResolvedValue({});
        const element = await mount();
        pick(element, file('a.pdf', 100), file('b.pdf', 300));
        await settle();
        expect(FakeXhr.sent.map((x) => x.url)).toEqual(['https://s3/a.pdf', 'https://s3/b.pdf']);
        FakeXhr.sent[1].progress(150);
        await settle(1);
        expect($$(element, '[data-id="progress"]').map((p) => p.textContent)).toEqual([
            '0 bytes of 100 bytes (0%)',
            '150 bytes of 300 bytes (50%)'
        ]);
        answer(FakeXhr.sent[0], 200, { ETag: '"a"' });
        answer(FakeXhr.sent[1], 200, { ETag: '"b"' });
        await settle();
        expect(completeUpload.mock.calls.map((c) => c[0].fileId).sort()).toEqual(['id-a.pdf', 'id-b.pdf']);
    });

    test('multipart: parts sliced from the file, at most 4 in flight, a failing part retried with backoff, ETags completed in order', async () => {
        const partSize = 10;
        const doc = file('video.mp4', 55, 'video/mp4'); // 6 parts, the last one 5 bytes
        const parts = [1, 2, 3, 4, 5, 6].map((n) => ({ partNumber: n, url: `https://s3/part${n}` }));
        createUpload.mockResolvedValue({ fileId: 'big-1', upload: { partSize, parts } });
        completeUpload.mockResolvedValue({ fileId: 'big-1', status: 'AVAILABLE' });
        const delays = [];
        jest.spyOn(window, 'setTimeout').mockImplementation((fn, ms) => {
            delays.push(ms);
            return realSetTimeout(fn, 0);
        });
        const element = await mount();
        pick(element, doc);
        await settle();

        // The bound: 4 parts on the wire, the rest wait.
        expect(FakeXhr.sent.map((x) => x.url)).toEqual([
            'https://s3/part1',
            'https://s3/part2',
            'https://s3/part3',
            'https://s3/part4'
        ]);
        expect(await blobText(FakeXhr.sent[1].body)).toBe(await blobText(doc.slice(10, 20)));
        // Part 2 fails once (S3 500), the others succeed; answering frees slots for parts 5 and 6.
        answer(FakeXhr.sent[1], 500);
        answer(FakeXhr.sent[0], 200, { ETag: '"e1"' });
        await settle();
        expect(inFlight().length).toBeLessThanOrEqual(4);
        let maxInFlight = 0;
        FakeXhr.onSend = () => {
            maxInFlight = Math.max(maxInFlight, inFlight().length);
        };
        for (let round = 0; round < 10 && inFlight().length; round++) {
            for (const xhr of inFlight()) answer(xhr, 200, { ETag: `"e${xhr.url.slice(-1)}"` });
            await settle();
        }
        expect(maxInFlight).toBeLessThanOrEqual(4);
        expect(delays).toContain(1000); // backoff before the second attempt of part 2
        const part2 = FakeXhr.sent.filter((x) => x.url === 'https://s3/part2');
        expect(part2).toHaveLength(2);
        expect(await blobText(FakeXhr.sent.find((x) => x.url === 'https://s3/part6').body)).toBe(
            await blobText(doc.slice(50, 55))
        );
        expect(completeUpload).toHaveBeenCalledTimes(1);
        const sent = completeUpload.mock.calls[0][0];
        expect(sent.fileId).toBe('big-1');
        expect(JSON.parse(sent.partsJson)).toEqual([1, 2, 3, 4, 5, 6].map((n) => ({ partNumber: n, etag: `"e${n}"` })));
        expect(text(element, '[data-id="progress"]')).toBe('Uploaded, 55 bytes');
    });

    test('a 1 GB file: 128 parts of 8 MiB sliced one at a time (never read whole), 4 in flight, progress to the byte', async () => {
        const MiB = 1024 * 1024;
        const GiB = 1024 * MiB;
        // A stand-in File: slice() returns a small descriptor, so the test holds no gigabyte either.
        const big = {
            name: 'walkthrough.mp4',
            type: 'video/mp4',
            size: GiB,
            slice: jest.fn((start, end) => ({ size: end - start, start, end }))
        };
        const parts = Array.from({ length: 128 }, (_, i) => ({
            partNumber: i + 1,
            url: `https://s3/big?partNumber=${i + 1}`
        }));
        // The create answer holds the first 100 part URLs; the component asks for the rest.
        createUpload.mockResolvedValue({
            fileId: 'gig-1',
            upload: { partSize: 8 * MiB, partCount: 128, parts: parts.slice(0, 100) }
        });
        refreshPartUrls.mockImplementation(async ({ partNumbers }) => ({
            partSize: 8 * MiB,
            parts: parts.filter((p) => partNumbers.includes(p.partNumber))
        }));
        completeUpload.mockResolvedValue({ fileId: 'gig-1', status: 'AVAILABLE' });
        let maxInFlight = 0;
        FakeXhr.onSend = () => {
            maxInFlight = Math.max(maxInFlight, inFlight().length);
        };
        const element = await mount();
        pick(element, big);
        await settle();
        expect(createUpload).toHaveBeenCalledWith({
            recordId: RECORD_ID,
            fileName: 'walkthrough.mp4',
            contentType: 'video/mp4',
            size: GiB
        });

        const answerRound = async () => {
            for (const xhr of inFlight()) {
                xhr.progress(xhr.body.size);
                answer(xhr, 200, { ETag: `"${xhr.url.split('=')[1]}"` });
            }
            await settle(2);
        };
        while (FakeXhr.sent.filter((x) => x.done).length < 64) await answerRound();
        expect(text(element, '[data-id="progress"]')).toBe('512 MB of 1 GB (50%)');
        while (inFlight().length) await answerRound();
        await settle();

        expect(maxInFlight).toBe(4);
        expect(FakeXhr.sent).toHaveLength(128);
        expect(FakeXhr.sent.map((x) => x.url).sort()).toEqual(parts.map((p) => p.url).sort());
        expect(refreshPartUrls).toHaveBeenCalledTimes(1);
        expect(refreshPartUrls).toHaveBeenCalledWith({
            recordId: RECORD_ID,
            fileId: 'gig-1',
            partNumbers: parts.slice(100).map((p) => p.partNumber)
        });
        const slices = big.slice.mock.calls.map(([start, end]) => [start, end]).sort((a, b) => a[0] - b[0]);
        expect(slices).toHaveLength(128);
        slices.forEach(([start, end], i) => expect([start, end]).toEqual([i * 8 * MiB, (i + 1) * 8 * MiB]));
        const completed = JSON.parse(completeUpload.mock.calls[0][0].partsJson);
        expect(completed.map((p) => p.partNumber)).toEqual(parts.map((p) => p.partNumber));
        expect(completed[127]).toEqual({ partNumber: 128, etag: '"128"' });
        expect(text(element, '[data-id="progress"]')).toBe('Uploaded, 1 GB');
    });

    test("progress counts bytes across parts and drops a failed attempt's bytes", async () => {
        createUpload.mockResolvedValue({
            fileId: 'big-2',
            upload: { partSize: 10, parts: [1, 2].map((n) => ({ partNumber: n, url: `https://s3/p${n}` })) }
        });
        jest.spyOn(window, 'setTimeout').mockImplementation((fn) => realSetTimeout(fn, 0));
        const element = await mount();
        pick(element, file('twenty.bin', 20));
        await settle();
        FakeXhr.sent[0].progress(10);
        FakeXhr.sent[1].progress(5);
        await settle(1);
        expect(text(element, '[data-id="progress"]')).toBe('15 bytes of 20 bytes (75%)');
        answer(FakeXhr.sent[1], 503);
        await settle(1);
        expect(text(element, '[data-id="progress"]')).toBe('10 bytes of 20 bytes (50%)');
    });

    test('an expired part URL is exchanged for a fresh one through the controller', async () => {
        createUpload.mockResolvedValue({
            fileId: 'big-3',
            upload: { partSize: 10, parts: [{ partNumber: 1, url: 'https://s3/old' }] }
        });
        refreshPartUrls.mockResolvedValue({ partSize: 10, parts: [{ partNumber: 1, url: 'https://s3/fresh' }] });
        completeUpload.mockResolvedValue({});
        jest.spyOn(window, 'setTimeout').mockImplementation((fn) => realSetTimeout(fn, 0));
        await mount();
        pick(document.body.firstChild, file('ten.bin', 10));
        await settle();
        answer(FakeXhr.sent[0], 403);
        await settle();
        expect(refreshPartUrls).toHaveBeenCalledWith({ recordId: RECORD_ID, fileId: 'big-3', partNumbers: [1] });
        expect(FakeXhr.sent[1].url).toBe('https://s3/fresh');
        answer(FakeXhr.sent[1], 200, { ETag: '"x"' });
        await settle();
        expect(JSON.parse(completeUpload.mock.calls[0][0].partsJson)).toEqual([{ partNumber: 1, etag: '"x"' }]);
    });

    test('a part that fails three times stops the upload with words a user understands; nothing is completed', async () => {
        createUpload.mockResolvedValue({
            fileId: 'big-4',
            upload: { partSize: 10, parts: [1, 2].map((n) => ({ partNumber: n, url: `https://s3/p${n}` })) }
        });
        jest.spyOn(window, 'setTimeout').mockImplementation((fn) => realSetTimeout(fn, 0));
        FakeXhr.onSend = (xhr) => {
            if (xhr.url === 'https://s3/p1') Promise.resolve().then(() => xhr.fail());
        };
        const element = await mount();
        pick(element, file('twenty.bin', 20));
        await settle(10);
        expect(FakeXhr.sent.filter((x) => x.url === 'https://s3/p1')).toHaveLength(3);
        expect(FakeXhr.sent.find((x) => x.url === 'https://s3/p2').aborted).toBe(true);
        expect(completeUpload).not.toHaveBeenCalled();
        expect(text(element, '[data-id="upload-error"]')).toBe(
            'The file could not be sent to file storage: the connection was lost, or file storage does not accept uploads from Salesforce yet. Check your connection and try again; if it keeps happening, contact your Salesforce administrator.'
        );
        expect(text(element, '[data-id="progress"]')).toBe('Not uploaded');
        expect(text(element, '[data-id="announcer"]')).toMatch(/^twenty\.bin was not uploaded: /);
    });

    test('a part URL the hub does not hand out stops the upload with a sentence, not a loop', async () => {
        createUpload.mockResolvedValue({
            fileId: 'big-7',
            upload: { partSize: 10, partCount: 2, parts: [{ partNumber: 1, url: 'https://s3/p1' }] }
        });
        refreshPartUrls.mockResolvedValue({ partSize: 10, parts: [] });
        const element = await mount();
        pick(element, file('twenty.bin', 20));
        await settle();
        expect(refreshPartUrls).toHaveBeenCalledTimes(1);
        expect(refreshPartUrls).toHaveBeenCalledWith({ recordId: RECORD_ID, fileId: 'big-7', partNumbers: [2] });
        expect(text(element, '[data-id="upload-error"]')).toBe(
            'File storage did not hand out an upload link for part of this file. Please try again.'
        );
        expect(completeUpload).not.toHaveBeenCalled();
    });

    test('a part answered without an ETag (bucket CORS hides it) is explained, not retried forever', async () => {
        createUpload.mockResolvedValue({
            fileId: 'big-5',
            upload: { partSize: 10, parts: [{ partNumber: 1, url: 'https://s3/p1' }] }
        });
        const element = await mount();
        pick(element, file('ten.bin', 10));
        await settle();
        answer(FakeXhr.sent[0], 200, {});
        await settle();
        expect(FakeXhr.sent).toHaveLength(1);
        expect(text(element, '[data-id="upload-error"]')).toMatch(
            /did not confirm it .*contact your Salesforce administrator/
        );
    });

    test('cancel stops the requests on the wire and drops the unfinished upload on the hub', async () => {
        createUpload.mockResolvedValue({
            fileId: 'big-6',
            upload: { partSize: 10, parts: [1, 2, 3].map((n) => ({ partNumber: n, url: `https://s3/p${n}` })) }
        });
        cancelUpload.mockResolvedValue(undefined);
        const element = await mount();
        pick(element, file('thirty.bin', 30));
        await settle();
        expect(inFlight()).toHaveLength(3);
        $(element, '[data-id="cancel"]').click();
        await settle();
        expect(FakeXhr.sent.every((x) => x.aborted)).toBe(true);
        expect(cancelUpload).toHaveBeenCalledWith({ recordId: RECORD_ID, fileId: 'big-6' });
        expect(completeUpload).not.toHaveBeenCalled();
        expect(text(element, '[data-id="progress"]')).toBe('Cancelled');
        expect($(element, '[data-id="cancel"]')).toBeNull();
        expect(text(element, '[data-id="announcer"]')).toBe('Upload of thirty.bin cancelled.');
    });

    test("the controller's refusal reaches the user in its words", async () => {
        createUpload.mockRejectedValue({ body: { message: 'This file is too large to upload.' } });
        const element = await mount();
        pick(element, file('huge.mov', 10, 'video/quicktime'));
        await settle();
        expect(FakeXhr.sent).toHaveLength(0);
        expect(text(element, '[data-id="upload-error"]')).toBe('This file is too large to upload.');
    });

    test('an unexpected failure is still a sentence, never a stack trace', async () => {
        createUpload.mockRejectedValue(new TypeError("Cannot read properties of undefined (reading 'x')"));
        const element = await mount();
        pick(element, file('a.pdf', 10));
        await settle();
        expect(text(element, '[data-id="upload-error"]')).toBe(
            'Something went wrong. Please try again; if it keeps happening, contact your Salesforce administrator.'
        );
    });

    test('dropped files are uploaded; types the page does not accept are refused before anything is sent', async () => {
        createUpload.mockResolvedValue({ fileId: 'd1', upload: { method: 'PUT', url: 'https://s3/d1', headers: {} } });
        const element = await mount({ acceptedTypes: '.pdf, image/*' });
        const zone = $(element, '[data-id="dropzone"]');
        const over = new CustomEvent('dragover', { cancelable: true });
        zone.dispatchEvent(over);
        expect(over.defaultPrevented).toBe(true);
        const drop = new CustomEvent('drop', { cancelable: true });
        drop.dataTransfer = {
            files: [
                file('setup.exe', 10, 'application/x-msdownload'),
                file('photo.PNG', 10, 'image/png'),
                file('terms.pdf', 10)
            ]
        };
        zone.dispatchEvent(drop);
        await settle();
        expect(createUpload.mock.calls.map((c) => c[0].fileName)).toEqual(['photo.PNG', 'terms.pdf']);
        expect(text(element, '[data-id="upload-error"]')).toBe(
            "This type of file can't be uploaded here. Accepted: .pdf, image/*."
        );
        expect($(element, '[data-id="picker"]').accept).toBe('.pdf, image/*');
    });

    test('a drop the picker already handled is not uploaded a second time', async () => {
        const element = await mount();
        const drop = new CustomEvent('drop', { cancelable: true });
        drop.dataTransfer = { files: [file('terms.pdf', 10)] };
        drop.preventDefault();
        $(element, '[data-id="dropzone"]').dispatchEvent(drop);
        await settle();
        expect(createUpload).not.toHaveBeenCalled();
    });
});

describe('download and delete', () => {
    test('download asks the controller for a URL and opens it', async () => {
        getDownloadUrl.mockResolvedValue('https://bucket.s3.amazonaws.com/files/f1?X-Amz-Signature=d');
        const element = await mount();
        $(element, 'tr[data-file="f1"] [data-action="download"]').click();
        await settle();
        expect(getDownloadUrl).toHaveBeenCalledWith({ recordId: RECORD_ID, fileId: 'f1' });
        expect(navigations).toEqual([
            {
                type: 'standard__webPage',
                attributes: { url: 'https://bucket.s3.amazonaws.com/files/f1?X-Amz-Signature=d' }
            }
        ]);
    });

    test('a refused download shows why', async () => {
        getDownloadUrl.mockRejectedValue({ body: { message: 'This file is not attached to this record.' } });
        const element = await mount();
        $(element, 'tr[data-file="f1"] [data-action="download"]').click();
        await settle();
        expect(navigations).toEqual([]);
        expect(text(element, '[data-id="error"]')).toBe('This file is not attached to this record.');
    });

    test('delete asks first: "Cancel" keeps the file', async () => {
        const element = await mount();
        $(element, 'tr[data-file="f1"] [data-action="delete"]').click();
        await settle(1);
        expect($(element, '[data-id="confirm"]').getAttribute('role')).toBe('alertdialog');
        expect(text(element, '[data-id="confirm-message"]')).toContain('"contract.pdf"');
        $(element, '[data-id="confirm-no"]').click();
        await settle(1);
        expect($(element, '[data-id="confirm"]')).toBeNull();
        expect(deleteFile).not.toHaveBeenCalled();
    });

    test('delete asks first: Escape keeps the file too', async () => {
        const element = await mount();
        const button = $(element, 'tr[data-file="f3"] [data-action="delete"]');
        button.focus = jest.fn();
        button.click();
        await settle(1);
        $(element, '[data-id="confirm"]').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
        await settle(1);
        expect($(element, '[data-id="confirm"]')).toBeNull();
        expect(button.focus).toHaveBeenCalled(); // keyboard users are back where they were
        expect(deleteFile).not.toHaveBeenCalled();
    });

    test('delete asks first: "Delete" deletes and reloads the list', async () => {
        deleteFile.mockResolvedValue(undefined);
        const element = await mount();
        $(element, 'tr[data-file="f1"] [data-action="delete"]').click();
        await settle(1);
        listFiles.mockResolvedValue(page(FILES.slice(0, 2)));
        $(element, '[data-id="confirm-yes"]').click();
        await settle();
        expect(deleteFile).toHaveBeenCalledWith({ recordId: RECORD_ID, fileId: 'f1' });
        expect($(element, '[data-id="confirm"]')).toBeNull();
        expect($$(element, 'tbody tr').map((r) => r.dataset.file)).toEqual(['f3', 'f2']);
        expect(text(element, '[data-id="announcer"]')).toBe('contract.pdf deleted.');
    });

    test("a refused delete shows the controller's words and keeps the row", async () => {
        deleteFile.mockRejectedValue({
            body: {
                message:
                    'You don\'t have permission to delete files. Ask your Salesforce administrator for the "Delete crm-bridge files" permission.'
            }
        });
        const element = await mount();
        $(element, 'tr[data-file="f1"] [data-action="delete"]').click();
        await settle(1);
        $(element, '[data-id="confirm-yes"]').click();
        await settle();
        expect(text(element, '[data-id="error"]')).toMatch(/^You don't have permission to delete files\./);
        expect($$(element, 'tbody tr')).toHaveLength(3);
    });
});
