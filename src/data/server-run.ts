/**
 * The run of the Postgres server (its start, and the archiver's reset, which a promoted replica's differs in), as SQL:
 * a server started since a snapshot (pg_current_snapshot()) may hand out again the transaction ids of transactions
 * that left nothing durable, so a snapshot of another run says nothing of which were seen.
 */
export const SERVER_RUN_SQL = `pg_postmaster_start_time()::text || ' ' || coalesce((SELECT stats_reset FROM pg_stat_archiver)::text, '')`;
