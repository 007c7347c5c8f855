package bench

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// The building blocks below append to a byte slice without allocating, so
// that the generator stays far faster than the Kafka client it feeds.

const hexDigits = "0123456789abcdef"

// appendUUID appends a random version-4 UUID in its 36-character form.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12 // version 4
	lo = lo&^(0x3<<62) | 2<<62 // variant 10
	var u [16]byte
	for i := range 8 {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// appendHex appends n random lower-case hex digits.
func appendHex(b []byte, r *rand.Rand, n int) []byte {
	for n > 0 {
		v := r.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[v&0xf])
			v >>= 4
			n--
		}
	}
	return b
}

const base32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// appendBase32 appends n characters of AWS-style upper-case base32 derived
// from h (n ≤ 12) and, past 12, from mix(h).
func appendBase32(b []byte, h uint64, n int) []byte {
	for i := 0; i < n; i++ {
		if i == 12 {
			h = mix64(h)
		}
		b = append(b, base32Upper[h&31])
		h >>= 5
	}
	return b
}

// mix64 is splitmix64's finaliser: a cheap, good 64-bit hash.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// appendIP appends an IPv4 address made from h; public-looking unless
// private.
func appendIP(b []byte, h uint64, private bool) []byte {
	a := byte(h)
	if private {
		b = append(b, "10."...)
	} else {
		// keep clear of 0, 10, 127 and the multicast/reserved ranges
		a = 11 + a%(223-11)
		if a == 127 {
			a = 128
		}
		b = strconv.AppendUint(b, uint64(a), 10)
		b = append(b, '.')
	}
	b = strconv.AppendUint(b, uint64(byte(h>>8)), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(byte(h>>16)), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(1+byte(h>>24)%254), 10)
	return b
}

// timeCache formats times, reusing the text of the last seconds seen: the
// traffic's clock moves a second every EventRate records.
type timeCache struct {
	sec  [8]int64
	text [8][20]byte
}

// appendSeconds appends t as 2006-01-02T15:04:05Z.
func (c *timeCache) appendSeconds(b []byte, t time.Time) []byte {
	s := t.Unix()
	i := s & 7
	if c.sec[i] != s || c.text[i][0] == 0 {
		c.sec[i] = s
		t.UTC().AppendFormat(c.text[i][:0], "2006-01-02T15:04:05Z")
	}
	return append(b, c.text[i][:]...)
}

// appendMillis appends t as 2006-01-02T15:04:05.000Z.
func (c *timeCache) appendMillis(b []byte, t time.Time) []byte {
	b = c.appendSeconds(b, t)
	b = b[:len(b)-1]
	ms := t.Nanosecond() / 1e6
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return b
}

// appendJSONString appends s as a JSON string; s holds no character that
// needs escaping (every name the generator uses is plain).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// words is a vocabulary of ordinary technical English for prompts and
// completions. It deliberately holds none of the words the prompt rules look
// for (instruction-override phrases, jailbreak terms, credential prefixes),
// so background prompts raise no alerts.
var words = []string{
	"the", "a", "of", "and", "to", "in", "is", "for", "that", "with", "on", "as", "this", "by", "be", "are",
	"from", "it", "or", "an", "at", "we", "can", "which", "our", "you", "please", "summarize", "explain",
	"write", "review", "function", "service", "customer", "order", "invoice", "report", "quarterly", "revenue",
	"table", "query", "database", "latency", "request", "response", "cluster", "deployment", "pipeline",
	"kubernetes", "container", "image", "build", "test", "unit", "integration", "error", "exception", "log",
	"metric", "dashboard", "alert", "threshold", "capacity", "storage", "bucket", "object", "region", "zone",
	"network", "subnet", "gateway", "balancer", "certificate", "domain", "record", "cache", "index", "shard",
	"partition", "replica", "leader", "follower", "commit", "offset", "consumer", "producer", "topic", "stream",
	"window", "aggregate", "join", "filter", "map", "reduce", "schema", "field", "value", "type", "string",
	"number", "boolean", "array", "list", "set", "key", "document", "paragraph", "sentence", "translate",
	"french", "german", "spanish", "english", "meeting", "notes", "action", "items", "owner", "deadline",
	"product", "feature", "release", "roadmap", "priority", "risk", "mitigation", "budget", "forecast",
	"analysis", "trend", "growth", "decline", "support", "ticket", "escalation", "resolution", "contract",
	"clause", "liability", "warranty", "policy", "procedure", "onboarding", "benefits", "payroll",
	"recipe", "ingredients", "travel", "itinerary", "hotel", "flight", "weather", "temperature", "forecasting",
	"python", "golang", "javascript", "typescript", "rust", "java", "class", "method", "interface", "struct",
	"variable", "loop", "condition", "return", "import", "package", "module", "library", "dependency", "version",
	"upgrade", "migration", "refactor", "performance", "memory", "allocation", "garbage", "collector", "thread",
	"goroutine", "channel", "mutex", "lock", "deadlock", "race", "condition", "retry", "backoff", "timeout",
	"context", "cancel", "signal", "graceful", "shutdown", "health", "check", "probe", "readiness", "liveness",
	"customer's", "team", "engineering", "marketing", "sales", "finance", "legal", "design", "research",
	"experiment", "hypothesis", "result", "conclusion", "summary", "abstract", "introduction", "method", "data",
	"chart", "graph", "axis", "label", "legend", "color", "font", "layout", "page", "section", "chapter",
	"draft", "email", "reply", "thanks", "regards", "question", "answer", "example", "detail", "step",
}

// buildCorpus returns n bytes of sentences made of words, JSON-safe (no
// quotes or backslashes; paragraphs are separated by the two characters
// \n as they appear inside a JSON string).
func buildCorpus(r *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+64)
	sentence := 0
	for len(b) < n {
		w := words[r.IntN(len(words))]
		if sentence == 0 && len(w) > 0 {
			b = append(b, w[0]-'a'+'A')
			b = append(b, w[1:]...)
		} else {
			b = append(b, w...)
		}
		sentence++
		switch {
		case sentence > 6 && r.IntN(8) == 0:
			b = append(b, '.')
			sentence = 0
			if r.IntN(6) == 0 {
				b = append(b, `\n\n`...)
			} else {
				b = append(b, ' ')
			}
		case r.IntN(12) == 0:
			b = append(b, ", "...)
		default:
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// appendCorpus appends about n bytes of the corpus from random places,
// never ending a piece on the backslash of a \n escape.
func appendCorpus(b []byte, corpus []byte, r *rand.Rand, n int) []byte {
	for n > 0 {
		off := r.IntN(len(corpus))
		m := min(n, len(corpus)-off)
		chunk := corpus[off : off+m]
		// A chunk may start with the n of a \n (harmless text) but must
		// not end with its backslash, which would escape the closing quote.
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\\' {
			chunk = chunk[:len(chunk)-1]
			if len(chunk) == 0 {
				continue
			}
		}
		b = append(b, chunk...)
		n -= len(chunk)
	}
	return b
}
