// Kafka as kafka-exporter sees it: brokers, topics and their partitions, every consumer group.
import { monitoring } from './config';
import { buildDashboard } from './frame';
import { badBelow, badFrom, statPanel, timeseriesPanel } from './panels';
import { maxBy, on, rate, series, sumBy } from './promql';

const { thresholds } = monitoring;

const cluster = [
  statPanel({
    title: 'How many brokers are in the cluster?',
    description: `Brokers in the cluster metadata. Fewer than the ${thresholds.kafkaBrokers} the cluster should have turns red.`,
    unit: 'short',
    width: 8,
    thresholds: badBelow(thresholds.kafkaBrokers),
    queries: [{ expr: series('kafka_brokers', on.exporter), legend: 'brokers' }],
  }),
  statPanel({
    title: 'How many partitions does each topic have?',
    description: 'Partitions per topic: the most consumer instances of one group that can work on the topic at once.',
    unit: 'short',
    width: 8,
    queries: [{ expr: maxBy(['topic'], series('kafka_topic_partitions', on.topics)), legend: '{{topic}}' }],
  }),
  statPanel({
    title: 'Is any partition under-replicated?',
    description:
      'Replicas not in sync, summed over the partitions of each topic (replicas minus in-sync replicas). Above 0, a broker is down or behind and acks=all writes may stall.',
    unit: 'short',
    width: 8,
    thresholds: badFrom(1),
    queries: [
      {
        expr: sumBy(
          ['topic'],
          `${series('kafka_topic_partition_replicas', on.topics)} - ${series('kafka_topic_partition_in_sync_replica', on.topics)}`,
        ),
        legend: '{{topic}}',
      },
    ],
  }),
];

const topics = [
  timeseriesPanel({
    title: 'How fast are messages written to each partition?',
    description:
      'Growth of the newest offset per second, per topic and partition. An uneven spread means keys that hash to few partitions (hot subjects).',
    unit: 'ops',
    queries: [
      {
        expr: sumBy(['topic', 'partition'], rate(series('kafka_topic_partition_current_offset', on.topics))),
        legend: '{{topic}}/{{partition}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How many messages does each topic retain?',
    description:
      'Newest minus oldest offset, summed over the partitions of each topic: what retention keeps on disk, in messages.',
    unit: 'short',
    queries: [
      {
        expr: sumBy(
          ['topic'],
          `${series('kafka_topic_partition_current_offset', on.topics)} - ${series('kafka_topic_partition_oldest_offset', on.topics)}`,
        ),
        legend: '{{topic}}',
      },
    ],
  }),
];

const groups = [
  timeseriesPanel({
    title: 'How many messages is each group behind, per partition?',
    description:
      'Newest offset minus the committed offset of each consumer group on each partition. One partition growing alone points to a stuck consumer or a poison event in retry.',
    unit: 'short',
    queries: [
      {
        expr: maxBy(['consumergroup', 'topic', 'partition'], series('kafka_consumergroup_lag', on.topics)),
        legend: '{{consumergroup}} {{topic}}/{{partition}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How many messages is each group behind on each topic?',
    description: `Lag summed over the partitions of each topic, per consumer group. The dashed line is the lag alert's threshold (${thresholds.consumerLagMessages}) for the consumer group the consumers run with.`,
    unit: 'short',
    thresholds: badFrom(thresholds.consumerLagMessages),
    queries: [
      {
        expr: maxBy(['consumergroup', 'topic'], series('kafka_consumergroup_lag_sum', on.topics)),
        legend: '{{consumergroup}} {{topic}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How many members does each group have?',
    description:
      'Members of each consumer group. The group the consumers run with should have one per consumer instance; 0 means nothing processes the events.',
    unit: 'short',
    queries: [
      {
        expr: maxBy(['consumergroup'], series('kafka_consumergroup_members', on.exporter)),
        legend: '{{consumergroup}}',
      },
    ],
  }),
  timeseriesPanel({
    title: 'How fast does each group commit?',
    description:
      'Growth of the committed offsets per second, summed over the partitions of each topic, per group: the rate a group gets through the topic. Compare with the write rate.',
    unit: 'ops',
    queries: [
      {
        expr: sumBy(['consumergroup', 'topic'], rate(series('kafka_consumergroup_current_offset', on.topics))),
        legend: '{{consumergroup}} {{topic}}',
      },
    ],
  }),
];

export const kafka = buildDashboard({
  uid: 'event-pipeline-kafka',
  title: 'Event pipeline: Kafka',
  description: 'Brokers, topics, partitions and consumer groups, from kafka-exporter.',
  tags: ['kafka'],
  refresh: '30s',
  variables: ['topic'],
  rows: [
    { title: 'Cluster', panels: cluster },
    { title: 'Topics', panels: topics },
    { title: 'Consumer groups', panels: groups },
  ],
});
