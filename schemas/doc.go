// Package schemas knows the shapes of bedrockwatch's inputs and outputs.
//
// Inputs: CloudTrail records in every envelope AWS and its shippers produce
// (bare, S3 log files, arrays, EventBridge, CloudWatch Logs subscriptions,
// LookupEvents rows), Bedrock model-invocation logs of every model family, and
// endpoint process events (ECS and OCSF). A Decoder turns one message into zero
// or more normalised Events, whose fields carry ECS names (SPEC §3) so that a
// rule written for Elastic reads the same here.
//
// Outputs: the alert data carried in a CloudEvent and its JSON Schema.
//
// The package imports neither Kafka nor Badger: a detection engineer can read
// and test it alone.
package schemas
