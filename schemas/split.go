package schemas

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Document is one top-level JSON document of a file, or a stretch of text
// that is not JSON (Data then fails to decode and is reported as malformed).
type Document struct {
	Data []byte // nil when Oversized
	Line int    // 1-based line where the document starts
	// Oversized is set when the document is longer than the splitter's
	// limit; Size then says how long it was, and Data is nil.
	Oversized bool
	Size      int
}

// OpenMaybeGzip returns r, decompressed if it starts with the gzip magic
// bytes. Close the result when done (it does not close r).
func OpenMaybeGzip(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return io.NopCloser(br), nil
}

// SplitDocuments reads a stream of JSON documents — JSON lines, one document
// (pretty-printed or not), a CloudTrail log file, or documents simply
// concatenated — and calls fn for each, in order. Text between documents that
// is not JSON is passed on line by line, so the caller reports it with its
// line number; a document that is never closed is passed on as it is at the
// end of the stream. A document longer than max bytes is skipped without
// being buffered and passed on as Oversized.
//
// Whitespace-only lines are skipped. fn must not keep Data after it returns.
func SplitDocuments(r io.Reader, max int, fn func(Document) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	s := splitter{max: max, line: 1}
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			// Fast path: most inputs are JSON lines. A whole line that opens
			// and closes a document at depth 0 is passed on without looking
			// at every byte; the decoder will judge it.
			if !s.inDoc && !s.inText && (err == nil || errors.Is(err, io.EOF)) {
				if t := bytes.TrimSpace(line); len(t) >= 2 && closes(t[0], t[len(t)-1]) {
					s.start = s.line
					s.line++
					if len(t) > s.max {
						if ferr := fn(Document{Line: s.start, Oversized: true, Size: len(t)}); ferr != nil {
							return ferr
						}
					} else if ferr := fn(Document{Data: t, Line: s.start, Size: len(t)}); ferr != nil {
						return ferr
					}
					if err != nil {
						return s.finish(fn)
					}
					continue
				}
			}
			for _, b := range line {
				if ferr := s.feed(b, fn); ferr != nil {
					return ferr
				}
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return s.finish(fn)
		default:
			return err
		}
	}
}

// closes reports whether a line starting with open and ending with close
// looks like one whole JSON document.
func closes(open, close byte) bool {
	return open == '{' && close == '}' || open == '[' && close == ']'
}

type splitter struct {
	max  int
	line int

	buf       []byte
	start     int // line of the current document
	size      int
	inDoc     bool // inside a JSON object or array
	inText    bool // inside a line of non-JSON text
	depth     int
	inStr     bool
	esc       bool
	oversized bool
}

func (s *splitter) emit(fn func(Document) error) error {
	d := Document{Line: s.start, Size: s.size}
	if s.oversized {
		d.Oversized = true
	} else {
		d.Data = s.buf
	}
	err := fn(d)
	s.buf = s.buf[:0]
	s.size, s.inDoc, s.inText, s.depth, s.inStr, s.esc, s.oversized = 0, false, false, 0, false, false, false
	return err
}

func (s *splitter) add(b byte) {
	s.size++
	if s.oversized {
		return
	}
	if s.size > s.max {
		s.oversized = true
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, b)
}

func (s *splitter) feed(b byte, fn func(Document) error) error {
	defer func() {
		if b == '\n' {
			s.line++
		}
	}()
	switch {
	case s.inDoc:
		s.add(b)
		switch {
		case s.inStr:
			switch {
			case s.esc:
				s.esc = false
			case b == '\\':
				s.esc = true
			case b == '"':
				s.inStr = false
			}
		case b == '"':
			s.inStr = true
		case b == '{' || b == '[':
			s.depth++
		case b == '}' || b == ']':
			s.depth--
			if s.depth == 0 {
				return s.emit(fn)
			}
		}
		return nil
	case s.inText:
		if b == '\n' {
			return s.emit(fn)
		}
		s.add(b)
		return nil
	}
	switch b {
	case ' ', '\t', '\r', '\n', 0xEF, 0xBB, 0xBF: // whitespace, UTF-8 BOM
		return nil
	case '{', '[':
		s.inDoc, s.depth, s.start = true, 1, s.line
	default:
		s.inText, s.start = true, s.line
	}
	s.add(b)
	return nil
}

func (s *splitter) finish(fn func(Document) error) error {
	if !s.inDoc && !s.inText {
		return nil
	}
	if !s.oversized {
		s.buf = bytes.TrimRight(s.buf, " \t\r\n")
	}
	return s.emit(fn)
}
