package control

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The state file holds one override, temporary TTL or failback hold per
// line, in words an operator can read and edit:
//
//	override www.example.org. 192.0.2.10 drain reason="deploy 42" set_at=2026-12-01T13:00:00Z safe_at=2026-12-01T13:01:00Z
//	override * 192.0.2.11 down reason="rack 7 power"
//	ttl www.example.org. 30 until=2026-12-01T14:00:00Z normal=300 set_at=... cutover_ready_at=...
//	hold www.example.org. since=2026-12-01T13:00:00Z reason="primary 192.0.2.10 down: HTTP status 503"
//
// Times are RFC 3339; a missing set_at or since is the time the line was
// first read. Deleting a hold line lets its name fail back.
const stateHeader = `# failover state: one override, temporary TTL or failback hold per line; edit it by hand
# if you like, it is re-read within seconds. Lines:
#   override NAME|* ADDRESS up|down|drain [reason="..."] [set_at=RFC3339] [safe_at=RFC3339]
#   ttl NAME SECONDS until=RFC3339 [normal=SECONDS] [set_at=RFC3339] [cutover_ready_at=RFC3339]
#   hold NAME [since=RFC3339] [reason="..."]   (failback manual: delete the line to let NAME fail back)
`

// invalidPrefix marks a line that could not be read: kept as a comment, so
// that a mistake made by hand is never lost to the next write.
const invalidPrefix = "# unreadable: "

type stateFile struct {
	path    string
	written []byte // what the file holds as far as the book knows

	stop, done chan struct{}
}

// parsed is what a state file holds.
type parsed struct {
	overrides map[Key]Override
	ttls      map[string]TTL
	holds     map[string]Hold
	invalid   []string
}

func emptyParsed() parsed {
	return parsed{overrides: map[Key]Override{}, ttls: map[string]TTL{}, holds: map[string]Hold{}}
}

func (f *stateFile) load(now time.Time) (parsed, []error, error) {
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		f.written = nil
		return emptyParsed(), nil, nil
	}
	if err != nil {
		return parsed{}, nil, err
	}
	f.written = data
	p, bad := parseState(f.path, data, now)
	return p, bad, nil
}

// parseState reads a state file; lines it cannot read are reported and kept.
func parseState(path string, data []byte, now time.Time) (parsed, []error) {
	p := emptyParsed()
	var bad []error
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, invalidPrefix) {
			p.invalid = append(p.invalid, strings.TrimPrefix(line, invalidPrefix))
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := parseLine(&p, line, now); err != nil {
			bad = append(bad, fmt.Errorf("%s:%d: %v", path, i+1, err))
			p.invalid = append(p.invalid, line)
		}
	}
	return p, bad
}

func parseLine(p *parsed, line string, now time.Time) error {
	words, err := split(line)
	if err != nil {
		return err
	}
	pos, opts, err := options(words)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "override":
		if len(pos) != 4 {
			return fmt.Errorf("an override line is: override NAME|* ADDRESS up|down|drain [reason=\"...\"]")
		}
		st, err := ParseState(pos[3])
		if err != nil {
			return err
		}
		o := Override{State: st, Reason: opts["reason"], SetAt: now}
		if err := times(opts, map[string]*time.Time{"set_at": &o.SetAt, "safe_at": &o.SafeAt}, "reason"); err != nil {
			return err
		}
		k := Key{Name: normalName(pos[1]), Address: strings.ToLower(pos[2])}
		if _, dup := p.overrides[k]; dup {
			return fmt.Errorf("a second override of %s in %s; one per name and address", k.Address, k.Name)
		}
		p.overrides[k] = o
	case "ttl":
		if len(pos) != 3 {
			return fmt.Errorf("a ttl line is: ttl NAME SECONDS until=RFC3339")
		}
		v, err := strconv.ParseUint(pos[2], 10, 31)
		if err != nil {
			return fmt.Errorf("ttl %q is not a number of seconds", pos[2])
		}
		t := TTL{TTL: uint32(v), SetAt: now}
		if n, ok := opts["normal"]; ok {
			nv, err := strconv.ParseUint(n, 10, 31)
			if err != nil {
				return fmt.Errorf("normal=%q is not a number of seconds", n)
			}
			t.Normal = uint32(nv)
			delete(opts, "normal")
		}
		if _, ok := opts["until"]; !ok {
			return fmt.Errorf("a ttl line needs until=RFC3339, when the configured TTL comes back")
		}
		if err := times(opts, map[string]*time.Time{"until": &t.Until, "set_at": &t.SetAt, "cutover_ready_at": &t.CutoverReadyAt}); err != nil {
			return err
		}
		p.ttls[normalName(pos[1])] = t
	case "hold":
		if len(pos) != 2 {
			return fmt.Errorf("a hold line is: hold NAME [since=RFC3339] [reason=\"...\"]")
		}
		if pos[1] == Every {
			return fmt.Errorf("a hold is about one name; %s stands for every name", Every)
		}
		h := Hold{Since: now, Reason: opts["reason"]}
		if err := times(opts, map[string]*time.Time{"since": &h.Since}, "reason"); err != nil {
			return err
		}
		name := normalName(pos[1])
		if _, dup := p.holds[name]; dup {
			return fmt.Errorf("a second hold of %s; one per name", name)
		}
		p.holds[name] = h
	default:
		return fmt.Errorf("%q is not a line kind; allowed are override, ttl and hold", pos[0])
	}
	return nil
}

