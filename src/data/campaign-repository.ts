import type { Db } from './db.js';

/** The campaigns exports were made for (migration 013): which campaignIds a browser's feedback may carry. */
export function createCampaignRepository(db: Db) {
  return {
    /** Puts a campaign on record (again: nothing changes). */
    async record(id: string): Promise<void> {
      await db.query('INSERT INTO campaigns (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [id]);
    },
  };
}

export type CampaignRepository = ReturnType<typeof createCampaignRepository>;
