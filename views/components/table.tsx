/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/**
 * A table that scrolls inside its own box instead of pushing the page wider than the screen,
 * with its header row kept in view. The box is a named, focusable region so keyboard users can
 * scroll it too (axe: scrollable-region-focusable).
 */
export function TableBox({ label, tall, children }: { label: string; tall?: boolean; children?: Child }) {
  return (
    <div class={tall ? 'table-box tall' : 'table-box'} role="region" aria-label={label} tabindex={0}>
      {children}
    </div>
  );
}
