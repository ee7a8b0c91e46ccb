import { describe, expect, it } from 'vitest';
import { LiveEventsView } from '../../../src/store/live-events-view.js';

const e = (itemId: string) => [{ itemId, ts: 1 }];

describe('LiveEventsView', () => {
  it('Given the subscription is not confirmed, When a read is kept, Then nothing is served from memory', () => {
    const view = new LiveEventsView(100, 5000);
    view.keep('u', e('a'), view.ticket());
    expect(view.get('u')).toBeUndefined();
    view.enable();
    view.keep('u', e('a'), view.ticket());
    expect(view.get('u')).toEqual(e('a'));
    view.disable();
    expect(view.get('u')).toBeUndefined();
  });

  it('Given a read in flight, When any user is invalidated meanwhile, Then its result is not kept', () => {
    const view = new LiveEventsView(100, 5000);
    view.enable();
    const ticket = view.ticket();
    view.invalidate(['someone-else']);
    view.keep('u', e('stale'), ticket);
    expect(view.get('u')).toBeUndefined();
  });

  it('Given kept users, When one is invalidated, Then only that one is read again', () => {
    const view = new LiveEventsView(100, 5000);
    view.enable();
    view.keep('u', e('a'), view.ticket());
    view.keep('v', e('b'), view.ticket());
    view.invalidate(['u']);
    expect(view.get('u')).toBeUndefined();
    expect(view.get('v')).toEqual(e('b'));
  });

  it('Given the bound (a unit per user and per event) is reached, When another user is kept, Then the oldest go first', () => {
    const view = new LiveEventsView(4, 5000);
    view.enable();
    for (const u of ['a', 'b', 'c']) view.keep(u, e(u), view.ticket());
    expect(view.get('a')).toBeUndefined();
    expect(view.size).toBe(2);
    view.keep('d', [...e('d1'), ...e('d2'), ...e('d3')], view.ticket());
    expect([view.get('b'), view.get('c')]).toEqual([undefined, undefined]);
    expect(view.get('d')).toHaveLength(3);
    view.keep('huge', Array.from({ length: 9 }, (_, k) => e(`h${k}`)[0]), view.ticket());
    expect(view.get('huge')).toBeUndefined();
  });

  it('Given a kept read, When its time to live has passed, Then it is read again', () => {
    let now = 0;
    const view = new LiveEventsView(100, 5000, () => now);
    view.enable();
    view.keep('u', e('a'), view.ticket());
    now = 4999;
    expect(view.get('u')).toEqual(e('a'));
    now = 5000;
    expect(view.get('u')).toBeUndefined();
    expect(view.size).toBe(0);
  });
});
