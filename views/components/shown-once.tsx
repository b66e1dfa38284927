/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { Flash } from './flash.tsx';

/** A new secret (token, share link) right after it was made: the only time it can be read. */
export function ShownOnce(p: { title: string; note: string; testid: string; secret: string; children?: Child }) {
  return (
    <article>
      <h2>{p.title}</h2>
      <Flash kind="ok">{p.note}</Flash>
      <p>
        <code class="token" data-testid={p.testid}>
          {p.secret}
        </code>
      </p>
      {p.children}
    </article>
  );
}
