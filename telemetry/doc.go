// Package telemetry sets up bedrockwatch's OpenTelemetry metrics and traces,
// its structured logger and the HTTP routes of --metrics-addr (/metrics,
// /healthz, /readyz, /debug/pprof/).
//
// Setup builds the providers: metrics on a Prometheus endpoint (always) and
// by OTLP/HTTP (when the standard OTEL_EXPORTER_OTLP_* variables name an
// endpoint), traces by OTLP/HTTP. Metrics records the service's own
// instruments on any metric.MeterProvider. NewLogger returns a log/slog
// logger that never prints prompt or completion attributes. Only cmd/ calls
// Setup; the other packages take a *Metrics, a TracerProvider and a
// *slog.Logger.
//
// # Metrics
//
// The Prometheus exporter uses the UnderscoreEscapingWithSuffixes translation
// strategy and the namespace bedrockwatch, so the OTel instrument names below
// are exposed with dots turned into underscores, the prefix bedrockwatch_, a
// unit suffix (_seconds for "s", _bytes for "By"; annotations such as
// {message} add none) and _total on counters. There is no target_info and no
// otel_scope_* label. By OTLP the instruments keep their OTel names, under
// the scope ScopeName and the resource service.name=bedrockwatch.
//
//	Prometheus series                                      OTel instrument (unit, kind)                    labels
//	-----------------------------------------------------  ----------------------------------------------  ------
//	bedrockwatch_messaging_client_consumed_messages_total  messaging.client.consumed.messages ({message})  messaging_destination_name (topic), event_dataset,
//	                                                                                                       messaging_system="kafka", messaging_operation_name="poll"
//	bedrockwatch_dlq_messages_total                        dlq.messages ({message})                        reason
//	bedrockwatch_events_late_total                         events.late ({event})                           -
//	bedrockwatch_alerts_total                              alerts ({alert})                                rule, severity
//	bedrockwatch_messaging_process_duration_seconds        messaging.process.duration (s, histogram)       messaging_destination_name (topic),
//	                                                                                                       messaging_system="kafka", messaging_operation_name="process"
//	bedrockwatch_event_to_alert_duration_seconds           event_to_alert.duration (s, histogram)          rule
//	bedrockwatch_consumer_lag                              consumer.lag ({message}, gauge)                 messaging_destination_name, messaging_destination_partition_id
//	bedrockwatch_watermark_delay_seconds                   watermark.delay (s, gauge)                      messaging_destination_partition_id (events topic)
//	bedrockwatch_state_restore_remaining                   state.restore.remaining ({record}, gauge)       messaging_destination_partition_id (events topic)
//	bedrockwatch_state_size_bytes                          state.size (By, gauge)                          part="lsm" | "vlog"
//	bedrockwatch_transactions_total                        transactions ({transaction})                    outcome="committed" | "aborted"
//
// Histograms are exposed as _bucket{le=…}, _sum and _count series: the
// processing duration with the semantic conventions' buckets (5 ms … 10 s,
// ProcessBuckets), the event-to-alert latency from 100 ms to a day
// (EventToAlertBuckets).
package telemetry
