// The admin API's own counters, kept in the process's metrics registry (common/metrics) and
// served with the store's gauges on [admin] metrics_listen (docs/metrics.md).
#pragma once

#include "metrics/metrics.hpp"

namespace mailstead::api {

struct Metrics {
  Metrics();
  metrics::Counter &requests_2xx, &requests_4xx, &requests_5xx;
  metrics::Counter &logins_ok, &logins_failed, &logins_throttled;
  metrics::Histogram& commit_seconds;  // the admin API's store commits, submit to durable
};

}  // namespace mailstead::api
