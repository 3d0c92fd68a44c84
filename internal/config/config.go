// Package config reads pppdial's configuration file: one TOML file describing one or more links
// and the egress that offers them to programs.
//
//	[egress]
//	socks = "127.0.0.1:1080"
//
//	[[link]]
//	ifname = "pp0"
//	port = "/dev/serial/by-id/usb-Quectel_EC25-if02-port0"
//	apn = "internet"
//	pin-file = "/etc/pppdial/pin"      # chmod 600: refused if group or others can read it
//	lcp-echo-interval = "10s"
//
// The package knows no flag. Its caller hands it the flag table (Schema): a [[link]] table's keys
// are the names of the link flags, [egress]'s those of the egress flags, spelled as on the command
// line (dashes, not underscores), so a flag added to the table has its key at once. A value is
// turned into the flag's text and given to the flag's own parser (flag.FlagSet.Set); the TOML type
// must fit the flag (true/false for a boolean flag, an integer for a number, a string such as
// "10s" for a duration, a string for a string). A secret flag NAME (a PIN, a password) also takes
// NAME-file, the path of a file holding it that only its owner may read. Unknown keys, wrong
// types, bad values, duplicate ports or interface names and a missing port are errors, each with
// its line, all found before anything is dialed.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// The file's top-level tables.
const (
	LinkTable   = "link"   // [[link]], one per link
	EgressTable = "egress" // [egress], once
)

// FileSuffix turns a secret flag's name into the key naming the file that holds it: pin-file.
const FileSuffix = "-file"

// maxFile bounds what Load reads: a configuration, not a disk image named by mistake.
const maxFile = 1 << 20

// Schema is the flag table the file's keys come from.
type Schema struct {
	// Link returns a fresh flag set holding every per-link flag; it is called once per [[link]].
	Link func() *flag.FlagSet
	// Egress returns a fresh flag set holding the process-wide flags, set from [egress].
	Egress func() *flag.FlagSet
	// Secrets names the flags whose value is a secret. Each also takes NAME-file; the inline
	// form is accepted with a warning, and no error message shows the value.
	Secrets []string
	// SecretFiles names the flags whose value is the path of a file holding a secret: the file
	// must exist and be readable by its owner only.
	SecretFiles []string
	// Port and Ifname name the link flags that identify a link: a port is required, and no
	// two links may share a port (after symlinks such as /dev/serial/by-id are resolved) or an
	// interface name.
	Port, Ifname string
	// CheckLink and CheckEgress, if set, validate what one flag alone cannot (values that
	// depend on each other). A *KeyError is reported at its key's line.
	CheckLink, CheckEgress func(*flag.FlagSet) error
}

// Section is one table of the file: a [[link]] or [egress].
type Section struct {
	Name string // `link "pp0"`, `link #2` or `[egress]`, as messages name it
	Line int    // of the table's header; 0 for an [egress] the file does not have

	settings  []setting         // in file order, secrets read from their files
	effective map[string]string // every flag's value after the settings, for Diff
}

type setting struct {
	name, value string
	secret      bool // never in a message
}

// Apply sets on fs every flag the section sets, in file order. fs is typically a flag set from
// the Schema's constructor whose variables the caller then reads.
func (s *Section) Apply(fs *flag.FlagSet) error {
	for _, st := range s.settings {
		if err := fs.Set(st.name, st.value); err != nil {
			if st.secret {
				return fmt.Errorf("%s: %s: %w (not shown: it is a secret)", s.Name, st.name, ErrValue)
			}
			return fmt.Errorf("%s: %s: %w", s.Name, st.name, err)
		}
	}
	return nil
}

// IsSet reports whether the section sets the flag name (itself or through NAME-file).
func (s *Section) IsSet(name string) bool {
	return slices.ContainsFunc(s.settings, func(st setting) bool { return st.name == name })
}

// String is the section's name: printing a section never prints a secret.
func (s *Section) String() string { return s.Name }

// GoString is the section's name too, for %#v.
func (s *Section) GoString() string { return s.Name }

