/** Times are shown in UTC, to the minute: the same on every screen and in the audit export. */
export const when = (t: number | string | null): string => (t === null ? '–' : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
