/** Test identities. The global teardown greps all technical logs for these patterns. */
export const PERSON_SURNAME = 'Pseudonymova';
export const testEmail = (local: string, tenant?: 'a' | 'b' | 'c') => `${local}@${tenant ? `tenant-${tenant}` : 'example'}.test`;
