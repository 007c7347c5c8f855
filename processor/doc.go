// Package processor is the detection engine: normalised events in, alerts and
// state changes out.
//
// An Engine runs a rule set over the events of one partition (replay has one).
// It keeps all its state in a Store — sequence candidates, suppression
// periods, and an expiry index — so that the Kafka service can overlay the
// store with a write set, commit it with the alerts in one transaction and
// replicate it to a changelog, while replay uses plain memory or Badger.
//
// Time is event time. The engine's watermark is the highest event time seen
// minus the allowed lateness; state that no rule can use any more (older than
// the watermark minus the longest span) is expired by the watermark, and
// suppression periods close by it. Flush ends the stream: every open period
// closes and emits what it holds.
//
// The package imports neither Kafka nor Badger.
package processor
