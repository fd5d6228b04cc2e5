import { ReceiveBudget } from './receive-budget';

describe('ReceiveBudget', () => {
  it('takes bodies while they fit and refuses the one that would not', () => {
    const budget = new ReceiveBudget(1000, { smallBodyBytes: 100 });
    const small = [budget.take(100), budget.take(100)];
    expect(small.every(Boolean)).toBe(true);
    expect(budget.usedBytes).toBe(200);
    expect(budget.take(800)).toBeUndefined(); // beyond the large bodies' share (750)
    expect(budget.take(700)).toBeDefined();
    expect(budget.usedBytes).toBe(900);
    expect(budget.take(100)).toBeDefined();
    expect(budget.take(1)).toBeUndefined(); // the whole budget is held
  });

  it('keeps a quarter for small bodies when large ones fill their share', () => {
    const budget = new ReceiveBudget(1000, { smallBodyBytes: 100 });
    for (let taken = 0; taken < 3; taken += 1) expect(budget.take(250)).toBeDefined();
    expect(budget.take(101)).toBeUndefined();
    for (let taken = 0; taken < 2; taken += 1) expect(budget.take(100)).toBeDefined();
    expect(budget.take(60)).toBeUndefined();
    expect(budget.take(50)).toBeDefined();
    expect(budget.usedBytes).toBe(1000);
  });

  it('gives bytes back once, however often the give is called', () => {
    const budget = new ReceiveBudget(1000);
    const give = budget.take(600)!;
    give();
    give();
    expect(budget.usedBytes).toBe(0);
    expect(budget.take(750)).toBeDefined();
  });

  it('refuses a budget that holds nothing', () => {
    expect(() => new ReceiveBudget(0)).toThrow('the budget must be positive');
  });
});
