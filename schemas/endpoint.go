package schemas

import (
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// Endpoint process telemetry: ECS documents (Elastic Defend, Auditbeat;
// nested or flat dotted keys), OCSF Process Activity, Sysmon and Windows
// Security events as evtx-to-JSON, osquery results and CrowdStrike (FDR,
// Event Streams, Panther-normalised) events. A recognised endpoint event
// that is not a process event yields StatusFiltered.

// endpointShape is the producer format of an endpoint event.
type endpointShape uint8

const (
	notEndpoint endpointShape = iota
	shapeECS
	shapeOCSF
	shapeEvtx
	shapeOsquery
	shapeCrowdStrike
)

// endpointShapeOf recognises the format of an endpoint event, or returns
// notEndpoint.
func endpointShapeOf(v *fastjson.Value) endpointShape {
	switch {
	case v.GetObject("Event", "System") != nil:
		return shapeEvtx
	case v.Get("class_uid") != nil:
		return shapeOCSF
	case isECS(v):
		return shapeECS
	case isString(v.Get("name")) && v.GetObject("columns") != nil:
		return shapeOsquery
	case isCrowdStrike(v):
		return shapeCrowdStrike
	}
	return notEndpoint
}

// ecsPath is one ECS field, read from nested objects or from a flat dotted
// key, whichever the document uses.
type ecsPath struct {
	flat   string
	nested []string
}

// newECSPath returns the ecsPath of a dotted field name.
func newECSPath(flat string) ecsPath { return ecsPath{flat: flat, nested: strings.Split(flat, ".")} }

// get returns the field's value, or nil.
func (p ecsPath) get(v *fastjson.Value) *fastjson.Value {
	if x := v.Get(p.nested...); x != nil {
		return x
	}
	return v.Get(p.flat)
}

// str returns a copy of the field's string value, or "".
func (p ecsPath) str(v *fastjson.Value) string { return string(p.get(v).GetStringBytes()) }

var (
	ecsCommandLine   = newECSPath("process.command_line")
	ecsProcessName   = newECSPath("process.name")
	ecsExecutable    = newECSPath("process.executable")
	ecsUserName      = newECSPath("user.name")
	ecsHostName      = newECSPath("host.name")
	ecsHostHostname  = newECSPath("host.hostname")
	ecsEventID       = newECSPath("event.id")
	ecsEventAction   = newECSPath("event.action")
	ecsEventCategory = newECSPath("event.category")
)

// isECS reports whether v is an ECS document about a process or with an
// event category: a process object, a flat process.* key, or event.category.
func isECS(v *fastjson.Value) bool {
	return v.GetObject("process") != nil ||
		v.Get(ecsCommandLine.flat) != nil || v.Get(ecsProcessName.flat) != nil || v.Get(ecsExecutable.flat) != nil ||
		ecsEventCategory.get(v) != nil
}

// isCrowdStrike reports whether v is a CrowdStrike event: FDR and Falcon
// Data Replicator (event_simpleName, fdr_event_type), Event Streams
// (metadata.customerIDString, ExternalApiType), or anything with a customer
// id (cid).
func isCrowdStrike(v *fastjson.Value) bool {
	for _, k := range [...]string{"event_simpleName", "event_simplename", "fdr_event_type", "ExternalApiType", "cid"} {
		if v.Get(k) != nil {
			return true
		}
	}
	return v.Get("metadata", "customerIDString") != nil ||
		strings.HasPrefix(string(v.GetStringBytes("p_log_type")), "Crowdstrike.")
}

// processFields are the normalised fields of an endpoint process event.
type processFields struct {
	isProcess                bool
	id, action               string
	commandLine, processName string
	userName, hostName       string
	timestamp                time.Time
}

// decodeEndpoint normalises an endpoint event of the given shape (SPEC §3).
// A recognised event that is not a process event is filtered.
func (d *Decoder) decodeEndpoint(shape endpointShape, v *fastjson.Value, raw []byte, rc *recordCtx, yield func(Record)) {
	var f processFields
	switch shape {
	case shapeECS:
		f = ecsProcess(v)
	case shapeOCSF:
		f = ocsfProcess(v)
	case shapeEvtx:
		f = evtxProcess(v)
	case shapeOsquery:
		f = osqueryProcess(v)
	case shapeCrowdStrike:
		f = crowdStrikeProcess(v)
	}
	if !f.isProcess {
		yield(Record{Status: StatusFiltered, Source: SourceEndpoint})
		return
	}
	e := d.newEvent(DatasetEndpoint, raw, rc, f.timestamp)
	e.ID = f.id
	if e.ID == "" {
		e.ID = contentID(raw)
	}
	e.Category = "process"
	e.Action = f.action
	e.CommandLine = f.commandLine
	e.ProcessName = f.processName
	e.UserName = f.userName
	e.HostName = f.hostName
	yield(Record{Status: StatusEvent, Source: SourceEndpoint, Event: e})
}

// ecsProcess reads an ECS document. It is a process event when it has a
// command line or event.category holds "process" (a string or a list).
func ecsProcess(v *fastjson.Value) processFields {
	f := processFields{
		id:          textOf(ecsEventID.get(v)),
		action:      ecsEventAction.str(v),
		commandLine: ecsCommandLine.str(v),
		processName: ecsProcessName.str(v),
		userName:    ecsUserName.str(v),
		hostName:    ecsHostName.str(v),
	}
	if f.processName == "" {
		f.processName = baseName(ecsExecutable.str(v))
	}
	if f.hostName == "" {
		f.hostName = ecsHostHostname.str(v)
	}
	f.timestamp, _ = timeAt(v, "@timestamp")
	f.isProcess = f.commandLine != "" || categoryIsProcess(ecsEventCategory.get(v))
	return f
}

// categoryIsProcess reports whether an ECS event.category (a string or a
// list) holds "process".
func categoryIsProcess(c *fastjson.Value) bool {
	if c == nil {
		return false
	}
	if c.Type() == fastjson.TypeArray {
		for _, x := range c.GetArray() {
			if string(x.GetStringBytes()) == "process" {
				return true
			}
		}
		return false
	}
	return string(c.GetStringBytes()) == "process"
}

// ocsfClassProcessActivity is the OCSF class_uid of Process Activity.
const ocsfClassProcessActivity = 1007

// ocsfProcess reads an OCSF event; only Process Activity is a process event.
func ocsfProcess(v *fastjson.Value) processFields {
	class, _ := integerAt(v, "class_uid")
	f := processFields{
		isProcess:   class == ocsfClassProcessActivity,
		id:          textAt(v, "metadata", "uid"),
		commandLine: stringAt(v, "process", "cmd_line"),
		processName: stringAt(v, "process", "name"),
		userName:    stringAt(v, "actor", "user", "name"),
		hostName:    stringAt(v, "device", "hostname"),
		timestamp:   firstTimeAt(v, []string{"time"}, []string{"time_dt"}),
	}
	if f.processName == "" {
		f.processName = baseName(firstNonEmpty(stringAt(v, "process", "file", "path"), stringAt(v, "process", "file", "name")))
	}
	if f.userName == "" {
		f.userName = stringAt(v, "process", "user", "name")
	}
	if f.hostName == "" {
		f.hostName = stringAt(v, "device", "name")
	}
	return f
}

// evtxProcess reads a Windows event log record converted to JSON
// ({"Event":{"System":…,"EventData":…}}): Sysmon event 1 or Security event
// 4688 — any event whose EventData has a CommandLine — is a process event.
func evtxProcess(v *fastjson.Value) processFields {
	sys, data := v.Get("Event", "System"), v.Get("Event", "EventData")
	f := processFields{
		commandLine: stringAt(data, "CommandLine"),
		processName: baseName(firstNonEmpty(stringAt(data, "Image"), stringAt(data, "NewProcessName"))),
		userName:    firstNonEmpty(stringAt(data, "User"), stringAt(data, "SubjectUserName")),
		hostName:    stringAt(sys, "Computer"),
		id:          textAt(sys, "EventRecordID"),
		timestamp: firstTimeAt(v,
			[]string{"Event", "System", "TimeCreated", "#attributes", "SystemTime"},
			[]string{"Event", "System", "TimeCreated", "SystemTime"},
			[]string{"Event", "EventData", "UtcTime"}),
	}
	f.isProcess = f.commandLine != ""
	return f
}

// osqueryProcess reads an osquery result row ({"name","action","columns"}):
// shell_history (columns.command) and processes / process_events
// (columns.cmdline). A shell history row has no executable, so its process
// name is that of the command's first word.
func osqueryProcess(v *fastjson.Value) processFields {
	cols := v.Get("columns")
	f := processFields{
		commandLine: firstNonEmpty(stringAt(cols, "command"), stringAt(cols, "cmdline")),
		processName: firstNonEmpty(stringAt(cols, "name"), baseName(stringAt(cols, "path"))),
		userName:    firstNonEmpty(stringAt(cols, "username"), stringAt(cols, "user")),
		hostName:    firstNonEmpty(stringAt(v, "hostIdentifier"), stringAt(v, "decorations", "hostname")),
		timestamp:   firstTimeAt(v, []string{"unixTime"}, []string{"calendarTime"}, []string{"columns", "time"}),
	}
	if f.processName == "" {
		if word, _, _ := strings.Cut(strings.TrimSpace(f.commandLine), " "); word != "" {
			f.processName = baseName(word)
		}
	}
	f.isProcess = f.commandLine != ""
	return f
}

// crowdStrikeProcess reads a CrowdStrike event. Its fields sit at the top or,
// as Panther and Event Streams deliver them, under "event". Any event with a
// CommandLine (ProcessRollup2, SyntheticProcessRollup2, detection summaries)
// is a process event.
func crowdStrikeProcess(v *fastjson.Value) processFields {
	inner := v.Get("event")
	either := func(k string) string { return firstNonEmpty(stringAt(v, k), stringAt(inner, k)) }
	f := processFields{
		commandLine: either("CommandLine"),
		processName: baseName(firstNonEmpty(either("ImageFileName"), either("FileName"))),
		userName:    either("UserName"),
		hostName:    firstNonEmpty(either("ComputerName"), either("Hostname")),
		id:          firstNonEmpty(either("id"), either("EventUUID"), either("CompositeId")),
		timestamp: firstTimeAt(v,
			[]string{"timestamp"}, []string{"event", "timestamp"},
			[]string{"UTCTimestamp"}, []string{"event", "UTCTimestamp"},
			[]string{"p_event_time"}, []string{"metadata", "eventCreationTime"},
			[]string{"ProcessStartTime"}, []string{"event", "ProcessStartTime"}),
	}
	f.isProcess = f.commandLine != ""
	return f
}

// firstNonEmpty returns the first non-empty string of s, or "".
func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
