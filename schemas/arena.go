package schemas

// textArena gathers the short strings of one Event (ids, names, ARNs,
// region…) and gives them one allocation between them: each is a substring
// of a single string made when the Event is complete. Decoding a Bedrock
// record fills a dozen such fields; one allocation instead of a dozen is a
// measurable part of decoding it (see BenchmarkDecodeBedrockRecord).
//
// The long texts of invocation logs (prompt, completion) are not gathered:
// a short field kept alone — an access key id as a map key, say — keeps its
// whole arena alive, which must stay a few hundred bytes.
type textArena struct {
	buf  []byte
	refs []textRef
}

// textRef is one queued string: buf[start:end] becomes *dst.
type textRef struct {
	dst        *string
	start, end int
}

// maxArenaRetained bounds the buffer a textArena keeps between Events.
const maxArenaRetained = 64 << 10

// set queues b (copied now) as the value of *dst. An empty b queues
// nothing: *dst keeps its value. A later set of the same dst wins.
func (a *textArena) set(dst *string, b []byte) {
	if len(b) == 0 {
		return
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	a.refs = append(a.refs, textRef{dst: dst, start: start, end: len(a.buf)})
}

// commit makes the strings queued since the last commit, in one allocation,
// and stores each in its destination.
func (a *textArena) commit() {
	if len(a.refs) > 0 {
		all := string(a.buf)
		for _, r := range a.refs {
			*r.dst = all[r.start:r.end]
		}
	}
	clear(a.refs) // drop the pointers into the Event
	a.refs = a.refs[:0]
	if cap(a.buf) > maxArenaRetained {
		a.buf = nil
	}
	a.buf = a.buf[:0]
}
