import { LightningElement, api, track } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import listFiles from '@salesforce/apex/CrmBridgeFilesController.listFiles';
import createUpload from '@salesforce/apex/CrmBridgeFilesController.createUpload';
import refreshPartUrls from '@salesforce/apex/CrmBridgeFilesController.refreshPartUrls';
import completeUpload from '@salesforce/apex/CrmBridgeFilesController.completeUpload';
import cancelUpload from '@salesforce/apex/CrmBridgeFilesController.cancelUpload';
import getDownloadUrl from '@salesforce/apex/CrmBridgeFilesController.getDownloadUrl';
import deleteFile from '@salesforce/apex/CrmBridgeFilesController.deleteFile';
import { FileUpload, UploadCancelled, messageOf } from './uploader';
import { formatBytes } from './format';

// SCANNING, QUARANTINED and SCAN_FAILED appear only when the hub scans files for malware (docs/files.md).
const STATUS_TEXT = {
    AVAILABLE: 'Available',
    PENDING: 'Uploading',
    SCANNING: 'Checking for viruses',
    QUARANTINED: 'Blocked: a virus was found',
    SCAN_FAILED: 'Blocked: could not be checked for viruses'
};

/**
 * A record's files in crm-bridge (S3): list, upload straight to S3, download, delete.
 * Every call goes through CrmBridgeFilesController, which checks the user's access to the record.
 */
export default class CrmBridgeFiles extends NavigationMixin(LightningElement) {
    @api recordId;
    /** The card's title (App Builder property "Title"). */
    @api cardTitle = 'Files';
    /** Comma-separated extensions or MIME types (".pdf,image/*"); empty accepts any file. */
    @api acceptedTypes;
    @api pageSize = 10;

    @track files = [];
    @track uploads = [];
    canUpload = false;
    canDelete = false;
    isLoading = false;
    errorMessage;
    announcement = '';
    isDragging = false;
    confirming;
    confirmFocused = false;

    /** Tokens of the pages before the current one (paging back); the current page's own token. */
    previousTokens = [];
    currentToken = null;
    nextToken = null;
    active = new Map();
    uploadSeq = 0;

    connectedCallback() {
        this.loadPage(null);
    }

    disconnectedCallback() {
        for (const upload of this.active.values()) upload.cancel();
    }

    async loadPage(token) {
        this.isLoading = true;
        this.errorMessage = undefined;
        try {
            const page = await listFiles({
                recordId: this.recordId,
                pageSize: Number(this.pageSize) || 10,
                nextToken: token
            });
            this.currentToken = token;
            this.nextToken = page.nextToken || null;
            this.canUpload = page.canUpload === true;
            this.canDelete = page.canDelete === true;
            this.files = (page.files || []).map((f) => this.fileView(f));
        } catch (e) {
            this.errorMessage = messageOf(e);
        } finally {
            this.isLoading = false;
        }
    }

    fileView(f) {
        const available = f.status === 'AVAILABLE';
        return {
            ...f,
            sizeText: formatBytes(f.size),
            typeText: f.contentType || 'Unknown',
            uploadedByText: f.uploadedBy || '—',
            statusText: STATUS_TEXT[f.status] || f.status,
            notAvailable: !available,
            downloadLabel: `Download ${f.fileName}`,
            deleteLabel: `Delete ${f.fileName}`
        };
    }

    get hasFiles() {
        return this.files.length > 0;
    }

    get isEmpty() {
        return !this.isLoading && !this.errorMessage && this.files.length === 0;
    }

    get hasUploads() {
        return this.uploads.length > 0;
    }

    get hasPaging() {
        return this.previousTokens.length > 0 || this.nextToken !== null;
    }

    get noPrevious() {
        return this.previousTokens.length === 0 || this.isLoading;
    }

    get noNext() {
        return this.nextToken === null || this.isLoading;
    }

    get pageNumber() {
        return `Page ${this.previousTokens.length + 1}`;
    }

    get dropZoneClass() {
        return `slds-file-selector slds-file-selector_files slds-p-around_small slds-m-bottom_small crm-bridge-dropzone${this.isDragging ? ' slds-has-drag-over' : ''}`;
    }

    get acceptedTypesText() {
        return this.acceptedTypes ? `Accepted: ${this.acceptedTypes}` : '';
    }

    handleNext() {
        if (this.nextToken === null) return;
        this.previousTokens = [...this.previousTokens, this.currentToken];
        this.loadPage(this.nextToken);
    }

    handlePrevious() {
        if (!this.previousTokens.length) return;
        const tokens = [...this.previousTokens];
        const token = tokens.pop();
        this.previousTokens = tokens;
        this.loadPage(token);
    }

    handleRefresh() {
        this.previousTokens = [];
        this.loadPage(null);
    }

    // ----- upload -----

    handleDragOver(event) {
        event.preventDefault(); // allows the drop
        this.isDragging = true;
    }

    handleDragLeave() {
        this.isDragging = false;
    }

    handleDrop(event) {
        this.isDragging = false;
        // A drop on the picker's own drop zone reaches here too, already handled (and prevented) by it.
        if (event.defaultPrevented) return;
        event.preventDefault();
        const files = event.dataTransfer && event.dataTransfer.files;
        if (files && files.length) this.startUploads(files);
    }

    handleFilesPicked(event) {
        const files = (event.detail && event.detail.files) || (event.target && event.target.files);
        if (files && files.length) this.startUploads(files);
    }