// Link is one [[link]] table.
type Link struct {
	Section
	Port   string // the value of the Schema's Port flag
	Ifname string // the value of the Schema's Ifname flag; empty: the lowest free
}

// ID identifies the link across two versions of the file (Diff): its interface name, or its
// port when it has none.
func (l *Link) ID() string {
	if l.Ifname != "" {
		return "ifname " + l.Ifname
	}
	return "port " + l.Port
}

// File is a configuration file that passed every check.
type File struct {
	Name     string // as given to Load or Parse
	Links    []*Link
	Egress   *Section
	Warnings []*Issue // inline secrets; the file is valid all the same
}

// Load reads and checks the file at path. Every problem found is in the returned *Error, one
// *Issue per problem with its line.
func Load(path string, s Schema) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, &Error{Issues: []*Issue{{File: path, Err: kindf(ErrValue, "larger than %d bytes: not a configuration file", maxFile)}}}
	}
	return Parse(path, data, s)
}

// Parse checks a configuration held in memory; name is what messages call it. Secret files are
// read from disk as in Load.
func Parse(name string, data []byte, s Schema) (*File, error) {
	if s.Link == nil || s.Egress == nil {
		return nil, errors.New("config: the Schema needs Link and Egress")
	}
	p := &parser{name: name, schema: s, file: &File{Name: name}}
	p.secret = make(map[string]bool, len(s.Secrets))
	for _, n := range s.Secrets {
		p.secret[n] = true
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.issue(pe.Position.Line, "", "", kindf(ErrSyntax, "%s", pe.Message))
		} else {
			p.issue(0, "", "", &kindError{kind: ErrSyntax, msg: err.Error()})
		}
		return nil, p.result()
	}
	p.lines = keyLines(data)
	p.linkNames = s.Link()
	p.egressNames = s.Egress()

	for _, k := range p.sortedKeys("", raw) {
		switch k {
		case LinkTable, EgressTable:
		default:
			p.issue(p.line(seg(k)), "", k, p.topUnknown(k))
		}
	}
	p.links(raw[LinkTable])
	p.egress(raw[EgressTable])
	p.crossCheck()
	if err := p.result(); err != nil {
		return nil, err
	}
	return p.file, nil
}

// parser is one Parse call's state.
type parser struct {
	name                   string
	schema                 Schema
	secret                 map[string]bool
	lines                  map[string]int
	linkNames, egressNames *flag.FlagSet // for hints: which table a misplaced key belongs in
	file                   *File
	issues                 []*Issue
}

func (p *parser) issue(line int, section, key string, err error) {
	p.issues = append(p.issues, &Issue{File: p.name, Line: line, Section: section, Key: key, Err: err})
}

func (p *parser) result() error {
	if len(p.issues) == 0 {
		return nil
	}
	slices.SortStableFunc(p.issues, func(a, b *Issue) int { return cmp.Compare(a.Line, b.Line) })
	return &Error{Issues: p.issues}
}

// line returns the line of the first path the scanner recorded: callers list a key's path, then
// its table's, so a key the scanner could not place (inside an inline table) gets its table's.
func (p *parser) line(paths ...string) int {
	for _, path := range paths {
		if l, ok := p.lines[path]; ok {
			return l
		}
	}
	return 0
}

// keyLine returns the line of key k (none: the table's own) in the top-level table name, or in
// its index-th element when it is an array of tables (index >= 0). A key the scanner could not
// place, inside an inline table, gets its table's line, or failing that the line naming the
// table.
func (p *parser) keyLine(name string, index int, k string) int {
	base := seg(name)
	if index >= 0 {
		base += elem(index)
	}
	if k == "" {
		return p.line(base, seg(name))
	}
	return p.line(base+seg(k), base, seg(name))
}

// sortedKeys returns a table's keys in file order, so issues and settings follow the file.
func (p *parser) sortedKeys(base string, table map[string]any) []string {
	type key struct {
		name string
		line int
	}
	keys := make([]key, 0, len(table))
	for k := range table {
		keys = append(keys, key{k, p.line(base + seg(k))})
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.line, b.line), strings.Compare(a.name, b.name))
	})
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return names
}

