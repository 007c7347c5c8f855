package processor

import (
	"os"
	"runtime/debug"
)

// ReplayGCPercent is the garbage collector's heap growth target during a
// replay when the GOGC environment variable does not set one: 400 instead of
// Go's 100. A replay is a batch job whose live heap is small — the decoder's
// buffers and the rules' state — while every event it decodes is garbage a
// moment later, so at Go's default the collector runs hundreds of times a
// second and its write barriers slow the JSON parser while it marks. A
// five-fold heap target costs little memory and saves about a fifth of the
// CPU of decoding invocation logs (see README "Performance").
const ReplayGCPercent = 400

// TuneGCForReplay sets ReplayGCPercent unless GOGC is set, and returns a
// function that restores the previous setting.
func TuneGCForReplay() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(ReplayGCPercent)
	return func() { debug.SetGCPercent(old) }
}
