/**
 * Every bench request comes from 127.0.0.1, one "network" to the per-network registration limit
 * (600 per event per 10 minutes by default, so a crowd behind one NAT fits): the runs that
 * register switch that limit off, and their notes say so. The per-address limits stay on; each
 * request uses a new address.
 */
export const BENCH_LIMIT_ARGS = ['--registration-limit-network', '0'];
export const BENCH_LIMIT_NOTE = 'per-network registration limit off for this run (--registration-limit-network 0): all load comes from 127.0.0.1';
