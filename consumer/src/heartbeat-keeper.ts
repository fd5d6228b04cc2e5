import { errorMessage, PipelineError } from '@event-pipeline/common';

/** The group moved on (a rebalance) while we worked: the message belongs to someone else now. */
export class MembershipLostError extends PipelineError {
  // Another attempt here cannot help: the next owner of the partition processes the message.
  readonly retriable = false;
}

/**
 * What to throw once the membership is lost: the failed heartbeat's own error (a rebalance, a
 * fenced member), which KafkaJS's runner answers by rejoining, as if it had met it itself.
 */
export function causeOfLoss(error: MembershipLostError): unknown {
  return error.cause ?? error;
}

export interface HeartbeatKeeper {
  /** Throws MembershipLostError (its cause the failed heartbeat's error) once a heartbeat has failed. */
  check(): void;
  stop(): void;
}

/**
 * Calls `heartbeat` every `intervalMs` until stopped, and remembers the first failure.
 * KafkaJS heartbeats only between messages; one event may take longer than the session
 * timeout (a slow handler, long backoffs, a slow dead-letter write), so the worker keeps
 * the membership alive itself while it works on one.
 */
export function keepHeartbeating(heartbeat: () => Promise<void>, intervalMs: number): HeartbeatKeeper {
  let lost: unknown;
  const timer = setInterval(() => {
    heartbeat().catch((error: unknown) => {
      lost ??= error;
    });
  }, intervalMs);
  return {
    check() {
      if (lost !== undefined) throw new MembershipLostError(errorMessage(lost), { cause: lost });
    },
    stop: () => clearInterval(timer),
  };
}
