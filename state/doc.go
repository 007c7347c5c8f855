// Package state keeps bedrockwatch's keyed state: sequence candidates,
// suppression periods, first-seen sets and baselines, under string keys.
//
// Two stores implement the processor's Store:
//
//   - Memory, a map with an ordered key index, for replay without
//     --state-dir and for tests;
//   - View, one partition's part of a Badger database (Badger, opened with
//     Open), for the service and `replay --state-dir`.
//
// # Layout
//
// One Badger database per process. Partition p's keys are the engine's keys
// below "p<p>/": "p3/q/<rule id>/<group>" (sequence candidates),
// "p3/s/<rule id>/<group>" (suppression periods), "p3/x/<deadline>/<key>"
// (the expiry index, in deadline order), "p3/m/engine" (the engine's clock),
// and "p3/_meta", the partition's Checkpoint. Dropping a partition is one
// DropPrefix.
//
// # Writes
//
// A View buffers changes in a WriteSet that its reads see through (Get and
// Scan see pending puts and deletes). WriteSet.Apply writes them to Badger
// in one WriteBatch, with the checkpoint last; WriteSet.Discard drops them.
// Replay lets the View apply every Options.FlushEvery changes; the service
// applies a poll batch's write set and checkpoint only after its Kafka
// transaction committed, so the store is never ahead of Kafka.
//
// This package imports only Badger and the standard library.
package state
