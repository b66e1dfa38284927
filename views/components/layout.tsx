/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { staticUrl } from '../../src/http/static.ts';

export interface LayoutProps {
  title: string;
  children?: Child;
  csrfToken?: string;
  nav?: Child;
}

export function Layout({ title, children, csrfToken, nav }: LayoutProps) {
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
        <script src={staticUrl('htmx.js')} defer></script>
        <script src={staticUrl('app.js')} defer></script>
      </head>
      <body>
        <header class="site container">
          <nav>
            <ul>
              <li>
                <a class="brand" href="/">Tessera</a>
              </li>
            </ul>
            {nav ?? null}
          </nav>
        </header>
        <main class="container">{children}</main>
      </body>
    </html>
    </>
  );
}
