/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/** A one-line message at the top of a page after an action. */
export type FlashMsg = { kind: 'ok' | 'error' | 'info'; text: string };

/** ok: an action worked; error: it did not (an alert); info: something to know, nobody's fault. */
export function Flash({ kind, children }: { kind: FlashMsg['kind']; children?: Child }) {
  return (
    <div class={`flash ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** The one-line result of the last action (saved, refused), when there is one. */
export function FlashBox({ flash }: { flash?: FlashMsg | undefined }) {
  return flash ? <Flash kind={flash.kind}>{flash.text}</Flash> : null;
}

/** What a list says when it has nothing yet: the same quiet box everywhere, with the next step. */
export function Empty({ children }: { children?: Child }) {
  return <div class="empty">{children}</div>;
}
