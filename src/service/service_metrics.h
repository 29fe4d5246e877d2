// The metrics of sekds-server, registered once in a MetricsRegistry. The transport fills the
// request/connection ones; the hsm_*, audit_* and sequence_counter_* ones are hooks for the
// key-release logic (it gets this struct from whoever builds the server).
#pragma once

#include "service/metrics.h"

namespace sekds::service {

struct ServiceMetrics {
  explicit ServiceMetrics(MetricsRegistry& registry);

  MetricsRegistry& registry;
  // SOAP requests by operation (WSGetDiversifiedKeys, WSGetKekInfo, WSPing, unknown) and
  // fault code ("none" when answered without a fault).
  CounterFamily& requests;            // sekds_requests_total{operation,fault}
  HistogramFamily& request_seconds;   // sekds_request_duration_seconds{operation}
  // Requests refused by the transport before any operation ran:
  // oversize, dtd, xml_depth, malformed, not_found, method_not_allowed, content_encoding, timeout.
  CounterFamily& rejected_requests;   // sekds_rejected_requests_total{reason}
  CounterFamily& http_requests;       // sekds_http_requests_total{path,code} (GET endpoints)
  Gauge& open_connections;            // sekds_open_connections
  Counter& connections_accepted;      // sekds_connections_accepted_total
  // max_connections, handshakes_per_peer, tls_handshake, tls_handshake_timeout, shutting_down
  CounterFamily& connections_rejected;  // sekds_connections_rejected_total{reason}
  Gauge& handshakes_in_progress;      // sekds_tls_handshakes_in_progress
  Counter& idle_closed;               // sekds_connections_idle_closed_total
  // Hooks for the key-release step.
  HistogramFamily& hsm_seconds;       // sekds_hsm_operation_duration_seconds{operation}
  Histogram& audit_batch_size;        // sekds_audit_batch_size
  Counter& sequence_counter_anomalies;  // sekds_sequence_counter_anomalies_total
  // Filled by the key release (key_release_service.h).
  Histogram& audit_append_seconds;    // sekds_audit_append_duration_seconds (durable when observed)
  // Refusals audited, or not: written, dropped (over the per-caller flood limit), failed (store).
  CounterFamily& refusal_audits;      // sekds_refusal_audits_total{outcome}
  // Keys released: released (new audit record), replayed (same RequestId within the window).
  CounterFamily& key_releases;        // sekds_key_releases_total{kind}
  // GET /healthz: health checks run (HSM and store probed), and answers given from the last
  // one instead ([monitoring] health_probe_rate).
  Counter& health_probes;             // sekds_health_probes_total
  Counter& health_cached;             // sekds_health_cached_answers_total
};

}  // namespace sekds::service
