#include "service/service_metrics.h"

namespace sekds::service {

ServiceMetrics::ServiceMetrics(MetricsRegistry& r)
    : registry(r),
      requests(r.counter_family("sekds_requests_total", "SOAP requests answered, by operation and fault code",
                                {"operation", "fault"})),
      request_seconds(r.histogram_family("sekds_request_duration_seconds",
                                         "Time from the first request byte read to the answer sent", {"operation"})),
      rejected_requests(r.counter_family("sekds_rejected_requests_total",
                                         "Requests refused by the transport limits, by reason", {"reason"})),
      http_requests(r.counter_family("sekds_http_requests_total", "Plain HTTP GET requests, by path and status",
                                     {"path", "code"})),
      open_connections(r.gauge("sekds_open_connections", "Client connections currently open")),
      connections_accepted(r.counter("sekds_connections_accepted_total", "TCP connections accepted")),
      connections_rejected(r.counter_family("sekds_connections_rejected_total",
                                            "Connections closed without serving, by reason", {"reason"})),
      handshakes_in_progress(r.gauge("sekds_tls_handshakes_in_progress",
                                     "Connections accepted whose TLS handshake is not done yet")),
      idle_closed(r.counter("sekds_connections_idle_closed_total", "Keep-alive connections closed for idleness")),
      hsm_seconds(r.histogram_family("sekds_hsm_operation_duration_seconds", "HSM operation latency, by operation",
                                     {"operation"})),
      audit_batch_size(r.histogram("sekds_audit_batch_size", "Audit records written per group commit",
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      sequence_counter_anomalies(r.counter("sekds_sequence_counter_anomalies_total",
                                           "Releases whose card sequence counter repeated or went backwards "
                                           "(possible clone or replay)")),
      audit_append_seconds(r.histogram("sekds_audit_append_duration_seconds",
                                       "Time until an audit record is durable (group commit included)")),
      refusal_audits(r.counter_family("sekds_refusal_audits_total",
                                      "Refused key requests: audited (written), over the per-caller audit limit "
                                      "(dropped), or not auditable (failed)",
                                      {"outcome"})),
      key_releases(r.counter_family("sekds_key_releases_total",
                                    "Key sets released: released (new audit record) or replayed (same RequestId)",
                                    {"kind"})),
      health_probes(r.counter("sekds_health_probes_total", "Health checks run for /healthz (HSM and store probed)")),
      health_cached(r.counter("sekds_health_cached_answers_total",
                              "/healthz answers given from the last health check (health_probe_rate)")) {}

}  // namespace sekds::service
