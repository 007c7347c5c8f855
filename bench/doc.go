// Package bench measures bedrockwatch on generated traffic: a deterministic
// generator of CloudTrail records, Bedrock model-invocation logs and endpoint
// process events with LLMjacking attacks injected at known points; the
// expected alerts of that traffic, computed by running the real engine over
// it as replay does; helpers that write the traffic to Kafka fast or at a
// steady rate; and the raw consume ceiling, a consumer group that reads and
// discards, against which the service's throughput is stated as a ratio.
//
// Everything the generator emits follows from its Mix and seed: the same
// Mix and seed give the same records, byte for byte, in the same order, so
// the expected alerts of traffic written to Kafka can be computed again
// later by generating it a second time instead of keeping it.
//
// `bedrockwatch bench` (cmd/bedrockwatch/bench.go) drives the package; the
// numbers it prints are what the README's Performance section quotes.
//
// Files:
//
//	mix.go        Mix: what the traffic is made of, its defaults and Validate
//	generator.go  Generator: Next returns one record; attack scheduling
//	cloudtrail.go CloudTrail records of many services, Bedrock's among them
//	invocation.go Bedrock model-invocation log records with realistic prompts
//	endpoint.go   ECS endpoint process events, some running `aws bedrock …`
//	text.go       the fast JSON and text building blocks the others share
//	expect.go     Expect: the alerts the real engine raises on the traffic
//	produce.go    Produce: write records to Kafka, as fast as possible or paced
//	ceiling.go    Ceiling: the raw group-consume rate of the same topics
//	proc.go       CPU time, peak RSS and directory sizes of this process
package bench
