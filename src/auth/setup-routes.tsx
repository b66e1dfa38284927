/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { z } from 'zod';
import { Layout } from '../../views/layout.tsx';
import { SetupInvalidPage } from '../../views/setup.tsx';
import type { AppContext } from '../app-context.ts';
import type { AppEnv } from '../http/types.ts';
import { instanceHasOwner } from './owner.ts';
import { SetupService } from './setup.ts';

const query = z.object({ token: z.string().max(200).default('') });

export function setupRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const setup = new SetupService(ctx.db, ctx.audit, ctx.now);
  app.get('/setup', (c) => {
    if (instanceHasOwner(ctx.db)) return c.html(<SetupInvalidPage reason="done" />, 410);
    const q = query.safeParse(c.req.query());
    const check = setup.check(q.success ? q.data.token : '');
    if (!check.ok) return c.html(<SetupInvalidPage reason={check.reason} />, check.reason === 'invalid' ? 404 : 410);
    return c.html(
      <Layout title="Set up Tessera">
        <article>
          <h1>Set up Tessera</h1>
          <p>This link is valid. Creating the first owner account arrives with the identity module.</p>
        </article>
      </Layout>,
    );
  });
  return app;
}