func (p *parser) links(v any) {
	var tables []map[string]any
	switch v := v.(type) {
	case nil:
	case []map[string]any:
		tables = v
	case []any: // link = [{...}, {...}]
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				p.issue(p.line(seg(LinkTable)), "", LinkTable, kindf(ErrType, "want [[%s]] tables, not an array of %s", LinkTable, typeName(e)))
				return
			}
			tables = append(tables, m)
		}
	default:
		p.issue(p.line(seg(LinkTable)), "", LinkTable, kindf(ErrType, "want [[%s]] tables, not %s", LinkTable, typeName(v)))
		return
	}
	if len(tables) == 0 {
		p.issue(0, "", "", kindf(ErrMissing, "no [[%s]] table: the file describes no link", LinkTable))
		return
	}
	for i, t := range tables {
		name := fmt.Sprintf("link #%d", i+1)
		if ifname, ok := t[p.schema.Ifname].(string); ok && p.schema.Ifname != "" && ifname != "" {
			name = fmt.Sprintf("link %q", ifname)
		}
		sec := Section{Name: name, Line: p.keyLine(LinkTable, i, "")}
		fs := p.schema.Link()
		ok := p.section(&sec, LinkTable, i, t, fs, p.egressNames, "["+EgressTable+"]")
		// A link with bad keys is kept for the cross-checks: its port may be a duplicate too.
		l := &Link{Section: sec}
		if p.schema.Port != "" {
			l.Port = sec.effective[p.schema.Port]
		}
		if p.schema.Ifname != "" {
			l.Ifname = sec.effective[p.schema.Ifname]
		}
		p.file.Links = append(p.file.Links, l)
		if ok {
			p.check(p.schema.CheckLink, fs, &sec, LinkTable, i)
		}
	}
}

func (p *parser) egress(v any) {
	sec := Section{Name: "[" + EgressTable + "]", Line: p.keyLine(EgressTable, -1, "")}
	t, ok := v.(map[string]any)
	if v != nil && !ok {
		p.issue(sec.Line, "", EgressTable, kindf(ErrType, "want an [%s] table, not %s", EgressTable, typeName(v)))
		return
	}
	fs := p.schema.Egress()
	if p.section(&sec, EgressTable, -1, t, fs, p.linkNames, "a [["+LinkTable+"]] table") {
		p.file.Egress = &sec
		p.check(p.schema.CheckEgress, fs, &sec, EgressTable, -1)
	}
}

// check runs a Schema hook on a section that passed every key's checks.
func (p *parser) check(hook func(*flag.FlagSet) error, fs *flag.FlagSet, sec *Section, table string, index int) {
	if hook == nil {
		return
	}
	err := hook(fs)
	if err == nil {
		return
	}
	var ke *KeyError
	if errors.As(err, &ke) {
		p.issue(p.keyLine(table, index, ke.Key), sec.Name, ke.Key, &kindError{kind: ErrValue, msg: ke.Err.Error(), cause: ke.Err})
		return
	}
	p.issue(sec.Line, sec.Name, "", &kindError{kind: ErrValue, msg: err.Error(), cause: err})
}

