import { problems } from './problem';

describe('an event too large', () => {
  it('names the item of a batch by index and pointer', () => {
    expect(problems.eventTooLarge({ index: 3, pointer: '/3' }, 2_000_000, 1_000_000).toJSON()).toMatchObject({
      status: 413,
      detail: 'event 3 encodes to 2000000 bytes; one event may take at most 1000000',
      errors: [{ index: 3, pointer: '/3', message: 'encodes to 2000000 bytes, over 1000000' }],
    });
  });

  it('points at the whole body for a single event, and at no pointer in binary mode', () => {
    const single = problems.eventTooLarge({ pointer: '' }, 2_000_000, 1_000_000).toJSON();
    expect(single).toMatchObject({ detail: 'the event encodes to 2000000 bytes; one event may take at most 1000000' });
    expect(single.errors).toEqual([{ pointer: '', message: 'encodes to 2000000 bytes, over 1000000' }]);
    expect(problems.eventTooLarge({}, 2_000_000, 1_000_000).toJSON().errors).toEqual([
      { message: 'encodes to 2000000 bytes, over 1000000' },
    ]);
  });
});
