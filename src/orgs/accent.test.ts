import { describe, expect, it } from 'vitest';
import { AA, SCHEME_BACKGROUNDS, accentCss, accentPalette, contrast, normalizeHex, parseHex } from './accent.ts';

describe('accent colour: every colour is made readable', () => {
  it('computes WCAG contrast as the spec does', () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrast(parseHex('#777777'), [255, 255, 255])).toBeCloseTo(4.48, 2);
    expect(normalizeHex('#ABC')).toBe('#aabbcc');
  });

  it('puts white text on a dark accent and dark text on a light one', () => {
    expect(accentPalette('#0b3d91').onAccent).toBe('#ffffff');
    expect(accentPalette('#ffd400').onAccent).toBe('#000000');
    // White on #777 is 4.48:1, under AA: black is chosen (4.69:1).
    expect(accentPalette('#777777').onAccent).toBe('#000000');
  });

  it('keeps at least 4.5:1 for button text, hover and links in both schemes, for colours across the whole range', () => {
    const steps = [0, 0x33, 0x66, 0x77, 0x99, 0xcc, 0xff];
    let checked = 0;
    for (const r of steps)
      for (const g of steps)
        for (const b of steps) {
          const hex = `#${[r, g, b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
          const p = accentPalette(hex);
          expect(p.minContrast, hex).toBeGreaterThanOrEqual(AA);
          expect(contrast(parseHex(p.accent), parseHex(p.onAccent)), hex).toBeGreaterThanOrEqual(AA);
          expect(contrast(parseHex(p.hover), parseHex(p.onAccent)), hex).toBeGreaterThanOrEqual(AA);
          for (const bg of SCHEME_BACKGROUNDS.light) expect(contrast(parseHex(p.linkLight), bg), `${hex} light`).toBeGreaterThanOrEqual(AA);
          for (const bg of SCHEME_BACKGROUNDS.dark) expect(contrast(parseHex(p.linkDark), bg), `${hex} dark`).toBeGreaterThanOrEqual(AA);
          checked++;
        }
    expect(checked).toBe(343);
  });

  it('changes a link colour only as much as needed', () => {
    // Already dark enough on white: unchanged in the light scheme, lightened for the dark one.
    const navy = accentPalette('#0b3d91');
    expect(navy.linkLight).toBe('#0b3d91');
    expect(navy.linkDark).not.toBe('#0b3d91');
    // Pale yellow is darkened for the light scheme and kept for the dark one.
    const yellow = accentPalette('#ffd400');
    expect(yellow.linkDark).toBe('#ffd400');
    expect(yellow.linkLight).not.toBe('#ffd400');
  });

  it('writes the colours into both of Pico\'s scheme blocks, and nothing but colours', () => {
    const css = accentCss('#ffd400');
    const p = accentPalette('#ffd400');
    expect(css).toContain(':root:not([data-theme=dark]) {');
    expect(css).toContain('@media only screen and (prefers-color-scheme: dark) {\n:root:not([data-theme]) {');
    expect(css).toContain(`--pico-primary: ${p.linkLight};`);
    expect(css).toContain(`--pico-primary: ${p.linkDark};`);
    expect(css).toContain('--pico-primary-inverse: #000000;');
    expect(css).not.toMatch(/url\((?!"data:image\/svg\+xml,)/);
  });
});
