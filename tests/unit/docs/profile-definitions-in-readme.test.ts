import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIFECYCLE_STAGES, RFM_SEGMENTS, VALUE_TIERS } from '../../../src/profiles/segments.js';

// The data team reads profiles and segments through the README (and the OpenAPI description, which sends
// them to "src/profiles/segments.ts" for the rules). The README names neither most of the labels the API
// returns (loyal, potential_loyalists, cant_lose, at_risk, need_attention, hibernating; silent, active;
// medium, low) nor what they mean, nor what a refresh between trainings leaves as trained: the segment
// report and member lists (a refreshed customer's profile can say `loyal` while `GET
// /v1/segments/at_risk/users` still lists them), the population a refreshed customer is scored against,
// and price sensitivity (null for a customer new since training although their lines are priced).
// Nor does it say how returns count in spend: an Online Retail cancellation is taken off the purchases it
// returns, so customer 12346, whose one order of 77,183.60 was cancelled whole, has no spend left (counted
// gross, they were a `high` value-tier customer with M 5). Documentation defects: these fail until the README says it.
const README = readFileSync('README.md', 'utf8');

describe('README: profile and segment definitions', () => {
  it('names every RFM segment, lifecycle stage and value tier the API returns', () => {
    const missing = [...RFM_SEGMENTS, ...LIFECYCLE_STAGES, ...VALUE_TIERS].filter((label) => !README.includes(`\`${label}\``));
    expect(missing).toEqual([]);
  });

  it('says what a refresh between trainings leaves as trained: the segment report and lists, and price sensitivity', () => {
    expect(README).toMatch(/segment[\s\S]{0,300}?(as trained|as of the training|until the next training)/i);
    expect(README).toMatch(/price sensitivity/i);
  });

  it('says how returns count in spend (monetary, value tiers): taken off the purchases they return', () => {
    expect(README).toMatch(/(return|cancel)[^.]{0,200}(spend|monetary)|(spend|monetary)[^.]{0,200}(return|cancel)/i);
  });
});
