/**
 * What an uploaded logo really is, read from its bytes: PNG, JPEG or WebP and its size in
 * pixels from the header. The browser's content type and the file name are not trusted (an SVG
 * or an HTML page renamed `.png` would be served back to visitors); SVG is refused outright
 * because it can carry script. Nothing is decoded beyond the header.
 */

export type LogoType = 'image/png' | 'image/jpeg' | 'image/webp';

export const LOGO_LIMITS = { maxBytes: 256 * 1024, minSide: 16, maxSide: 2048 } as const;

export type LogoCheck = { ok: true; type: LogoType; width: number; height: number } | { ok: false; message: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const startsWith = (b: Uint8Array, sig: number[], at = 0) => b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);
const ascii = (b: Uint8Array, at: number, len: number) => String.fromCharCode(...b.subarray(at, at + len));
const be16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const be32 = (b: Uint8Array, at: number) => ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
const le16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const le24 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);

type Size = { type: LogoType; width: number; height: number } | null;

function png(b: Uint8Array): Size {
  // The first chunk must be IHDR (length 13): width and height are its first two fields.
  if (b.length < 33 || be32(b, 8) !== 13 || ascii(b, 12, 4) !== 'IHDR') return null;
  return { type: 'image/png', width: be32(b, 16), height: be32(b, 20) };
}

function jpeg(b: Uint8Array): Size {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or scan data before any frame header
    const len = be16(b, at + 2);
    if (len < 2) return null;
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > b.length) return null;
      return { type: 'image/jpeg', height: be16(b, at + 5), width: be16(b, at + 7) };
    }
    at += 2 + len;
  }
  return null;
}

function webp(b: Uint8Array): Size {
  if (b.length < 30 || ascii(b, 0, 4) !== 'RIFF' || ascii(b, 8, 4) !== 'WEBP') return null;
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8X') return { type: 'image/webp', width: le24(b, 24) + 1, height: le24(b, 27) + 1 };
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return null;
    const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
    return { type: 'image/webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ') {
    if (!startsWith(b, [0x9d, 0x01, 0x2a], 23)) return null;
    return { type: 'image/webp', width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
  }
  return null;
}

export function checkLogo(bytes: Uint8Array): LogoCheck {
  const { maxBytes, minSide, maxSide } = LOGO_LIMITS;
  if (bytes.length === 0) return { ok: false, message: 'Choose an image file to upload.' };
  if (bytes.length > maxBytes) return { ok: false, message: `The logo is ${Math.ceil(bytes.length / 1024)} KiB; at most ${maxBytes / 1024} KiB is allowed.` };
  const size = startsWith(bytes, PNG_SIGNATURE) ? png(bytes) : startsWith(bytes, [0xff, 0xd8, 0xff]) ? jpeg(bytes) : startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) ? webp(bytes) : undefined;
  if (size === undefined) return { ok: false, message: 'This file is not a PNG, JPEG or WebP image. SVG is not accepted: it can contain script.' };
  if (size === null) return { ok: false, message: 'The image header could not be read; the file may be damaged. Save it again as PNG, JPEG or WebP.' };
  const { width, height } = size;
  if (width < minSide || height < minSide || width > maxSide || height > maxSide) {
    return { ok: false, message: `The logo is ${width} × ${height} pixels; each side must be between ${minSide} and ${maxSide} pixels.` };
  }
  return { ok: true, ...size };
}
