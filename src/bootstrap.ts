import type { FastifyBaseLogger } from 'fastify';
import { BUNDLED_SAMPLE_PATH, runImport } from './data/importers/run-import.js';
import type { Services } from './services.js';

/**
 * First start of an empty service: load the bundled Online Retail sample (SAMPLE_DATA=true) so the API
 * has data at once. Runs after listen; /health/ready waits for it.
 */
export async function bootstrap(services: Services, log: Pick<FastifyBaseLogger, 'info' | 'error'>): Promise<void> {
  if (!services.config.SAMPLE_DATA) return;
  const { purchases } = await services.events.counts();
  if (purchases > 0) return;
  log.info('empty database: importing the bundled sample');
  const report = await runImport({ db: services.db }, { format: 'online-retail', path: BUNDLED_SAMPLE_PATH });
  log.info({ accepted: report.accepted, users: report.users, items: report.items }, 'sample imported');
}
