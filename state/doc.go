// Package state keeps bedrockwatch's keyed state: sequence candidates,
// suppression periods, first-seen sets and baselines, under string keys.
//
// Memory is the store replay uses by default. The Badger-backed store (with
// partition-prefixed keys, checkpoints and changelog encoding) serves the
// Kafka service and `replay --state-dir`.
package state
