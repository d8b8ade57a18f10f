const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/** 1536 -> "1.5 KB"; binary units, as operating systems show file sizes. */
export function formatBytes(bytes) {
    let value = Number(bytes) || 0;
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
        value /= 1024;
        unit++;
    }
    if (unit === 0) return `${value} ${value === 1 ? 'byte' : 'bytes'}`;
    return `${value >= 100 ? Math.round(value) : Math.round(value * 10) / 10} ${UNITS[unit]}`;
}
