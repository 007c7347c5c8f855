package schemas

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

const elasticCloudTrail = "elastic-integrations/packages/aws/data_stream/cloudtrail/_dev/test/pipeline/"

// TestInvictusLogFiles decodes the 55 S3-delivered CloudTrail log files
// (2,900 records, none Bedrock): with the default filter every record is
// accounted for as filtered; with every provider wanted, each is an event
// whose outcome and identity type match the raw record.
func TestInvictusLogFiles(t *testing.T) {
	files := sampleGlob(t, "invictus-ir-aws_dataset/CloudTrail/*.json")
	if len(files) != 55 {
		t.Fatalf("%d files, want 55", len(files))
	}
	filter, _ := NewDecoder(DefaultConfig())
	all, _ := NewDecoder(allProviders())
	var filtered, events, failures, untyped, wantFailures, wantUntyped int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range decodeWith(filter, data) {
			switch r.Status {
			case StatusFiltered:
				filtered++
			case StatusEvent:
				events++
			default:
				t.Errorf("%s: %v %v", f, r.Status, r.Err)
			}
		}
		recs := decodeWith(all, data)
		var raw struct {
			Records []struct {
				ErrorCode    string `json:"errorCode"`
				UserIdentity struct {
					Type *string `json:"type"`
				} `json:"userIdentity"`
			}
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(raw.Records) {
			t.Fatalf("%s: %d records decoded, file has %d", f, len(recs), len(raw.Records))
		}
		for i, r := range recs {
			e := r.Event
			if r.Status != StatusEvent || e.Dataset != DatasetCloudTrail || e.Origin.Index != i || e.Timestamp.IsZero() || e.ID == "" {
				t.Fatalf("%s record %d: %v %+v", f, i, r.Status, e)
			}
			if e.Outcome == "failure" {
				failures++
			}
			if e.IdentityType == "" {
				untyped++
			}
			if raw.Records[i].ErrorCode != "" {
				wantFailures++
			}
			if raw.Records[i].UserIdentity.Type == nil {
				wantUntyped++
			}
		}
	}
	if filtered+events != 2900 || events != 0 {
		t.Errorf("default filter: %d filtered + %d events, want 2900 + 0", filtered, events)
	}
	if failures != wantFailures || failures != 300 {
		t.Errorf("%d failures, raw records have %d errorCodes (want 300)", failures, wantFailures)
	}
	if untyped != wantUntyped || untyped < 42 {
		t.Errorf("%d events without identity type, raw records have %d without userIdentity.type", untyped, wantUntyped)
	}
}

// TestStratusBedrockInvokeModel decodes the Stratus Red Team Bedrock
// detonation (a pretty-printed JSON array) with the default filter.
func TestStratusBedrockInvokeModel(t *testing.T) {
	data := readSample(t, "stratus-red-team/docs/detonation-logs/aws.impact.bedrock-invoke-model.json")
	recs := decodeAll(t, DefaultConfig(), data)
	if len(recs) != 15 {
		t.Fatalf("%d records, want 15", len(recs))
	}
	actions := map[string]int{}
	for i, r := range recs {
		e := r.Event
		if r.Status != StatusEvent {
			t.Fatalf("record %d: %v %v", i, r.Status, r.Err)
		}
		actions[e.Action]++
		if !strings.HasPrefix(e.AccessKeyID, "ASIA") || e.IdentityType != "AssumedRole" || e.Provider != BedrockProvider {
			t.Errorf("record %d: key %q type %q provider %q", i, e.AccessKeyID, e.IdentityType, e.Provider)
		}
		if e.SourceIP != "035.249.253.232" {
			t.Errorf("record %d: source ip %q, want the leading zeros kept", i, e.SourceIP)
		}
		if e.UserName != "test-role" || e.SessionIssuerARN != "arn:aws:iam::494659789341:role/test-role" || e.UserID != "arn:aws:sts::494659789341:assumed-role/test-role/cli" {
			t.Errorf("record %d: user %q issuer %q id %q", i, e.UserName, e.SessionIssuerARN, e.UserID)
		}
		if e.AccountID != "494659789341" || e.Outcome != "success" || !strings.HasPrefix(e.UserAgent, "stratus-red-team_") {
			t.Errorf("record %d: account %q outcome %q agent %q", i, e.AccountID, e.Outcome, e.UserAgent)
		}
		if e.Action == "InvokeModel" && e.ModelID != "anthropic.claude-3-sonnet-20240229-v1:0" {
			t.Errorf("InvokeModel model id %q", e.ModelID)
		}
		if !json.Valid(e.Raw) || !strings.Contains(string(e.Raw), `"`+e.ID+`"`) {
			t.Errorf("record %d: raw is not the record's JSON", i)
		}
	}
	want := map[string]int{"GetFoundationModelAvailability": 10, "PutUseCaseForModelAccess": 1, "ListFoundationModelAgreementOffers": 1,
		"CreateFoundationModelAgreement": 1, "PutFoundationModelEntitlement": 1, "InvokeModel": 1}
	for k, n := range want {
		if actions[k] != n {
			t.Errorf("%s × %d, want %d (all: %v)", k, actions[k], n, actions)
		}
	}
}

