// Retry budget: retries may add at most `ratio` of the requests seen in the
// last window plus `minPerSecond` per second, so retries never multiply an
// outage. Pure state plus functions of `now`; one budget per Service.

export interface RetryBudgetConfig {
  ratio: number;
  minPerSecond: number;
  windowMs: number;
}

export const DEFAULT_BUDGET: RetryBudgetConfig = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 };

const SLOTS = 10;

export interface RetryBudget {
  slotStart: number[];
  requests: number[];
  retries: number[];
}

export function newRetryBudget(): RetryBudget {
  return { slotStart: new Array<number>(SLOTS).fill(-1), requests: new Array<number>(SLOTS).fill(0), retries: new Array<number>(SLOTS).fill(0) };
}

function slot(budget: RetryBudget, now: number, config: RetryBudgetConfig): number {
  const width = config.windowMs / SLOTS;
  const start = Math.floor(now / width) * width;
  const i = Math.floor(now / width) % SLOTS;
  if (budget.slotStart[i] !== start) {
    budget.slotStart[i] = start;
    budget.requests[i] = 0;
    budget.retries[i] = 0;
  }
  return i;
}

function totals(budget: RetryBudget, now: number, config: RetryBudgetConfig): { requests: number; retries: number } {
  let requests = 0;
  let retries = 0;
  for (let i = 0; i < SLOTS; i++) {
    const start = budget.slotStart[i] ?? -1;
    if (start >= 0 && now - start < config.windowMs) {
      requests += budget.requests[i] ?? 0;
      retries += budget.retries[i] ?? 0;
    }
  }
  return { requests, retries };
}

export function recordRequest(budget: RetryBudget, now: number, config: RetryBudgetConfig = DEFAULT_BUDGET): void {
  const i = slot(budget, now, config);
  budget.requests[i] = (budget.requests[i] ?? 0) + 1;
}

/** Takes one retry from the budget if it allows one; false means the retry is refused. */
export function tryWithdraw(budget: RetryBudget, now: number, config: RetryBudgetConfig = DEFAULT_BUDGET): boolean {
  const { requests, retries } = totals(budget, now, config);
  const allowed = requests * config.ratio + config.minPerSecond * (config.windowMs / 1000);
  if (retries + 1 > allowed) return false;
  const i = slot(budget, now, config);
  budget.retries[i] = (budget.retries[i] ?? 0) + 1;
  return true;
}
