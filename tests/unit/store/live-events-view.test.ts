import { describe, expect, it } from 'vitest';
import { LiveEventsView } from '../../../src/store/live-events-view.js';

const e = (itemId: string) => [{ itemId, ts: 1 }];

describe('LiveEventsView', () => {
  it('Given the subscription is not confirmed, When a read is kept, Then nothing is served from memory', () => {
    const view = new LiveEventsView(10);
    view.keep('u', e('a'), view.ticket());
    expect(view.get('u')).toBeUndefined();
    view.enable();
    view.keep('u', e('a'), view.ticket());
    expect(view.get('u')).toEqual(e('a'));
    view.disable();
    expect(view.get('u')).toBeUndefined();
  });

  it('Given a read in flight, When any user is invalidated meanwhile, Then its result is not kept', () => {
    const view = new LiveEventsView(10);
    view.enable();
    const ticket = view.ticket();
    view.invalidate(['someone-else']);
    view.keep('u', e('stale'), ticket);
    expect(view.get('u')).toBeUndefined();
  });

  it('Given kept users, When one is invalidated, Then only that one is read again', () => {
    const view = new LiveEventsView(10);
    view.enable();
    view.keep('u', e('a'), view.ticket());
    view.keep('v', e('b'), view.ticket());
    view.invalidate(['u']);
    expect(view.get('u')).toBeUndefined();
    expect(view.get('v')).toEqual(e('b'));
  });

  it('Given the bound is reached, When another user is kept, Then the oldest is dropped', () => {
    const view = new LiveEventsView(2);
    view.enable();
    for (const u of ['a', 'b', 'c']) view.keep(u, e(u), view.ticket());
    expect(view.get('a')).toBeUndefined();
    expect(view.size).toBe(2);
  });
});