// TestStratusAllDetonations decodes all 35 Stratus arrays (310 records): all
// are events with every provider wanted, and every source IP is kept exactly
// as written (107 have leading zeros).
func TestStratusAllDetonations(t *testing.T) {
	d, _ := NewDecoder(allProviders())
	total, leadingZero := 0, 0
	for _, f := range sampleGlob(t, "stratus-red-team/docs/detonation-logs/*.json") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var raw []struct {
			SourceIPAddress string `json:"sourceIPAddress"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		recs := decodeWith(d, data)
		if len(recs) != len(raw) {
			t.Fatalf("%s: %d records, want %d", f, len(recs), len(raw))
		}
		for i, r := range recs {
			if r.Status != StatusEvent {
				t.Fatalf("%s record %d: %v %v", f, i, r.Status, r.Err)
			}
			if r.Event.SourceIP != raw[i].SourceIPAddress {
				t.Errorf("%s record %d: source ip %q, want %q", f, i, r.Event.SourceIP, raw[i].SourceIPAddress)
			}
			if hasLeadingZeroOctet(r.Event.SourceIP) {
				leadingZero++
			}
		}
		total += len(recs)
	}
	if total != 310 || leadingZero != 107 {
		t.Errorf("%d records, %d leading-zero IPs; want 310, 107", total, leadingZero)
	}
}

// hasLeadingZeroOctet reports whether a dotted quad has an octet written with
// a leading zero ("035.249.253.232"), which net/netip rejects.
func hasLeadingZeroOctet(ip string) bool {
	for _, octet := range strings.Split(ip, ".") {
		if len(octet) > 1 && octet[0] == '0' {
			return true
		}
	}
	return false
}

// TestLogstashShapedRecords: the OTRF records have no eventTime; @timestamp
// is the event time.
func TestLogstashShapedRecords(t *testing.T) {
	rel := "OTRF-Security-Datasets/datasets/atomic/aws/collection/ec2_proxy_s3_exfiltration_2020-09-14011940.json"
	events := decodeLineEvents(t, rel)
	if len(events) != 103 {
		t.Fatalf("%d events, want 103", len(events))
	}
	for i, line := range sampleLines(t, rel) {
		var raw struct {
			Timestamp string `json:"@timestamp"`
			EventTime string `json:"eventTime"`
		}
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatal(err)
		}
		want, err := time.Parse(time.RFC3339Nano, raw.Timestamp)
		if raw.EventTime != "" || err != nil {
			t.Fatalf("line %d: eventTime %q, @timestamp %q", i+1, raw.EventTime, raw.Timestamp)
		}
		if !events[i].Timestamp.Equal(want) || events[i].Timestamp.Location() != time.UTC {
			t.Errorf("line %d: timestamp %v, want %v", i+1, events[i].Timestamp, want)
		}
	}
}

// TestLookupEventsRows decodes the plaso Event history export: the record is
// the CloudTrailEvent string.
func TestLookupEventsRows(t *testing.T) {
	rel := "plaso/test_data/jsonl/aws_cloudtrail.jsonl"
	events := decodeLineEvents(t, rel)
	for i, line := range sampleLines(t, rel) {
		var row struct{ EventName, EventId, CloudTrailEvent, AccessKeyId, Username string }
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatal(err)
		}
		e := events[i]
		if e.Action != row.EventName || e.ID != row.EventId || string(e.Raw) != row.CloudTrailEvent {
			t.Errorf("row %d: action %q id %q raw %.40q", i, e.Action, e.ID, e.Raw)
		}
		if e.AccessKeyID != row.AccessKeyId || e.UserName != row.Username || e.Region != "ap-southeast-2" {
			t.Errorf("row %d: key %q user %q region %q", i, e.AccessKeyID, e.UserName, e.Region)
		}
	}
	if len(events) != 6 {
		t.Errorf("%d rows, want 6", len(events))
	}
}

// TestCloudWatchSample decodes the OpenTelemetry CloudWatch Logs sample,
// plain and gzip-compressed as AWS delivers it.
func TestCloudWatchSample(t *testing.T) {
	data := readSample(t, "otel-collector-contrib/extension/encoding/awslogsencodingextension/internal/unmarshaler/cloudtraillog/testdata/cloudtrail_log_cw.json")
	for name, msg := range map[string][]byte{"plain": data, "gzip": gzipped(t, data)} {
		recs := decodeAll(t, allProviders(), msg)
		if len(recs) != 1 || recs[0].Status != StatusEvent {
			t.Fatalf("%s: %v", name, outcomesOf(recs))
		}
		e := recs[0].Event
		if e.Action != "PutObject" || e.Provider != "s3.amazonaws.com" || e.IdentityType != "AWSService" || e.EventCategory != "Data" ||
			e.AccountID != "627286350134" || e.Timestamp.Format(time.RFC3339) != "2026-01-28T09:26:59Z" {
			t.Errorf("%s: %+v", name, e)
		}
		if got := FieldGetter("aws.cloudtrail.request_parameters.bucketName")(e).Text(); got != "elastic-sar-bucket-fe44ff52c91b2efa4bccb8e07c85a202" {
			t.Errorf("%s: request_parameters.bucketName = %q", name, got)
		}
		if got := outcomesOf(decodeAll(t, DefaultConfig(), msg)); got[0] != filteredCT {
			t.Errorf("%s with the default filter: %v", name, got)
		}
	}
}

func TestDigestIsSkipped(t *testing.T) {
	data := readSample(t, elasticCloudTrail+"test-cloudtrail-digest-json.log")
	for _, cfg := range []Config{DefaultConfig(), allProviders()} {
		if got := outcomesOf(decodeAll(t, cfg, data)); len(got) != 1 || got[0] != skippedCT {
			t.Errorf("digest: %v", got)
		}
	}
}

// TestElasticConverseExpected compares the Elastic Converse sample with the
// values Elastic's own pipeline produces for it (its -expected.json), read
// through the rule field accessors.
func TestElasticConverseExpected(t *testing.T) {
	events := decodeLineEvents(t, elasticCloudTrail+"test-converse-json.log")
	var expected struct {
		Expected []map[string]any `json:"expected"`
	}
	if err := json.Unmarshal(readSample(t, elasticCloudTrail+"test-converse-json.log-expected.json"), &expected); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || len(expected.Expected) != 1 {
		t.Fatalf("%d events, %d expected", len(events), len(expected.Expected))
	}
	e, want := events[0], expected.Expected[0]
	for _, field := range []string{
		"event.action", "event.outcome", "event.provider", "event.id",
		"aws.cloudtrail.user_identity.access_key_id", "aws.cloudtrail.user_identity.arn", "aws.cloudtrail.user_identity.type",
		"aws.cloudtrail.user_identity.session_context.session_issuer.arn", "aws.cloudtrail.event_category",
		"cloud.account.id", "cloud.region", "source.ip", "user_agent.original", "user.name",
	} {
		w := walkAny(want, strings.Split(field, "."))
		if w == nil {
			t.Fatalf("expected file has no %s", field)
		}
		if got := FieldGetter(field)(e).Text(); got != w {
			t.Errorf("%s = %q, Elastic has %q", field, got, w)
		}
	}
	wantTime, _ := time.Parse(time.RFC3339Nano, want["@timestamp"].(string))
	if !e.Timestamp.Equal(wantTime) {
		t.Errorf("@timestamp = %v, Elastic has %v", e.Timestamp, wantTime)
	}
	targets := walkAny(want, []string{"entity", "target", "id"}).([]any)
	if got := FieldGetter("gen_ai.request.model.id")(e).Text(); got != targets[0] {
		t.Errorf("model id = %q, Elastic's entity.target.id = %v", got, targets)
	}
}

// TestElasticConsoleLoginExpected: failed console sign-ins carry no
// errorCode; their outcome follows responseElements.ConsoleLogin, as in
// Elastic's expected output.
func TestElasticConsoleLoginExpected(t *testing.T) {
	events := decodeLineEvents(t, elasticCloudTrail+"test-console-login-json.log")
	var expected struct {
		Expected []map[string]any `json:"expected"`
	}
	if err := json.Unmarshal(readSample(t, elasticCloudTrail+"test-console-login-json.log-expected.json"), &expected); err != nil {
		t.Fatal(err)
	}
	if len(events) != len(expected.Expected) {
		t.Fatalf("%d events, %d expected", len(events), len(expected.Expected))
	}
	for i, e := range events {
		for _, field := range []string{"event.outcome", "event.action", "user.name"} {
			if got, w := FieldGetter(field)(e).Text(), walkAny(expected.Expected[i], strings.Split(field, ".")); got != w {
				t.Errorf("record %d: %s = %q, Elastic has %q", i, field, got, w)
			}
		}
	}
}

// TestElasticOddRecords: every Elastic CloudTrail input decodes, and the
// oddities are kept as given.
func TestElasticOddRecords(t *testing.T) {
	tls := decodeLineEvents(t, elasticCloudTrail+"test-tls-details-json.log")
	if e := tls[1]; e.SourceIP != "81.2.69.142, 192.168.10.10" || e.ErrorCode != "200" || e.Outcome != "failure" || e.IdentityType != "SAMLUser" {
		t.Errorf("tls-details record 2: ip %q errorCode %q outcome %q type %q", e.SourceIP, e.ErrorCode, e.Outcome, e.IdentityType)
	}
	auth := decodeLineEvents(t, elasticCloudTrail+"test-user-authentication.log")[0]
	if auth.IdentityType != "IdentityCenterUser" || auth.IdentityARN != "" || auth.AccessKeyID != "" || auth.AccountID != "redacted" || auth.SourceIP != "redacted" {
		t.Errorf("user-authentication: %+v", auth)
	}
	gov := decodeLineEvents(t, elasticCloudTrail+"test-us-gov-arn.log")[0]
	if !strings.HasPrefix(gov.IdentityARN, "arn:aws-us-gov:") || !strings.HasPrefix(gov.AccessKeyID, "ASIA") {
		t.Errorf("us-gov: arn %q key %q", gov.IdentityARN, gov.AccessKeyID)
	}
	for _, f := range sampleGlob(t, elasticCloudTrail+"*.log") {
		if strings.HasSuffix(f, "digest-json.log") {
			continue
		}
		for _, e := range decodeLineEvents(t, strings.TrimPrefix(f, sharedTestdata+"/")) {
			if e.Timestamp.IsZero() || e.Action == "" || e.Provider == "" {
				t.Errorf("%s: %+v", f, e)
			}
		}
	}
}

// TestEventBridgeFixture decodes the team-written EventBridge envelope: the
// record is the detail, its own eventTime wins over the envelope time, and
// request parameters stay reachable by path.
func TestEventBridgeFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/cloudtrail/eventbridge_bedrock_delete_guardrail.json")
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeAll(t, DefaultConfig(), data)
	if len(recs) != 1 || recs[0].Status != StatusEvent {
		t.Fatalf("%v", outcomesOf(recs))
	}
	e := recs[0].Event
	checks := map[string]string{
		"event.action":        "DeleteGuardrail",
		"event.provider":      BedrockProvider,
		"event.outcome":       "success",
		"event.id":            "9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9",
		"user.name":           "ci-deployer",
		"user.id":             "arn:aws:sts::111122223333:assumed-role/ci-deployer/ci",
		"cloud.account.id":    "111122223333",
		"data_stream.dataset": DatasetCloudTrail,
		"@timestamp":          "2025-03-04T10:15:31.000Z",
		"aws.cloudtrail.user_identity.access_key_id":                      "ASIAEXAMPLEKEY000001",
		"aws.cloudtrail.user_identity.session_context.session_issuer.arn": "arn:aws:iam::111122223333:role/ci-deployer",
		"aws.cloudtrail.request_parameters.guardrailIdentifier":           "abc",
		"aws.cloudtrail.user_agent":                                       "aws-cli/2.15.30 md/command#bedrock.delete-guardrail",
	}
	for field, want := range checks {
		if got := FieldGetter(field)(e).Text(); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
}

// TestPantherCloudTrailLogs decodes Panther's rule-test CloudTrail logs: the
// 451 with CloudTrail keys are events; the rest (lower-cased Snowflake
// exports and fragments without eventSource) are of unknown shape.
func TestPantherCloudTrailLogs(t *testing.T) {
	d, _ := NewDecoder(allProviders())
	counts := map[outcome]int{}
	bedrock := map[string]int{}
	for _, line := range sampleLines(t, "panther-analysis/derived/cloudtrail_rule_test_logs.ndjson") {
		for _, r := range decodeWith(d, line) {
			o := outcomesOf([]Record{r})[0]
			o.action = ""
			counts[o]++
			if r.Event != nil && r.Event.Provider == BedrockProvider {
				bedrock[r.Event.Action]++
			}
		}
	}
	if counts[outcome{status: StatusEvent, source: SourceCloudTrail}] != 451 || counts[bad(SourceUnknown, ReasonUnknownShape)] != 10 || len(counts) != 2 {
		t.Errorf("outcomes %v", counts)
	}
	if bedrock["DeleteGuardrail"] != 1 || bedrock["UpdateGuardrail"] != 1 || bedrock["DeleteModelInvocationLoggingConfiguration"] != 1 || bedrock["ListGuardrails"] != 2 {
		t.Errorf("bedrock actions %v", bedrock)
	}
}