// section applies the keys of a table (the index-th element when an array of tables) to fs,
// recording the settings in sec. It reports whether the table was free of problems.
func (p *parser) section(sec *Section, name string, index int, table map[string]any, fs *flag.FlagSet, other *flag.FlagSet, otherWhere string) bool {
	before := len(p.issues)
	keyLine := func(k string) int { return p.keyLine(name, index, k) }
	bad := func(k string, err error) { p.issue(keyLine(k), sec.Name, k, err) }
	base := seg(name)
	if index >= 0 {
		base += elem(index)
	}
	for _, k := range p.sortedKeys(base, table) {
		v := table[k]
		if f := fs.Lookup(k); f != nil {
			if p.secret[k] {
				if _, both := table[k+FileSuffix]; both {
					bad(k, kindf(ErrDuplicate, "set %s or %s, not both", k, k+FileSuffix))
					continue
				}
			}
			if p.secret[k] && v != "" { // pin = "" says there is none: nothing to warn of
				p.file.Warnings = append(p.file.Warnings, &Issue{File: p.name, Line: keyLine(k), Section: sec.Name, Key: k,
					Err: kindf(ErrInlineSecret, "a secret written in the file: prefer %s%s = \"FILE\" with FILE readable only by its owner (chmod 600 FILE)", k, FileSuffix)})
			}
			texts, err := flagTexts(f, v)
			if err != nil {
				bad(k, err)
				continue
			}
			for _, text := range texts {
				if err := fs.Set(k, text); err != nil {
					bad(k, p.valueError(k, text, err))
					break
				}
				sec.settings = append(sec.settings, setting{k, text, p.secret[k]})
			}
			continue
		}
		if name, ok := strings.CutSuffix(k, FileSuffix); ok && p.known(k, fs) {
			path, ok := v.(string)
			if !ok {
				bad(k, kindf(ErrType, "want a string (a file's path), not %s", typeName(v)))
				continue
			}
			secret, err := ReadSecretFile(path)
			if err != nil {
				bad(k, &kindError{kind: ErrSecretFile, msg: err.Error(), cause: err})
				continue
			}
			if err := fs.Set(name, secret); err != nil {
				bad(k, p.valueError(name, secret, err))
				continue
			}
			sec.settings = append(sec.settings, setting{name, secret, true})
			continue
		}
		bad(k, p.unknownKey(k, fs, other, otherWhere))
	}
	for _, name := range p.schema.SecretFiles {
		f := fs.Lookup(name)
		if f == nil || f.Value.String() == "" {
			continue
		}
		if _, err := ReadSecretFile(f.Value.String()); err != nil {
			bad(name, &kindError{kind: ErrSecretFile, msg: err.Error(), cause: err})
		}
	}
	sec.effective = map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { sec.effective[f.Name] = f.Value.String() })
	return len(p.issues) == before
}

// valueError is a flag parser's refusal of text; a secret's is not shown, since the parser's
// message may quote the value too.
func (p *parser) valueError(name, text string, err error) error {
	if p.secret[name] {
		return kindf(ErrValue, "invalid value (not shown: it is a secret)")
	}
	return &kindError{kind: ErrValue, msg: fmt.Sprintf("invalid value %q: %v", text, err), cause: err}
}

// unknownKey explains a key that is no flag of the section's flag set fs, with a hint when it
// is spelled with underscores or belongs in the other table.
func (p *parser) unknownKey(k string, fs, other *flag.FlagSet, otherWhere string) error {
	dashed := strings.ReplaceAll(k, "_", "-")
	switch {
	case dashed != k && p.known(dashed, fs):
		return kindf(ErrUnknownKey, "unknown key; did you mean %q? (keys are spelled as the flags are, with dashes)", dashed)
	case p.known(k, other) || p.known(dashed, other):
		return kindf(ErrUnknownKey, "unknown key here; it belongs in %s", otherWhere)
	}
	return kindf(ErrUnknownKey, "unknown key")
}

// topUnknown explains a top-level key other than the two tables.
func (p *parser) topUnknown(k string) error {
	switch {
	case p.known(k, p.linkNames):
		return kindf(ErrUnknownKey, "unknown key at the top level; it belongs in a [[%s]] table", LinkTable)
	case p.known(k, p.egressNames):
		return kindf(ErrUnknownKey, "unknown key at the top level; it belongs in [%s]", EgressTable)
	}
	return kindf(ErrUnknownKey, "unknown key: the file holds [[%s]] tables and an [%s] table", LinkTable, EgressTable)
}

// known reports whether k is a key of fs's table: a flag, or NAME-file for a secret flag NAME.
func (p *parser) known(k string, fs *flag.FlagSet) bool {
	if fs.Lookup(k) != nil {
		return true
	}
	name, ok := strings.CutSuffix(k, FileSuffix)
	return ok && p.secret[name] && fs.Lookup(name) != nil
}

