#!/usr/bin/env -S node --disable-warning=TimeoutNegativeWarning
// `dlq list | show | redrive`: inspect and redrive dead letters (consumer/src/dlq). Configured
// like the consumer. The telemetry bootstrap comes first, as the services preload it, so a
// redrive's spans join each event's trace (OTEL_SDK_DISABLED=true turns it off).
'use strict';
require('@event-pipeline/observability/register');
require('../dist/dlq/cli.js');
