import type { FieldErrors } from '../../src/http/forms.ts';

export type Form = { csrf: string; errors?: FieldErrors; values?: Record<string, string>; message?: string | undefined };

export const PW_HELP = 'At least 12 characters. A few unrelated words make a strong, memorable password.';
