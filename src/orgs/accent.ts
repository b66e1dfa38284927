/**
 * An organization's accent colour on its public pages, and the rule that keeps it readable.
 *
 * The colour is any `#rrggbb`. It is never rejected for its lightness; instead each use gets a
 * partner that reads (WCAG 2.x contrast, AA: at least 4.5:1 for text):
 * - buttons keep the colour as their background in both schemes, with white or black text,
 *   whichever contrasts more (any colour reaches at least 4.58:1 with one of them);
 * - links are text on the page, so they take the colour darkened (light scheme) or lightened
 *   (dark scheme) just enough to reach 4.5:1 against every background they sit on there.
 * The stylesheet is served as a file (src/orgs/branding-routes.tsx): the CSP allows no inline style.
 */

export type Rgb = readonly [number, number, number];

/** `#abc` or `#aabbcc`, any case, in; `#aabbcc` out. */
export const ACCENT_PATTERN = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

export function normalizeHex(v: string): string {
  const h = v.trim().toLowerCase();
  return h.length === 4 ? `#${h[1]}${h[1]}${h[2]}${h[2]}${h[3]}${h[3]}` : h;
}

export function parseHex(hex: string): Rgb {
  const h = normalizeHex(hex);
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

export const toHex = (c: Rgb) => `#${c.map((x) => Math.round(Math.min(255, Math.max(0, x))).toString(16).padStart(2, '0')).join('')}`;

/** WCAG 2.x relative luminance. */
export function luminance(c: Rgb): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const mix = (c: Rgb, to: Rgb, t: number): Rgb => [c[0] + (to[0] - c[0]) * t, c[1] + (to[1] - c[1]) * t, c[2] + (to[2] - c[2]) * t];
/** Rounded, as the stylesheet will state it: contrast is checked on what the browser paints. */
const rounded = (c: Rgb): Rgb => parseHex(toHex(c));

export const AA = 4.5;
const WHITE: Rgb = [255, 255, 255];
/** Pure black, not a softer ink: only black reaches 4.5:1 on every colour where white does not (#6666ff: 4.3 with white, 4.4 with #111). */
const BLACK: Rgb = [0, 0, 0];

/** The backgrounds links sit on in each scheme (Pico's page, card and code backgrounds). */
export const SCHEME_BACKGROUNDS: Record<'light' | 'dark', Rgb[]> = {
  light: [WHITE, [243, 245, 247]],
  dark: [[19, 23, 31], [24, 28, 37], [26, 31, 40]],
};

/** The least contrast of `c` against any of the backgrounds. */
const worst = (c: Rgb, backgrounds: Rgb[]) => Math.min(...backgrounds.map((b) => contrast(c, b)));

/** The colour moved towards `to` in small steps until it reads on all backgrounds. */
function readableOn(c: Rgb, backgrounds: Rgb[], to: Rgb): Rgb {
  for (let t = 0; t <= 1.0001; t += 0.02) {
    const m = rounded(mix(c, to, t));
    if (worst(m, backgrounds) >= AA) return m;
  }
  return to;
}

export interface AccentPalette {
  accent: string;
  /** text on the accent: white or black */
  onAccent: string;
  /** the button on hover: moved away from its text colour, so the contrast only grows */
  hover: string;
  linkLight: string;
  linkDark: string;
  /** the lowest contrast any pair above reaches; at least 4.5 by construction */
  minContrast: number;
}

export function accentPalette(hex: string): AccentPalette {
  const c = parseHex(hex);
  const on = contrast(c, WHITE) >= contrast(c, BLACK) ? WHITE : BLACK;
  const hover = rounded(mix(c, on === WHITE ? BLACK : WHITE, 0.15));
  const linkLight = readableOn(c, SCHEME_BACKGROUNDS.light, BLACK);
  const linkDark = readableOn(c, SCHEME_BACKGROUNDS.dark, WHITE);
  const minContrast = Math.min(contrast(c, on), contrast(hover, on), worst(linkLight, SCHEME_BACKGROUNDS.light), worst(linkDark, SCHEME_BACKGROUNDS.dark));
  return { accent: toHex(c), onAccent: toHex(on), hover: toHex(hover), linkLight: toHex(linkLight), linkDark: toHex(linkDark), minContrast };
}

const rgba = (hex: string, a: number) => `rgba(${parseHex(hex).join(', ')}, ${a})`;

/** Pico's checkbox tick, in the button text colour (Pico draws it white on the accent). */
const tick = (hex: string) =>
  `url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='24' height='24' viewBox='0 0 24 24' fill='none' stroke='${encodeURIComponent(hex)}' stroke-width='4' stroke-linecap='round' stroke-linejoin='round'%3E%3Cpolyline points='20 6 9 17 4 12'%3E%3C/polyline%3E%3C/svg%3E")`;

/**
 * The stylesheet for an organization's public pages: Pico's primary colour variables, set with
 * Pico's own scheme selectors so the light and dark schemes each get their own link colour.
 */
export function accentCss(hex: string): string {
  const p = accentPalette(hex);
  const scheme = (link: string) =>
    [
      `--pico-primary: ${link};`,
      `--pico-primary-underline: ${rgba(link, 0.5)};`,
      `--pico-primary-hover: ${link};`,
      `--pico-primary-hover-underline: ${link};`,
      `--pico-primary-background: ${p.accent};`,
      `--pico-primary-border: ${p.accent};`,
      `--pico-primary-hover-background: ${p.hover};`,
      `--pico-primary-hover-border: ${p.hover};`,
      `--pico-primary-focus: ${rgba(p.accent, 0.5)};`,
      `--pico-primary-inverse: ${p.onAccent};`,
      `--pico-switch-color: ${p.onAccent};`,
      `--pico-icon-checkbox: ${tick(p.onAccent)};`,
    ]
      .map((l) => `  ${l}`)
      .join('\n');
  return [
    `/* Organization accent ${p.accent}: buttons ${p.accent} with ${p.onAccent} text; links ${p.linkLight} (light), ${p.linkDark} (dark). */`,
    `:root:not([data-theme=dark]) {\n${scheme(p.linkLight)}\n}`,
    `@media only screen and (prefers-color-scheme: dark) {\n:root:not([data-theme]) {\n${scheme(p.linkDark)}\n}\n}`,
    '',
  ].join('\n');
}
