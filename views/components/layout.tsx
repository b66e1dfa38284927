/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { staticUrl } from '../../src/http/static.ts';

/** The HTML document every page shares: head, styles, scripts; the body is the caller's. */
export function Document({ title, csrfToken, bodyClass, head, children }: { title: string; csrfToken?: string | undefined; bodyClass?: string; head?: Child; children?: Child }) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          {csrfToken ? <meta name="csrf-token" content={csrfToken} /> : null}
          <title>{`${title} · Tessera`}</title>
          <link rel="stylesheet" href={staticUrl('pico.css')} />
          <link rel="stylesheet" href={staticUrl('app.css')} />
          {head ?? null}
          <script src={staticUrl('htmx.js')} defer></script>
          <script src={staticUrl('app.js')} defer></script>
        </head>
        <body class={bodyClass}>{children}</body>
      </html>
    </>
  );
}

export interface LayoutProps {
  title: string;
  children?: Child;
  csrfToken?: string | undefined;
  nav?: Child;
  /** Public pages of an organization show its name (and logo) instead of the product's. */
  brand?: Child;
  head?: Child;
}

/** The frame of public and signed-out pages: a slim header and one centred column. */
export function Layout({ title, children, csrfToken, nav, brand, head }: LayoutProps) {
  return (
    <Document title={title} csrfToken={csrfToken} head={head}>
      <header class="site container">
        <nav>
          <ul>
            <li>
              {brand ?? (
                <a class="brand" href="/">
                  Tessera
                </a>
              )}
            </li>
          </ul>
          {nav ?? null}
        </nav>
      </header>
      <main class="container">{children}</main>
    </Document>
  );
}
