/** A budget's period: calendar periods in UTC, or the whole life of the store. */
export type BudgetPeriod = "day" | "week" | "month" | "total";

/** One calendar period: where it starts (its name in counter keys) and where it ends. */
export interface PeriodWindow {
  /** `YYYY-MM-DD` of the first day, or `all` for `total`. */
  readonly label: string;
  /** Epoch ms of the period's start; `-Infinity` for `total`. */
  readonly startsAt: number;
  /** Epoch ms of the next period's start; `Infinity` for `total`. */
  readonly endsAt: number;
}

const DAY_MS = 86_400_000;

/**
 * The period containing `now`, in UTC: days start at midnight, weeks on Monday (ISO 8601),
 * months on the 1st.
 *
 * @example
 * periodWindow("week", Date.UTC(2025, 5, 4)); // Wednesday -> { label: "2025-06-02", endsAt: Date.UTC(2025, 5, 9) }
 */
export function periodWindow(period: BudgetPeriod, now: number): PeriodWindow {
  if (period === "total") return { label: "all", startsAt: Number.NEGATIVE_INFINITY, endsAt: Number.POSITIVE_INFINITY };
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const day = date.getUTCDate();
  if (period === "month") return window(Date.UTC(year, month, 1), Date.UTC(year, month + 1, 1));
  const midnight = Date.UTC(year, month, day);
  if (period === "day") return window(midnight, midnight + DAY_MS);
  // getUTCDay: Sunday 0 .. Saturday 6; days since Monday: Monday 0 .. Sunday 6.
  const sinceMonday = (date.getUTCDay() + 6) % 7;
  const monday = midnight - sinceMonday * DAY_MS;
  return window(monday, monday + 7 * DAY_MS);
}

function window(startsAt: number, endsAt: number): PeriodWindow {
  return { label: new Date(startsAt).toISOString().slice(0, 10), startsAt, endsAt };
}
