package schemas

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEndpointFixtures decodes the team-written ECS and OCSF fixtures.
func TestEndpointFixtures(t *testing.T) {
	cases := []struct {
		file                           string
		id, cmd, name, user, host, act string
		time                           string
	}{
		{"ecs_aws_bedrock_delete_guardrail.json", "NqXq3Zx0ZkG+7v5b++++/Fzb", "aws bedrock delete-guardrail --guardrail-identifier abc", "aws", "ci", "build-runner-07", "exec", "2025-03-04T10:15:30.123Z"},
		{"ecs_flat_auditbeat.json", "flat-0001", "aws bedrock list-foundation-models --region us-east-1", "aws", "mallory", "dev-laptop", "process_started", "2025-03-04T11:00:00Z"},
		{"ocsf_process_activity.json", "ocsf-7c1e0b5e", "aws bedrock-runtime invoke-model --model-id anthropic.claude-3-haiku-20240307-v1:0 --body file://p.json out.json", "aws", "alice", "analyst-mbp", "", "2025-03-04T11:15:30.123Z"},
	}
	d, _ := NewDecoder(DefaultConfig())
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "endpoint", c.file))
			if err != nil {
				t.Fatal(err)
			}
			recs := decodeWith(d, data)
			if len(recs) != 1 || recs[0].Status != StatusEvent || recs[0].Source != SourceEndpoint {
				t.Fatalf("%v", outcomesOf(recs))
			}
			e := recs[0].Event
			got := []string{e.ID, e.CommandLine, e.ProcessName, e.UserName, e.HostName, e.Action, e.Timestamp.Format(time.RFC3339Nano), e.Category, e.Dataset}
			want := []string{c.id, c.cmd, c.name, c.user, c.host, c.act, c.time, "process", DatasetEndpoint}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			for field, v := range map[string]string{"process.command_line": c.cmd, "host.name": c.host, "user.name": c.user} {
				if g := FieldGetter(field)(e).Text(); g != v {
					t.Errorf("%s = %q", field, g)
				}
			}
		})
	}
	t.Run("raw fields stay reachable", func(t *testing.T) {
		data, _ := os.ReadFile("testdata/endpoint/ecs_aws_bedrock_delete_guardrail.json")
		e := decodeWith(d, data)[0].Event
		if got := FieldGetter("process.parent.name")(e).Text(); got != "bash" {
			t.Errorf("process.parent.name = %q", got)
		}
		flat, _ := os.ReadFile("testdata/endpoint/ecs_flat_auditbeat.json")
		if got := FieldGetter("event.type")(decodeWith(d, flat)[0].Event).Text(); got != "start" {
			t.Errorf("flat event.type = %q", got)
		}
	})
	t.Run("non-process ECS event is filtered", func(t *testing.T) {
		data, _ := os.ReadFile("testdata/endpoint/ecs_network_not_process.json")
		if got := outcomesOf(decodeWith(d, data)); len(got) != 1 || got[0] != (outcome{status: StatusFiltered, source: SourceEndpoint}) {
			t.Errorf("%v", got)
		}
	})
}

// TestEndpointShapes covers the recognition rules with small documents.
func TestEndpointShapes(t *testing.T) {
	filteredEP := outcome{status: StatusFiltered, source: SourceEndpoint}
	cases := []struct {
		name, doc string
		want      outcome
		cmd       string
	}{
		{"ecs category array without command line", `{"event":{"category":["process"],"type":["end"]},"process":{"name":"bash","pid":1}}`, event(SourceEndpoint, ""), ""},
		{"ecs command line without category", `{"process":{"command_line":"whoami"}}`, event(SourceEndpoint, ""), "whoami"},
		{"ecs other category", `{"event":{"category":"file"},"file":{"path":"/tmp/x"}}`, filteredEP, ""},
		{"minimal ocsf", `{"class_uid":1007,"process":{"cmd_line":"id"}}`, event(SourceEndpoint, ""), "id"},
		{"ocsf other class", `{"class_uid":4001,"metadata":{"uid":"n"},"src_endpoint":{"ip":"10.0.0.1"}}`, filteredEP, ""},
		{"sysmon network event", `{"Event":{"System":{"EventID":3,"Computer":"pc"},"EventData":{"DestinationIp":"10.0.0.1"}}}`, filteredEP, ""},
		{"windows security 4688", `{"Event":{"System":{"EventID":4688,"Computer":"pc","EventRecordID":77,"TimeCreated":{"#attributes":{"SystemTime":"2025-01-01T00:00:00.1Z"}}},"EventData":{"NewProcessName":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all","SubjectUserName":"bob"}}}`, event(SourceEndpoint, ""), "whoami /all"},
		{"crowdstrike non-process", `{"event_simpleName":"DnsRequest","aid":"a","cid":"c","DomainName":"example.com","timestamp":"1682368416719"}`, filteredEP, ""},
		{"crowdstrike process", `{"event_simpleName":"ProcessRollup2","aid":"a","cid":"c","CommandLine":"aws sts get-caller-identity","ImageFileName":"/usr/local/bin/aws","UserName":"eve","ComputerName":"mac1","timestamp":1682368416719,"id":"cs-1"}`, event(SourceEndpoint, ""), "aws sts get-caller-identity"},
		{"osquery without command", `{"name":"pack_users","action":"added","columns":{"username":"root"},"hostIdentifier":"h"}`, filteredEP, ""},
		{"osquery processes", `{"name":"processes","action":"added","columns":{"cmdline":"/usr/bin/aws s3 ls","path":"/usr/bin/aws","name":"aws"},"hostIdentifier":"h","unixTime":1741086930}`, event(SourceEndpoint, ""), "/usr/bin/aws s3 ls"},
	}
	d, _ := NewDecoder(DefaultConfig())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := decodeWith(d, []byte(c.doc))
			if got := outcomesOf(recs); len(got) != 1 || got[0] != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			if e := recs[0].Event; e != nil && (e.CommandLine != c.cmd || e.Category != "process") {
				t.Errorf("command line %q category %q", e.CommandLine, e.Category)
			}
		})
	}
	eventOf := func(name string) *Event {
		for _, c := range cases {
			if c.name == name {
				return decodeWith(d, []byte(c.doc))[0].Event
			}
		}
		t.Fatalf("no case %q", name)
		return nil
	}
	win := eventOf("windows security 4688")
	if win.ProcessName != "whoami.exe" || win.UserName != "bob" || win.HostName != "pc" || win.ID != "77" || win.Timestamp.Format(time.RFC3339Nano) != "2025-01-01T00:00:00.1Z" {
		t.Errorf("4688: %+v", win)
	}
	cs := eventOf("crowdstrike process")
	if cs.ProcessName != "aws" || cs.UserName != "eve" || cs.HostName != "mac1" || cs.ID != "cs-1" || cs.Timestamp.UnixMilli() != 1682368416719 {
		t.Errorf("crowdstrike: %+v", cs)
	}
	osq := eventOf("osquery processes")
	if osq.ProcessName != "aws" || osq.HostName != "h" || osq.Timestamp.Unix() != 1741086930 || !strings.HasPrefix(osq.ID, "h:") {
		t.Errorf("osquery: %+v", osq)
	}
}