// crossCheck finds what no single link shows: a missing port, and ports or interface names
// used twice.
func (p *parser) crossCheck() {
	type seen struct {
		l    *Link
		line int
	}
	ifnames := map[string]seen{}
	ports := map[string]seen{}
	for i, l := range p.file.Links {
		if p.schema.Ifname != "" && l.Ifname != "" {
			line := p.keyLine(LinkTable, i, p.schema.Ifname)
			if prev, ok := ifnames[l.Ifname]; ok {
				p.issue(line, l.Name, p.schema.Ifname, kindf(ErrDuplicate, "%q is also the %s of the link at line %d", l.Ifname, p.schema.Ifname, prev.line))
			} else {
				ifnames[l.Ifname] = seen{l, line}
			}
		}
		if p.schema.Port == "" {
			continue
		}
		if l.Port == "" {
			p.issue(l.Line, l.Name, p.schema.Port, kindf(ErrMissing, "no %s: every link needs %s = \"/dev/...\"", p.schema.Port, p.schema.Port))
			continue
		}
		line := p.keyLine(LinkTable, i, p.schema.Port)
		dev := l.Port
		if r, err := filepath.EvalSymlinks(dev); err == nil {
			dev = r // /dev/serial/by-id/... and /dev/ttyUSB2 are one modem
		}
		if prev, ok := ports[dev]; ok {
			same := ""
			if prev.l.Port != l.Port {
				same = fmt.Sprintf(" (both are %s)", dev)
			}
			p.issue(line, l.Name, p.schema.Port, kindf(ErrDuplicate, "%q is also the %s of the link at line %d%s: one modem port serves one link",
				l.Port, p.schema.Port, prev.line, same))
		} else {
			ports[dev] = seen{l, line}
		}
	}
}

// flagTexts turns a TOML value into the text (or, for an array given to a flag that is neither a
// boolean, a number, a duration nor a string, the texts: the flag repeated) the flag parses.
func flagTexts(f *flag.Flag, v any) ([]string, error) {
	switch want := flagKind(f); want {
	case kindBool:
		if b, ok := v.(bool); ok {
			return []string{strconv.FormatBool(b)}, nil
		}
		return nil, kindf(ErrType, "want true or false, not %s", typeName(v))
	case kindInt:
		if n, ok := v.(int64); ok {
			return []string{strconv.FormatInt(n, 10)}, nil
		}
		return nil, kindf(ErrType, "want an integer, not %s", typeName(v))
	case kindFloat:
		switch n := v.(type) {
		case int64:
			return []string{strconv.FormatInt(n, 10)}, nil
		case float64:
			return []string{strconv.FormatFloat(n, 'g', -1, 64)}, nil
		}
		return nil, kindf(ErrType, "want a number, not %s", typeName(v))
	case kindDuration:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		return nil, kindf(ErrType, "want a duration as a string such as \"10s\" or \"1m30s\", not %s", typeName(v))
	case kindString:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		return nil, kindf(ErrType, "want a string, not %s (quote it)", typeName(v))
	}
	if arr, ok := v.([]any); ok {
		texts := make([]string, 0, len(arr))
		for _, e := range arr {
			t, ok := scalarText(e)
			if !ok {
				return nil, kindf(ErrType, "want a value or an array of values, not an array holding %s", typeName(e))
			}
			texts = append(texts, t)
		}
		return texts, nil
	}
	if t, ok := scalarText(v); ok {
		return []string{t}, nil
	}
	return nil, kindf(ErrType, "want a value, not %s", typeName(v))
}

type valueKind int

const (
	kindText valueKind = iota // a flag.Value of its own: any scalar, as text
	kindBool
	kindInt
	kindFloat
	kindDuration
	kindString
)

// flagKind says what TOML type fits the flag, from the type its Value holds.
func flagKind(f *flag.Flag) valueKind {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return kindBool
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return kindText
	}
	switch g.Get().(type) {
	case int, int64, uint, uint64:
		return kindInt
	case float64:
		return kindFloat
	case time.Duration:
		return kindDuration
	case string:
		return kindString
	}
	return kindText
}

func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// typeName names a decoded TOML value's type for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}