    /** A drop bypasses the picker's accept filter, so both are checked here. */
    isAccepted(file) {
        if (!this.acceptedTypes) return true;
        const name = (file.name || '').toLowerCase();
        const type = (file.type || '').toLowerCase();
        return this.acceptedTypes
            .split(',')
            .map((t) => t.trim().toLowerCase())
            .filter(Boolean)
            .some((t) =>
                t.startsWith('.') ? name.endsWith(t) : t.endsWith('/*') ? type.startsWith(t.slice(0, -1)) : type === t
            );
    }

    startUploads(fileList) {
        for (const file of Array.from(fileList)) {
            const key = `upload-${++this.uploadSeq}`;
            if (!this.isAccepted(file)) {
                this.uploads = [
                    ...this.uploads,
                    this.uploadView({
                        key,
                        name: file.name,
                        loaded: 0,
                        total: file.size,
                        state: 'failed',
                        error: `This type of file can't be uploaded here. Accepted: ${this.acceptedTypes}.`
                    })
                ];
                this.announce(`${file.name} was not uploaded: this type of file can't be uploaded here.`);
                continue;
            }
            const upload = new FileUpload({
                file,
                recordId: this.recordId,
                apex: { createUpload, refreshPartUrls, completeUpload, cancelUpload },
                onProgress: (loaded, total) => this.updateUpload(key, { loaded, total })
            });
            this.active.set(key, upload);
            this.uploads = [
                ...this.uploads,
                this.uploadView({ key, name: file.name, loaded: 0, total: file.size, state: 'uploading' })
            ];
            this.announce(`Uploading ${file.name}.`);
            upload
                .start()
                .then(() => {
                    this.updateUpload(key, { state: 'done', loaded: file.size });
                    this.announce(`${file.name} uploaded.`);
                    this.dispatchEvent(
                        new ShowToastEvent({ title: 'File uploaded', message: file.name, variant: 'success' })
                    );
                    this.handleRefresh();
                })
                .catch((e) => {
                    if (e instanceof UploadCancelled) {
                        this.updateUpload(key, { state: 'cancelled' });
                        this.announce(`Upload of ${file.name} cancelled.`);
                    } else {
                        const error = messageOf(e);
                        this.updateUpload(key, { state: 'failed', error });
                        this.announce(`${file.name} was not uploaded: ${error}`);
                    }
                })
                .finally(() => this.active.delete(key));
        }
    }

    handleCancel(event) {
        const key = event.currentTarget.dataset.key;
        const upload = this.active.get(key);
        if (upload) upload.cancel();
    }

    handleDismiss(event) {
        const key = event.currentTarget.dataset.key;
        this.uploads = this.uploads.filter((u) => u.key !== key);
    }

    updateUpload(key, change) {
        this.uploads = this.uploads.map((u) =>
            u.key === key && (u.state === 'uploading' || change.state) ? this.uploadView({ ...u, ...change }) : u
        );
    }

    uploadView(u) {
        const percent = u.total > 0 ? Math.floor((u.loaded * 100) / u.total) : u.state === 'done' ? 100 : 0;
        const uploading = u.state === 'uploading';
        let progressText = `${formatBytes(u.loaded)} of ${formatBytes(u.total)} (${percent}%)`;
        if (u.state === 'done') progressText = `Uploaded, ${formatBytes(u.total)}`;
        if (u.state === 'cancelled') progressText = 'Cancelled';
        if (u.state === 'failed') progressText = 'Not uploaded';
        return {
            ...u,
            percent,
            progressText,
            inProgress: uploading,
            canCancel: uploading,
            finished: !uploading,
            cancelLabel: `Cancel upload of ${u.name}`,
            dismissLabel: `Remove ${u.name} from this list`
        };
    }

    announce(text) {
        this.announcement = text;
    }

    // ----- download and delete -----

    async handleDownload(event) {
        const fileId = event.currentTarget.dataset.id;
        this.errorMessage = undefined;
        try {
            const url = await getDownloadUrl({ recordId: this.recordId, fileId });
            this[NavigationMixin.Navigate]({ type: 'standard__webPage', attributes: { url } });
        } catch (e) {
            this.errorMessage = messageOf(e);
        }
    }

    handleDelete(event) {
        const fileId = event.currentTarget.dataset.id;
        const file = this.files.find((f) => f.fileId === fileId);
        if (!file) return;
        this.confirming = {
            fileId,
            message: `Delete "${file.fileName}"? It is removed from file storage for everyone and can't be restored.`
        };
    }

    renderedCallback() {
        // Move focus into the dialog once it opens, so keyboard users land on a safe choice.
        if (this.confirming && !this.confirmFocused) {
            const cancel = this.template.querySelector('[data-id="confirm-no"]');
            if (cancel) {
                cancel.focus();
                this.confirmFocused = true;
            }
        }
    }

    handleConfirmKey(event) {
        if (event.key === 'Escape') this.handleConfirmNo();
    }

    handleConfirmNo() {
        const fileId = this.confirming && this.confirming.fileId;
        this.confirming = undefined;
        this.confirmFocused = false;
        // Back to the button that opened the dialog (if the row is still there).
        const button = fileId && this.template.querySelector(`tr[data-file="${fileId}"] [data-action="delete"]`);
        if (button) button.focus();
    }

    async handleConfirmYes() {
        const { fileId } = this.confirming;
        const file = this.files.find((f) => f.fileId === fileId);
        this.handleConfirmNo();
        this.errorMessage = undefined;
        try {
            await deleteFile({ recordId: this.recordId, fileId });
            this.announce(`${file ? file.fileName : 'The file'} deleted.`);
            this.dispatchEvent(
                new ShowToastEvent({ title: 'File deleted', message: file ? file.fileName : '', variant: 'success' })
            );
            await this.loadPage(this.currentToken);
        } catch (e) {
            this.errorMessage = messageOf(e);
        }
    }
}
