import { env, parseConfig } from '@event-pipeline/common';
import { z } from 'zod';
import { checkConsumerConfig, consumerConfigShape } from '../config';

/** The settings of the `dlq` command beside the consumer's own (which it reads too). */
export const dlqOwnConfigShape = {
  PUSHGATEWAY_URL: env
    .optionalString(
      'Prometheus Pushgateway that `dlq redrive` pushes events_redriven_total to, e.g. http://pushgateway:9091 (unset: not pushed).',
    )
    .refine((url) => url === undefined || /^https?:\/\/[^\s/]+/.test(url), 'must be an http(s) URL'),
};

export const dlqConfigSchema = z
  .object({ ...consumerConfigShape, ...dlqOwnConfigShape })
  .superRefine((config, ctx) => checkConsumerConfig(config, ctx));

export type DlqConfig = z.output<typeof dlqConfigSchema>;

export function loadDlqConfig(source: Record<string, string | undefined>): DlqConfig {
  return parseConfig(dlqConfigSchema, source);
}
