import type { AppContext } from '../app-context.ts';

/** Values middleware puts on the request context; routes read them, never recompute them. */
export interface AppEnv {
  Variables: {
    requestId: string;
    clientIp: string | null;
    secure: boolean;
    userId: string | null;
    app: AppContext;
  };
}
