import { ConfigResourceTypes } from 'kafkajs';
import { provisionTopics } from '@event-pipeline/common';
import { testKafka, uniqueName, withAdmin } from '../support/kafka';
import { testLogger } from '../support/pipeline';

jest.setTimeout(60_000);

describe('topic provisioning, as both services do it at start-up', () => {
  it('creates the missing topics with their partitions and settings, and leaves an existing one as it is', async () => {
    const existing = uniqueName('events');
    const missing = uniqueName('events.dlq');
    await withAdmin((admin) =>
      admin.createTopics({ topics: [{ topic: existing, numPartitions: 1 }], waitForLeaders: true }),
    );

    const created = await provisionTopics(
      testKafka(),
      [
        { topic: existing, numPartitions: 4, replicationFactor: -1 },
        {
          topic: missing,
          numPartitions: 2,
          replicationFactor: -1,
          configEntries: [{ name: 'retention.ms', value: '1209600000' }],
        },
      ],
      { logger: testLogger('provisioning') },
    );

    expect(created).toEqual([missing]);
    const { topics } = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [existing, missing] }));
    const partitions = Object.fromEntries(topics.map((topic) => [topic.name, topic.partitions.length]));
    expect(partitions).toEqual({ [existing]: 1, [missing]: 2 });
    const { resources } = await withAdmin((admin) =>
      admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: missing, configNames: ['retention.ms'] }],
        includeSynonyms: false,
      }),
    );
    expect(resources[0]?.configEntries).toEqual([
      expect.objectContaining({ configName: 'retention.ms', configValue: '1209600000' }),
    ]);
  });

  it('creates nothing when every topic is there', async () => {
    const topic = uniqueName('events');
    const spec = { topic, numPartitions: 1, replicationFactor: -1 };
    const logger = testLogger('provisioning');
    expect(await provisionTopics(testKafka(), [spec], { logger })).toEqual([topic]);
    expect(await provisionTopics(testKafka(), [spec], { logger })).toEqual([]);
  });
});
