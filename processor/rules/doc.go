// Package rules reads detection rules: YAML files, one rule per file, each
// with its metadata (severity, risk score, ATT&CK / ATLAS / OWASP mappings),
// its condition in EQL and its own test cases.
//
// Load and LoadDir report every problem of every file at once, each with the
// file and line it comes from, so that `bedrockwatch rules validate` reads
// like a compiler. The built-in pack is embedded in the binary (Builtin);
// Merge lets a directory of custom rules add to it or override it by id.
//
// The package knows nothing of Kafka or of state storage: a rule is data, and
// the processor package runs it.
package rules
