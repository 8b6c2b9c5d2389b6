/**
 * SMS delivery. The workflow writes every message to the `outbox` table of its database in the same transaction
 * as the step that caused it (transactional outbox), then hands it to an {@link SmsGateway}. A message whose
 * delivery failed, or that was queued just before a crash, is delivered by `deliverOutbox()` / `reconcile()`:
 * delivery is at-least-once and `SmsMessage.id` is stable, so a carrier API can de-duplicate on it.
 */

export type SmsPurpose = "identity-code" | "invitation";

export interface SmsMessage {
  /** Outbox id: stable across retries (use it as the carrier's idempotency key). */
  readonly id: number;
  readonly requestId: string;
  readonly purpose: SmsPurpose;
  /** E.164 number. */
  readonly to: string;
  readonly body: string;
}

/** Sends one SMS. Resolves when the carrier accepted it; rejects (any error) to have it retried later. */
export interface SmsGateway {
  send(message: SmsMessage): Promise<void>;
}

/**
 * The default gateway for pilots and development: "delivers" by calling a logger callback (which may print,
 * forward to an operator console or a test). Together with the outbox table nothing is lost.
 */
export class LoggingSmsGateway implements SmsGateway {
  constructor(private readonly log: (message: SmsMessage) => void | Promise<void>) {}

  async send(message: SmsMessage): Promise<void> {
    await this.log(message);
  }
}
