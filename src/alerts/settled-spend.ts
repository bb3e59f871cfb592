/**
 * What alerts read from one settled call: the fields of a spend record they need, named here
 * so alerts/ depends on no other feature (the gateway hands them each spend record).
 */
export interface SettledSpend {
  /** When the call ended, epoch ms. */
  readonly time: number;
  readonly key: string | undefined;
  readonly user: string | undefined;
  readonly costUsd: number;
}
