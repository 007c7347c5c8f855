package schemas

import (
	"strings"
	"testing"
	"time"
)

// TestParseUTCStampAgreesWithTimeParse: the allocation-free timestamp parser
// accepts only what time.Parse(RFC3339Nano) accepts, and gives the same
// instant.
func TestParseUTCStampAgreesWithTimeParse(t *testing.T) {
	for _, s := range parseStampCases() {
		checkUTCStamp(t, s)
	}
}

func parseStampCases() []string {
	cases := []string{
		"2026-05-07T19:43:51Z", "2021-08-17T12:00:00.123Z", "2024-02-29T23:59:59.999999999Z",
		"2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z",
		"2024-01-00T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z",
		"2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z", "2024-01-01T00:00:00,5Z",
		"2024-01-01t00:00:00Z", "2024-01-01T00:00:00z", "2024-01-01T00:00:00+00:00", "0000-01-01T00:00:00Z",
		"+024-01-01T00:00:00Z", "2024-1-01T00:00:00Z", " 2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z ",
		"2024-01-01T00:00:0aZ", "2024-01-01T00:00:00.-1Z", "9999-12-31T23:59:59.9Z", "2100-02-29T00:00:00Z",
		"2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
	}
	// Every one-byte change of a valid stamp.
	base := "2024-02-29T23:59:59.5Z"
	for i := range base {
		for _, c := range "09-:.TZ x/" {
			cases = append(cases, base[:i]+string(c)+base[i+1:])
		}
	}
	return cases
}

func checkUTCStamp(t *testing.T, s string) {
	t.Helper()
	got, ok := parseUTCStamp([]byte(s))
	want, err := time.Parse(time.RFC3339Nano, s)
	if !ok {
		return // the general path decides
	}
	if err != nil {
		t.Fatalf("%q: fast path accepts what time.Parse rejects (%v)", s, err)
	}
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("%q: fast path %v, time.Parse %v", s, got, want)
	}
	if !strings.HasSuffix(s, "Z") {
		t.Fatalf("%q: accepted without Z", s)
	}
}

// FuzzParseUTCStamp: go test -fuzz FuzzParseUTCStamp ./schemas
func FuzzParseUTCStamp(f *testing.F) {
	for _, s := range parseStampCases() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkUTCStamp(t, s) })
}

// TestParseUTCStampCoversTheCommonForms: the forms CloudTrail and invocation
// logs write take the fast path.
func TestParseUTCStampCoversTheCommonForms(t *testing.T) {
	for _, s := range []string{"2026-05-07T19:43:51Z", "2021-08-17T12:00:00.123Z", "2024-02-29T23:59:59.999999999Z"} {
		if _, ok := parseUTCStamp([]byte(s)); !ok {
			t.Errorf("%q takes the slow path", s)
		}
	}
}

// TestTextArena: strings queued in an arena land in their fields, later sets
// win, empty values leave a field alone, and the arena keeps no pointer
// into the last Event.
func TestTextArena(t *testing.T) {
	var a textArena
	var e Event
	e.Region = "kept"
	a.set(&e.Action, []byte("InvokeModel"))
	a.set(&e.Region, nil)
	a.set(&e.UserName, []byte("alice"))
	a.set(&e.UserName, []byte("bob"))
	src := []byte("us-east-1")
	a.set(&e.AccountID, src)
	src[0] = 'X' // set copied it
	a.commit()
	if e.Action != "InvokeModel" || e.Region != "kept" || e.UserName != "bob" || e.AccountID != "us-east-1" {
		t.Fatalf("got %+v", e)
	}
	if len(a.refs) != 0 || len(a.buf) != 0 {
		t.Fatal("arena not reset")
	}
	for _, r := range a.refs[:cap(a.refs)] {
		if r.dst != nil {
			t.Fatal("arena keeps a pointer into the last Event")
		}
	}
	a.commit() // nothing queued: nothing changes
	if e.Action != "InvokeModel" {
		t.Fatal("empty commit changed a field")
	}
}
