// The Node.js processes of the producer and the consumers: event loop, memory, GC, CPU and
// handles, per instance (prom-client's default metrics).
import { buildDashboard } from './frame';
import { timeseriesPanel } from './panels';
import { on, rate, series, sumBy } from './promql';

const perInstance = '{{job}} {{instance}}';

const eventLoop = [
  timeseriesPanel({
    title: 'Is the event loop blocked?',
    description:
      'How late timers fire on the event loop, p99 and mean, per instance. A p99 in the tens of milliseconds delays every request and event; look for synchronous work (large JSON, CPU-bound handlers).',
    unit: 's',
    queries: [
      { expr: series('nodejs_eventloop_lag_p99_seconds', on.services), legend: `${perInstance} p99` },
      { expr: series('nodejs_eventloop_lag_mean_seconds', on.services), legend: `${perInstance} mean` },
    ],
  }),
  timeseriesPanel({
    title: 'How much CPU does each process use?',
    description:
      'CPU time per second, user and system, per instance: 100 % is one core. Node runs JavaScript on one thread, so near 100 % that thread is saturated.',
    unit: 'percentunit',
    queries: [{ expr: rate(series('process_cpu_seconds_total', on.services)), legend: perInstance }],
  }),
  timeseriesPanel({
    title: 'How much time goes to garbage collection?',
    description:
      'Share of wall time spent in GC pauses, by kind (minor, major, incremental, weakcb), per instance. Major GC growing with the heap points to memory pressure.',
    unit: 'percentunit',
    queries: [
      {
        expr: sumBy(['job', 'instance', 'kind'], rate(series('nodejs_gc_duration_seconds_sum', on.services))),
        legend: `${perInstance} {{kind}}`,
      },
    ],
  }),
  timeseriesPanel({
    title: 'How long has each process been up?',
    description:
      'Time since each instance started. A drop to 0 is a restart: a crash, an out-of-memory kill or a deployment.',
    unit: 's',
    queries: [{ expr: `time() - ${series('process_start_time_seconds', on.services)}`, legend: perInstance }],
  }),
];

const memory = [
  timeseriesPanel({
    title: 'How much of the V8 heap is in use?',
    description:
      'Heap used and heap allocated by V8, per instance. Used climbing across major GCs without coming back is a leak.',
    unit: 'bytes',
    queries: [
      { expr: series('nodejs_heap_size_used_bytes', on.services), legend: `${perInstance} used` },
      { expr: series('nodejs_heap_size_total_bytes', on.services), legend: `${perInstance} allocated` },
    ],
  }),
  timeseriesPanel({
    title: 'How much memory does each process hold?',
    description:
      'Resident set size per instance: heap, buffers (Kafka batches, request bodies) and code. This is what a container memory limit counts.',
    unit: 'bytes',
    queries: [{ expr: series('process_resident_memory_bytes', on.services), legend: perInstance }],
  }),
];

const handles = [
  timeseriesPanel({
    title: 'Are file descriptors leaking?',
    description:
      'Open file descriptors per instance: sockets (HTTP clients, Kafka connections) and files. Steady growth under steady load is a leak.',
    unit: 'short',
    queries: [{ expr: series('process_open_fds', on.services), legend: perInstance }],
  }),
  timeseriesPanel({
    title: 'How many handles keep each event loop busy?',
    description:
      'Active libuv handles (sockets, servers, timers) per instance. It follows connections; growth without more traffic is a leak.',
    unit: 'short',
    queries: [{ expr: series('nodejs_active_handles_total', on.services), legend: perInstance }],
  }),
];

export const runtime = buildDashboard({
  uid: 'event-pipeline-runtime',
  title: 'Event pipeline: Node.js runtime',
  description: 'Event loop, CPU, GC, memory and handles of every producer and consumer instance.',
  tags: ['runtime'],
  refresh: '30s',
  variables: ['instance'],
  rows: [
    { title: 'Event loop and CPU', panels: eventLoop },
    { title: 'Memory', panels: memory },
    { title: 'File descriptors and handles', panels: handles },
  ],
});
