package schemas

import "testing"

// TestStrEveryByte: the eight-bytes-at-a-time string scan stops exactly
// where a byte-by-byte scan does, for every byte value at every position of
// two words and of the bytes after them, so the bit tricks flag no byte
// wrongly and miss none.
func TestStrEveryByte(t *testing.T) {
	naive := func(b []byte, i int) (int, bool) {
		for ; i < len(b); i++ {
			if b[i] == '"' || b[i] == '\\' || b[i] < 0x20 {
				return i, true
			}
		}
		return i, false
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			for _, fill := range []byte{'a', 0x7f, 0x80, 0xff, ' ', '!', '#', 0x21, 0x5b, 0x5d} {
				doc := []byte{'"'}
				for k := 0; k < 20; k++ {
					if k == pos {
						doc = append(doc, byte(c))
					} else {
						doc = append(doc, fill)
					}
				}
				doc = append(doc, '"')
				var s jsonIndexer
				s.b = doc
				stop, found := naive(doc, 1)
				end, _ := s.str(1)
				switch {
				case !found:
					t.Fatalf("no stop in %q", doc)
				case doc[stop] == '"':
					if end != stop+1 || s.failure != problemNone {
						t.Fatalf("byte %#x at %d, fill %#x: end %d (failure %d), want %d", c, pos, fill, end, s.failure, stop+1)
					}
				case doc[stop] < 0x20:
					if s.failure != problemSyntax || s.at != stop {
						t.Fatalf("byte %#x at %d, fill %#x: failure %d at %d, want a syntax error at %d", c, pos, fill, s.failure, s.at, stop)
					}
				case doc[stop] == '\\': // no fill byte makes an escape; the closing quote does
					if stop == len(doc)-2 && s.failure != problemTruncated || stop < len(doc)-2 && (s.failure != problemSyntax || s.at != stop) {
						t.Fatalf("byte %#x at %d, fill %#x: failure %d at %d, want a bad escape at %d", c, pos, fill, s.failure, s.at, stop)
					}
				}
			}
		}
	}
}
