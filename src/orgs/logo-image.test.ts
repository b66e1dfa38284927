import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOGO_LIMITS, checkLogo } from './logo-image.ts';

const fixture = (name: string) => fs.readFileSync(new URL(`../../test/fixtures/logos/${name}`, import.meta.url));

/** The 30 bytes a WebP header needs, with the chunk given. */
function webp(chunk: 'VP8 ' | 'VP8L', body: number[]): Buffer {
  const b = Buffer.alloc(40);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(32, 4);
  b.write('WEBP', 8, 'latin1');
  b.write(chunk, 12, 'latin1');
  b.writeUInt32LE(20, 16);
  Buffer.from(body).copy(b, 20);
  return b;
}

describe('checkLogo: the type and size come from the bytes', () => {
  it('reads PNG, JPEG and WebP files as Chromium encodes them', () => {
    expect(checkLogo(fixture('logo.png'))).toEqual({ ok: true, type: 'image/png', width: 240, height: 64 });
    expect(checkLogo(fixture('logo.jpg'))).toEqual({ ok: true, type: 'image/jpeg', width: 240, height: 64 });
    expect(checkLogo(fixture('logo.webp'))).toEqual({ ok: true, type: 'image/webp', width: 240, height: 64 });
    expect(checkLogo(fixture('logo-lossless.webp'))).toEqual({ ok: true, type: 'image/webp', width: 240, height: 64 });
  });

  it('reads the simple lossy (VP8) and lossless (VP8L) WebP headers', () => {
    // VP8: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
    expect(checkLogo(webp('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, 200, 0, 100, 0]))).toEqual({ ok: true, type: 'image/webp', width: 200, height: 100 });
    // VP8L: signature 0x2f, then width-1 and height-1 in 14 bits each: 299 and 49.
    const bits = 299 | (49 << 14);
    expect(checkLogo(webp('VP8L', [0x2f, bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff, (bits >>> 24) & 0xff]))).toEqual({ ok: true, type: 'image/webp', width: 300, height: 50 });
  });

  it('refuses SVG, HTML renamed to .png, and anything else, saying what is accepted', () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>');
    const html = Buffer.from('<!doctype html><script>alert(1)</script>');
    for (const b of [svg, html, Buffer.from('GIF89a\x10\x00\x10\x00')]) {
      expect(checkLogo(b)).toEqual({ ok: false, message: 'This file is not a PNG, JPEG or WebP image. SVG is not accepted: it can contain script.' });
    }
  });

  it('refuses a file whose magic bytes promise an image but whose header is not there', () => {
    const png = fixture('logo.png');
    expect(checkLogo(png.subarray(0, 20))).toMatchObject({ ok: false, message: expect.stringContaining('could not be read') });
    // A JPEG start followed by HTML: no frame header to read.
    expect(checkLogo(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]), Buffer.from('<html><script>alert(1)</script>')]))).toMatchObject({ ok: false });
    const riffWave = Buffer.alloc(40);
    riffWave.write('RIFF\0\0\0\0WAVEfmt ', 0, 'latin1');
    expect(checkLogo(riffWave)).toMatchObject({ ok: false, message: expect.stringContaining('could not be read') });
  });

  it('bounds the file size and the pixel dimensions', () => {
    const big = Buffer.concat([fixture('logo.png'), Buffer.alloc(LOGO_LIMITS.maxBytes)]);
    expect(checkLogo(big)).toEqual({ ok: false, message: `The logo is ${Math.ceil(big.length / 1024)} KiB; at most 256 KiB is allowed.` });
    const huge = Buffer.from(fixture('logo.png'));
    huge.writeUInt32BE(40_000, 16); // width in IHDR
    expect(checkLogo(huge)).toEqual({ ok: false, message: 'The logo is 40000 × 64 pixels; each side must be between 16 and 2048 pixels.' });
    const tiny = Buffer.from(fixture('logo.png'));
    tiny.writeUInt32BE(8, 20);
    expect(checkLogo(tiny)).toMatchObject({ ok: false, message: expect.stringContaining('240 × 8 pixels') });
    expect(checkLogo(Buffer.alloc(0))).toEqual({ ok: false, message: 'Choose an image file to upload.' });
  });
});
