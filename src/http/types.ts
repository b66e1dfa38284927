import type { AppContext } from '../app-context.ts';
import type { SessionRow, UserRow } from '../auth/repo.ts';
import type { EventRow } from '../events/repo.ts';
import type { ApiTokenRow, MembershipRow, OrgRow } from '../orgs/repo.ts';
import type { Access } from './route-permissions.ts';

/** Values middleware puts on the request context; routes read them, never recompute them. */
export interface AppEnv {
  Variables: {
    requestId: string;
    clientIp: string | null;
    secure: boolean;
    /** The real client (not a proxy hop) is on this machine: see readClientInfo. */
    localCaller: boolean;
    userId: string | null;
    app: AppContext;
    session: SessionRow | null;
    user: UserRow | null;
    apiToken: ApiTokenRow | null;
    /** Set by the org guard on `/orgs/:orgSlug/…` routes. */
    org: OrgRow;
    membership: MembershipRow | null;
    /** Set by `loadEvent` on `/orgs/:orgSlug/events/:eventId/…` routes, for the app shell. */
    event: EventRow | undefined;
    /** Token for forms; the session's, or the pre-session cookie's. */
    csrfToken: string;
    /** The declared access of the guarded route answering (unset on public routes): see RouteTable. */
    access: Access | undefined;
  };
}
