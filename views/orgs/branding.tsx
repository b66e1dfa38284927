/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldErrors } from '../../src/http/forms.ts';
import { LOGO_LIMITS } from '../../src/orgs/logo-image.ts';
import { Csrf, FieldError } from '../components/form.tsx';

export interface BrandingValues {
  accent: string | null;
  /** what was typed when the colour was refused */
  typed?: string | undefined;
  logo: { url: string; type: string; width: number; height: number } | null;
}

/** Pico's own primary colour: what the public pages use until an accent is chosen. */
const DEFAULT_ACCENT = '#0172ad';

/** The accent colour and logo of the organization's public pages (settings page). */
export function BrandingSettings(p: { csrf: string; base: string; values: BrandingValues; errors: FieldErrors }) {
  const { values, errors } = p;
  const shown = values.typed && /^#[0-9a-fA-F]{6}$/.test(values.typed) ? values.typed : (values.accent ?? DEFAULT_ACCENT);
  return (
    <article id="branding">
      <h2>Public pages: colour and logo</h2>
      <p>Your event pages, confirmations, the queue page and the "your data" pages show your logo beside your organization's name, and use your colour for buttons and links.</p>
      <form method="post" action={`${p.base}/accent`}>
        <Csrf token={p.csrf} />
        <label for="f-accent">Accent colour{values.accent ? ` (now ${values.accent})` : ' (now the default)'}</label>
        <input id="f-accent" name="accent" type="color" value={shown} aria-invalid={errors.accent ? 'true' : undefined} aria-describedby={errors.accent ? 'f-accent-help f-accent-error' : 'f-accent-help'} />
        <small id="f-accent-help">
          Any colour works, light or dark, and stays readable: buttons use it as their background with white or black text, whichever contrasts more (at least 4.5:1, the WCAG AA level).
          Links are text on the page, so they use the colour darkened in the light scheme and lightened in the dark scheme, just enough to reach 4.5:1 there too.
        </small>
        <FieldError id="f-accent" error={errors.accent} />
        <button type="submit">Save colour</button>
      </form>
      {values.accent ? (
        <form method="post" action={`${p.base}/accent/reset`}>
          <Csrf token={p.csrf} />
          <button type="submit" class="secondary outline">
            Reset to the default colour
          </button>
        </form>
      ) : null}
      <hr />
      <h3>Logo</h3>
      {values.logo ? (
        <figure class="logo-preview">
          <img src={values.logo.url} alt="Your current logo" width={values.logo.width} height={values.logo.height} />
          <figcaption>
            {values.logo.type.replace('image/', '').toUpperCase()}, {values.logo.width} × {values.logo.height} pixels
          </figcaption>
        </figure>
      ) : (
        <p>No logo yet: your public pages show your organization's name alone.</p>
      )}
      <form method="post" action={`${p.base}/logo`} enctype="multipart/form-data">
        <Csrf token={p.csrf} />
        <label for="f-logo">{values.logo ? 'Replace the logo' : 'Upload a logo'}</label>
        <input id="f-logo" name="logo" type="file" accept="image/png,image/jpeg,image/webp" required aria-invalid={errors.logo ? 'true' : undefined} aria-describedby={errors.logo ? 'f-logo-help f-logo-error' : 'f-logo-help'} />
        <small id="f-logo-help">
          PNG, JPEG or WebP, at most {LOGO_LIMITS.maxBytes / 1024} KiB, between {LOGO_LIMITS.minSide} and {LOGO_LIMITS.maxSide} pixels on each side. SVG is not accepted: it can carry script.
          Shown about 40 pixels high; a wide logo on a transparent background works best in both light and dark schemes.
        </small>
        <FieldError id="f-logo" error={errors.logo} />
        <button type="submit">Upload logo</button>
      </form>
      {values.logo ? (
        <form method="post" action={`${p.base}/logo/remove`}>
          <Csrf token={p.csrf} />
          <button type="submit" class="secondary outline">
            Remove the logo
          </button>
        </form>
      ) : null}
    </article>
  );
}
