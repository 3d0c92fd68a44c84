package config

import (
	"strconv"
	"strings"
)

// keyLines maps every key and table header of a TOML document to the line it starts on.
//
// BurntSushi/toml reports a position for syntax errors but keeps one position per dotted key
// name, so the keys of the second [[link]] overwrite those of the first; its MetaData exposes
// none. This scanner runs only on documents the library has already accepted, so it needs to
// know just enough TOML to stay in step: strings of the four kinds (which may hold any bracket,
// quote or #), comments, arrays and inline tables that span lines, and the shape of keys and
// headers. Keys inside inline tables and arrays of inline tables are not recorded; lookups fall
// back to the enclosing key. The path of a key is built by path(): quoted segments with an
// [index] after each element of an array of tables, so quoted keys holding dots cannot collide.
func keyLines(src []byte) map[string]int {
	s := &scanner{src: src, line: 1, lines: map[string]int{}, arrays: map[string]int{}}
	s.run()
	return s.lines
}

// seg is one key segment in a path.
func seg(name string) string { return strconv.Quote(name) }

// elem is the index of an array-of-tables element in a path.
func elem(i int) string { return "[" + strconv.Itoa(i) + "]" }

type scanner struct {
	src    []byte
	pos    int
	line   int
	lines  map[string]int // path -> line
	arrays map[string]int // path of an array of tables -> elements so far
	table  string         // the path of the current table
}

func (s *scanner) peek(off int) byte {
	if s.pos+off < len(s.src) {
		return s.src[s.pos+off]
	}
	return 0
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

// advance moves one byte on, counting lines.
func (s *scanner) advance() {
	if s.src[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

func (s *scanner) record(path string, line int) {
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = line
	}
}

func (s *scanner) run() {
	if strings.HasPrefix(string(s.src[:min(3, len(s.src))]), "\xef\xbb\xbf") {
		s.pos = 3
	}
	for !s.eof() {
		s.skipSpace()
		if s.eof() {
			return
		}
		start := s.pos
		switch c := s.peek(0); {
		case c == '\n' || c == '\r':
			s.advance()
		case c == '#':
			s.skipComment()
		case c == '[':
			s.header()
		default:
			s.keyValue()
		}
		if s.pos == start { // not TOML after all: never loop
			s.advance()
		}
	}
}

func (s *scanner) skipSpace() {
	for !s.eof() && (s.peek(0) == ' ' || s.peek(0) == '\t') {
		s.pos++
	}
}

func (s *scanner) skipComment() {
	for !s.eof() && s.peek(0) != '\n' {
		s.pos++
	}
}

// header reads [a.b] or [[a.b]] and makes it the current table.
func (s *scanner) header() {
	line := s.line
	array := s.peek(1) == '['
	if array {
		s.pos += 2
	} else {
		s.pos++
	}
	keys := s.keyPath()
	if len(keys) == 0 {
		return
	}
	path := ""
	for n, k := range keys {
		path += seg(k)
		if n == len(keys)-1 && array {
			s.record(path, line)
			s.arrays[path]++
			path += elem(s.arrays[path] - 1)
		} else if c := s.arrays[path]; c > 0 {
			path += elem(c - 1)
		}
		s.record(path, line)
	}
	s.table = path
	s.skipComment() // the closing brackets, and a comment after them
}

// keyValue reads key = value, recording the key (and each implicit table of a dotted key).
func (s *scanner) keyValue() {
	line := s.line
	keys := s.keyPath()
	path := s.table
	for _, k := range keys {
		path += seg(k)
		s.record(path, line)
	}
	if s.peek(0) == '=' {
		s.pos++
	}
	s.skipValue()
}

// keyPath reads a dotted key: bare, "basic" or 'literal' segments, whitespace around the dots.
func (s *scanner) keyPath() []string {
	var keys []string
	for {
		s.skipSpace()
		if s.eof() {
			return keys
		}
		switch c := s.peek(0); c {
		case '"':
			keys = append(keys, s.quotedKey('"'))
		case '\'':
			keys = append(keys, s.quotedKey('\''))
		default:
			start := s.pos
			for !s.eof() && !strings.ContainsRune(" \t\r\n=.[]\"'#", rune(s.peek(0))) {
				s.pos++
			}
			if s.pos == start {
				return keys
			}
			keys = append(keys, string(s.src[start:s.pos]))
		}
		s.skipSpace()
		if s.peek(0) != '.' {
			return keys
		}
		s.pos++
	}
}

// quotedKey reads a quoted key segment and returns its value.
func (s *scanner) quotedKey(q byte) string {
	start := s.pos
	s.pos++
	for !s.eof() && s.peek(0) != q && s.peek(0) != '\n' {
		if q == '"' && s.peek(0) == '\\' {
			s.pos++
		}
		if !s.eof() {
			s.pos++
		}
	}
	raw := string(s.src[start:min(s.pos, len(s.src))])
	if !s.eof() && s.peek(0) == q {
		s.pos++
	}
	if q == '\'' {
		return raw[1:]
	}
	if v, err := strconv.Unquote(raw + `"`); err == nil {
		return v
	}
	return raw[1:] // an escape Go does not share with TOML (\e): the raw text
}

// skipValue moves past a value: to the end of its line once every bracket it opened is closed.
func (s *scanner) skipValue() {
	depth := 0
	for !s.eof() {
		switch c := s.peek(0); c {
		case '"', '\'':
			s.skipString(c)
			continue
		case '#':
			s.skipComment()
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case '\n':
			if depth <= 0 {
				s.advance()
				return
			}
		}
		s.advance()
	}
}

// skipString moves past a string of any of TOML's four kinds.
func (s *scanner) skipString(q byte) {
	multi := s.peek(1) == q && s.peek(2) == q
	if multi {
		s.pos += 3
	} else {
		s.pos++
	}
	for !s.eof() {
		c := s.peek(0)
		switch {
		case c == '\\' && q == '"':
			s.advance()
			if !s.eof() {
				s.advance()
			}
			continue
		case c == '\n' && !multi:
			return // the library rejects this; stay on the line
		case c == q && !multi:
			s.pos++
			return
		case c == q && s.peek(1) == q && s.peek(2) == q:
			// Up to two quotes before the closing three belong to the string.
			n := 3
			for n < 5 && s.peek(n) == q {
				n++
			}
			s.pos += n
			return
		}
		s.advance()
	}
}