// split cuts a line into words; a word may hold a Go-quoted string after "=".
func split(line string) ([]string, error) {
	var words []string
	for rest := strings.TrimLeft(line, " \t"); rest != ""; rest = strings.TrimLeft(rest, " \t") {
		end := strings.IndexAny(rest, " \t\"")
		if end < 0 {
			words = append(words, rest)
			break
		}
		if rest[end] != '"' {
			words = append(words, rest[:end])
			rest = rest[end:]
			continue
		}
		// Only values are written quoted; a quoted name could hold a
		// space or a line break that the next write would not quote.
		if !strings.HasSuffix(rest[:end], "=") {
			return nil, fmt.Errorf("a quote may only open the value of a key=, in %q", rest)
		}
		q, err := strconv.QuotedPrefix(rest[end:])
		if err != nil {
			return nil, fmt.Errorf("unterminated or bad quoted text in %q", rest)
		}
		text, _ := strconv.Unquote(q)
		words = append(words, rest[:end]+text)
		rest = rest[end+len(q):]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return nil, fmt.Errorf("text after a closing quote in %q", line)
		}
	}
	return words, nil
}

// options separates the positional words from the key=value ones.
func options(words []string) (pos []string, opts map[string]string, err error) {
	opts = map[string]string{}
	for _, w := range words {
		k, v, isOpt := strings.Cut(w, "=")
		if !isOpt {
			if len(opts) > 0 {
				return nil, nil, fmt.Errorf("%q comes after key=value words; they go last", w)
			}
			pos = append(pos, w)
			continue
		}
		if _, dup := opts[k]; dup {
			return nil, nil, fmt.Errorf("%s= is given twice", k)
		}
		opts[k] = v
	}
	if len(pos) == 0 {
		return nil, nil, fmt.Errorf("the line has no kind; allowed are override, ttl and hold")
	}
	return pos, opts, nil
}

// times reads the RFC 3339 options named in into; any other option but
// those in other is an error.
func times(opts map[string]string, into map[string]*time.Time, other ...string) error {
	for k, v := range opts {
		if slices.Contains(other, k) {
			continue
		}
		dst, ok := into[k]
		if !ok {
			return fmt.Errorf("%s= is unknown here", k)
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("%s=%q is not an RFC 3339 time such as 2026-12-01T13:00:00Z", k, v)
		}
		// The file is written in UTC, which must not move a time out of
		// the years RFC 3339 can write.
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("%s=%q falls outside the years 0000 to 9999 in UTC", k, v)
		}
		*dst = t
	}
	return nil
}

func normalName(n string) string {
	if n == Every {
		return n
	}
	n = strings.ToLower(n)
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// render writes s as a state file, sorted so that the file is stable.
func render(s *Snapshot) []byte {
	var b bytes.Buffer
	b.WriteString(stateHeader)
	keys := make([]Key, 0, len(s.overrides))
	for k := range s.overrides {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := compareStrings(a.Name, b.Name); c != 0 {
			return c
		}
		return compareStrings(a.Address, b.Address)
	})
	for _, k := range keys {
		o := s.overrides[k]
		fmt.Fprintf(&b, "override %s %s %s reason=%s set_at=%s", k.Name, k.Address, o.State, strconv.Quote(o.Reason), stamp(o.SetAt))
		if !o.SafeAt.IsZero() {
			fmt.Fprintf(&b, " safe_at=%s", stamp(o.SafeAt))
		}
		b.WriteByte('\n')
	}
	names := make([]string, 0, len(s.ttls))
	for n := range s.ttls {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t := s.ttls[n]
		fmt.Fprintf(&b, "ttl %s %d until=%s normal=%d set_at=%s cutover_ready_at=%s\n",
			n, t.TTL, stamp(t.Until), t.Normal, stamp(t.SetAt), stamp(t.CutoverReadyAt))
	}
	names = names[:0]
	for n := range s.holds {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		h := s.holds[n]
		fmt.Fprintf(&b, "hold %s since=%s reason=%s\n", n, stamp(h.Since), strconv.Quote(h.Reason))
	}
	for _, line := range s.invalid {
		b.WriteString(invalidPrefix + line + "\n")
	}
	return b.Bytes()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// save writes s atomically: a crash leaves the old file or the new one,
// never half of one, and the new one is on disk before save returns.
func (f *stateFile) save(s *Snapshot) error {
	data := render(s)
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".*")
	if err != nil {
		return fmt.Errorf("state file: %v", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("state file %s: %v", f.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself is durable only once the directory is
		d.Close()
	}
	f.written = data
	return nil
}
