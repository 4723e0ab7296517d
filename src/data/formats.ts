/**
 * Recognising image formats by their first bytes, so a file is judged by
 * what it is and not by its name (a text file called `.png`, a BMP called
 * `.jpg`), and formats sharp cannot read are named in the reason.
 */

/** Formats cellgan reads (what sharp decodes in its prebuilt binaries). */
export const SUPPORTED_FORMATS = ['jpeg', 'png', 'webp', 'tiff', 'gif'] as const;
export type SupportedFormat = (typeof SUPPORTED_FORMATS)[number];

/** File extensions taken as images while scanning a folder (lower case, with the dot). */
export const IMAGE_EXTENSIONS: Readonly<Record<string, SupportedFormat>> = {
  '.jpg': 'jpeg', '.jpeg': 'jpeg', '.jpe': 'jpeg', '.jfif': 'jpeg',
  '.png': 'png', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff', '.gif': 'gif',
};

/** True when a file name's extension is one of IMAGE_EXTENSIONS (any case). */
export function isImageFileName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && Object.hasOwn(IMAGE_EXTENSIONS, name.slice(dot).toLowerCase());
}

/** Extensions of image formats cellgan recognises but does not read, with the name used in reasons. */
export const UNSUPPORTED_IMAGE_EXTENSIONS: Readonly<Record<string, string>> = {
  '.bmp': 'BMP', '.dib': 'BMP', '.heic': 'HEIC', '.heif': 'HEIF', '.avif': 'AVIF', '.jp2': 'JPEG 2000',
  '.j2k': 'JPEG 2000', '.jxl': 'JPEG XL', '.svg': 'SVG', '.psd': 'PSD', '.ico': 'ICO', '.pgm': 'PGM',
  '.ppm': 'PPM', '.pbm': 'PBM', '.pnm': 'PNM', '.exr': 'OpenEXR', '.dcm': 'DICOM', '.czi': 'CZI',
  '.nd2': 'ND2', '.svs': 'SVS', '.raw': 'RAW', '.dng': 'DNG', '.cr2': 'CR2', '.nef': 'NEF',
};

export type SniffedFormat =
  | { kind: 'supported'; format: SupportedFormat }
  | { kind: 'unsupported'; name: string }
  | { kind: 'empty' }
  | { kind: 'unknown' };

/** How many leading bytes `sniffFormat` needs. */
export const SNIFF_BYTES = 32;

function startsWith(b: Uint8Array, sig: number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The format of a file from its first bytes (at least SNIFF_BYTES of them, when the file has that many). */
export function sniffFormat(head: Uint8Array): SniffedFormat {
  if (head.length === 0) return { kind: 'empty' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'supported', format: 'jpeg' };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'supported', format: 'png' };
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return { kind: 'supported', format: 'webp' };
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])
    || startsWith(head, [0x49, 0x49, 0x2b, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2b])) return { kind: 'supported', format: 'tiff' };
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return { kind: 'supported', format: 'gif' };
  if (startsWith(head, ascii('BM'))) return { kind: 'unsupported', name: 'BMP' };
  if (startsWith(head, ascii('ftyp'), 4)) {
    const brand = String.fromCharCode(...head.subarray(8, 12));
    if (/^avi[fs]$/.test(brand)) return { kind: 'unsupported', name: 'AVIF' };
    if (/^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(brand)) return { kind: 'unsupported', name: 'HEIC' };
  }
  if (startsWith(head, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(head, [0xff, 0x4f, 0xff, 0x51])) return { kind: 'unsupported', name: 'JPEG 2000' };
  if (startsWith(head, [0xff, 0x0a]) || startsWith(head, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return { kind: 'unsupported', name: 'JPEG XL' };
  if (startsWith(head, ascii('8BPS'))) return { kind: 'unsupported', name: 'PSD' };
  if (startsWith(head, [0x00, 0x00, 0x01, 0x00])) return { kind: 'unsupported', name: 'ICO' };
  if (startsWith(head, [0x76, 0x2f, 0x31, 0x01])) return { kind: 'unsupported', name: 'OpenEXR' };
  if (head.length >= 132 && startsWith(head, ascii('DICM'), 128)) return { kind: 'unsupported', name: 'DICOM' };
  if (head[0] === 0x50 && head[1] >= 0x31 && head[1] <= 0x37 && /\s/.test(String.fromCharCode(head[2] ?? 0))) return { kind: 'unsupported', name: 'PNM' };
  const text = String.fromCharCode(...head.subarray(0, 32)).trimStart().toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && /svg/.test(text))) return { kind: 'unsupported', name: 'SVG' };
  if (text.startsWith('%pdf')) return { kind: 'unsupported', name: 'PDF' };
  return { kind: 'unknown' };
}

/** One readable reason for a file that is not a readable image, or null when the bytes look like one. */
export function formatProblem(sniffed: SniffedFormat): string | null {
  switch (sniffed.kind) {
    case 'supported': return null;
    case 'empty': return 'empty file (0 bytes)';
    case 'unsupported': return `unsupported format (${sniffed.name}); convert it to PNG, JPEG, WebP, TIFF or GIF`;
    case 'unknown': return 'not an image (content is not JPEG, PNG, WebP, TIFF or GIF)';
  }
}

/**
 * A cheap check that a file was not cut short: JPEGs end with the EOI marker
 * (FF D9), PNGs with an IEND chunk. Full decoding finds more, at ~10× the cost.
 */
export function truncationProblem(format: SupportedFormat, bytes: Uint8Array): string | null {
  if (format === 'jpeg') {
    // Trailing padding after EOI is common; FF D9 cannot occur inside entropy-coded data (FF is stuffed).
    const from = Math.max(0, bytes.length - 4096);
    for (let i = bytes.length - 2; i >= from; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return null;
    return 'truncated JPEG (no end-of-image marker)';
  }
  if (format === 'png') {
    const from = Math.max(8, bytes.length - 4096);
    for (let i = bytes.length - 8; i >= from; i--) {
      if (bytes[i] === 0x49 && bytes[i + 1] === 0x45 && bytes[i + 2] === 0x4e && bytes[i + 3] === 0x44) return null;
    }
    return 'truncated PNG (no IEND chunk)';
  }
  return null;
}