// TestSysmonSigmaSamples decodes the 151 Sysmon process-creation events of
// the Sigma regression data (7 files hold several concatenated objects; each
// object is one message, as the file framing would deliver it).
func TestSysmonSigmaSamples(t *testing.T) {
	root := sample(t, "sigmahq-sigma/regression_data")
	d, _ := NewDecoder(DefaultConfig())
	events, multi := 0, 0
	err := filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		docs := sampleDocuments(t, path)
		if len(docs) > 1 {
			multi++
		}
		for i, doc := range docs {
			recs := decodeWith(d, doc)
			if len(recs) != 1 || recs[0].Status != StatusEvent {
				t.Fatalf("%s object %d: %v", path, i, outcomesOf(recs))
			}
			var raw struct {
				Event struct {
					System struct {
						Computer      string
						EventRecordID json.Number
						TimeCreated   struct {
							Attributes struct{ SystemTime string } `json:"#attributes"`
						}
					}
					EventData struct{ CommandLine, Image, User string }
				}
			}
			if err := json.Unmarshal(doc, &raw); err != nil {
				t.Fatal(err)
			}
			e, sys, data := recs[0].Event, raw.Event.System, raw.Event.EventData
			wantTime, _ := time.Parse(time.RFC3339Nano, sys.TimeCreated.Attributes.SystemTime)
			if e.CommandLine != data.CommandLine || e.ProcessName != baseName(data.Image) || e.UserName != data.User ||
				e.HostName != sys.Computer || e.ID != sys.EventRecordID.String() || !e.Timestamp.Equal(wantTime) || e.ProcessName == "" {
				t.Errorf("%s object %d: %+v", path, i, e)
			}
			events++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != 151 || multi != 7 {
		t.Errorf("%d events in %d multi-object files, want 151 in 7", events, multi)
	}
}

// TestPantherEndpointLogs decodes Panther's CrowdStrike and osquery rule-test
// events: all carry a command line, including the two AWS CLI invocations.
func TestPantherEndpointLogs(t *testing.T) {
	events := decodeLineEvents(t, "panther-analysis/derived/endpoint_rule_test_logs.ndjson")
	if len(events) != 66 {
		t.Fatalf("%d events, want 66", len(events))
	}
	var aws []string
	for i, e := range events {
		if e.CommandLine == "" || e.Category != "process" || e.Dataset != DatasetEndpoint {
			t.Errorf("event %d: %+v", i, e)
		}
		if strings.HasPrefix(e.CommandLine, "aws ") {
			aws = append(aws, e.CommandLine+" by "+e.UserName+" as "+e.ProcessName)
		}
	}
	if strings.Join(aws, "; ") != "aws sts get-caller-identity by ubuntu as aws; aws s3 ls by ubuntu as aws" {
		t.Errorf("AWS CLI events: %q", aws)
	}
	first := events[0]
	if first.ID != "b0c07877-f288-49f8-8cb3-150149a557b2" || first.ProcessName != "powershell.exe" || first.Timestamp.Format(time.RFC3339Nano) != "2023-04-24T20:33:36.719Z" {
		t.Errorf("first CrowdStrike event: %+v", first)
	}
}

// TestElasticDefendSample decodes the Elastic Defend process sample event.
func TestElasticDefendSample(t *testing.T) {
	data := readSample(t, "elastic-endpoint-package/package/endpoint/data_stream/process/sample_event.json")
	recs := decodeAll(t, DefaultConfig(), data)
	if len(recs) != 1 || recs[0].Status != StatusEvent {
		t.Fatalf("%v", outcomesOf(recs))
	}
	e := recs[0].Event
	if e.CommandLine != `C:\Windows\System32\svchost.exe -k WerSvcGroup` || e.ProcessName != "svchost.exe" || e.UserName != "SYSTEM" ||
		e.HostName != "data-viz-win-1" || e.ID != "MYfZG00oEwD2/fqT+++++CLz" || e.Action != "start" {
		t.Errorf("%+v", e)
	}
}
