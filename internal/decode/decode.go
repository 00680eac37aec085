package decode

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// decoder reads Nodes into typed values, collecting every problem rather
// than stopping at the first.
type decoder struct {
	diags spec.Diagnostics
	in    *interp
	// foreign are other clouds' builds: named in filters, never built.
	foreign []spec.Build
	// onSecret is Options.Secret.
	onSecret func(string)
}

// secret records a value that must never be shown, and tells
// Options.Secret at once.
func (d *decoder) secret(s *spec.Spec, v string) {
	if v == "" {
		return
	}
	s.Secrets = append(s.Secrets, v)
	if d.onSecret != nil {
		d.onSecret(v)
	}
}

func (d *decoder) errorAt(pos spec.Pos, path, summary, detail string) {
	d.diags = append(d.diags, spec.Diagnostic{Pos: pos, Path: path, Summary: summary, Detail: detail})
}

func (d *decoder) warnAt(pos spec.Pos, path, summary, detail string) {
	d.diags = append(d.diags, spec.Diagnostic{Severity: spec.Warning, Pos: pos, Path: path, Summary: summary, Detail: detail})
}

// object is a decoded JSON object with the keys it has been asked about,
// so unknown keys can be reported.
type object struct {
	d    *decoder
	n    *Node
	path string
	used map[string]bool
	// decl are the declarations of the block o is (its own keys, then
	// the keys every block of its kind holds); nil for other objects.
	decl []*schema.Block
	// spellings are, for a key, its legacy spellings of the same type:
	// reading the key reads whichever of them the block holds.
	spellings map[string][]string
}

func (d *decoder) object(n *Node, path string) *object {
	if n.Kind != Object {
		d.errorAt(n.Pos, path, fmt.Sprintf("want an object, got %s", n.Kind), "")
		return nil
	}
	return &object{d: d, n: n, path: path, used: map[string]bool{}}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkTypes is on under go test: every read of a declared key is then
// checked against the key's declared type, so the table in package schema
// (and docs/templates.md, made from it) says how each key is decoded.
var checkTypes = testing.Testing()

// read marks key known and returns its member; under test, it reports a
// read whose type differs from the key's declaration.
//
// A key the block does not hold is read from its legacy spelling, when
// the block holds one (the declarations' groups allow only one): errors
// then name the spelling written.
func (o *object) read(key string, as ...schema.Type) *Member {
	if checkTypes && len(o.decl) > 0 {
		o.checkType(key, as)
	}
	// Every spelling is marked read; the first one with a value wins (two
	// with values are the groups' error already).
	var first, chosen *Member
	for _, k := range append([]string{key}, o.spellings[key]...) {
		m := o.member(k)
		if m == nil {
			continue
		}
		if first == nil {
			first = m
		}
		if chosen == nil && m.Value.Kind != Null {
			chosen = m
		}
	}
	if chosen != nil {
		return chosen
	}
	return first
}

func (o *object) checkType(key string, as []schema.Type) {
	for _, b := range o.decl {
		if k, ok := b.Lookup(key); ok {
			if !slices.Contains(as, k.Type) {
				o.d.errorAt(o.n.Pos, join(o.path, key), fmt.Sprintf("internal: %s declares %q as %s, and the decoder reads it as %v", b.Name, key, k.Type, as), "")
			}
			return
		}
	}
	o.d.errorAt(o.n.Pos, join(o.path, key), fmt.Sprintf("internal: the decoder reads %q, which %s does not declare", key, o.decl[0].Name), "")
}

// member returns the key's member, marking it known.
func (o *object) member(key string) *Member {
	o.used[key] = true
	return o.n.Get(key)
}

// has reports whether key is set (to anything but null).
func (o *object) has(key string) bool {
	m := o.n.Get(key)
	return m != nil && m.Value.Kind != Null
}

// accepted are the keys o's declarations accept.
func (o *object) accepted() []string {
	var out []string
	for _, b := range o.decl {
		out = append(out, b.Accepted()...)
	}
	return out
}

// unknown reports every key not asked about, with the nearest valid key.
func (o *object) unknown(valid []string, what string) {
	for _, m := range o.n.Keys {
		if o.used[m.Key] {
			continue
		}
		detail := textdist.DidYouMean(m.Key, valid)
		if detail != "" {
			detail = strings.TrimPrefix(detail, "; ")
		} else {
			sorted := append([]string(nil), valid...)
			sort.Strings(sorted)
			detail = "valid keys: " + strings.Join(sorted, ", ")
		}
		o.d.errorAt(m.KeyPos, join(o.path, m.Key), fmt.Sprintf("unknown key %q in %s", m.Key, what), detail)
	}
}

// str reads a string, interpolating template functions. Numbers are
// accepted as their literal, as Packer's weak decoding does.
func (o *object) str(key string) (string, spec.Pos, bool) {
	m := o.read(key, schema.String, schema.Number)
	if m == nil || m.Value.Kind == Null {
		return "", spec.Pos{}, false
	}
	v := m.Value
	switch v.Kind {
	case String:
		s, err := o.d.in.render(v.Str)
		if err != nil {
			o.d.errorAt(v.Pos, join(o.path, m.Key), err.Error(), "")
			return "", v.Pos, false
		}
		return s, v.Pos, true
	case Number:
		return v.Str, v.Pos, true
	default:
		o.d.errorAt(v.Pos, join(o.path, m.Key), fmt.Sprintf("want a string, got %s", v.Kind), "")
		return "", v.Pos, false
	}
}

// raw reads a string without interpolation.
func (o *object) raw(key string) (string, spec.Pos, bool) {
	m := o.read(key, schema.String)
	if m == nil || m.Value.Kind == Null {
		return "", spec.Pos{}, false
	}
	if m.Value.Kind != String {
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want a string, got %s", m.Value.Kind), "")
		return "", m.Value.Pos, false
	}
	return m.Value.Str, m.Value.Pos, true
}

func (o *object) intv(key string) (int, bool) {
	m := o.read(key, schema.Number)
	if m == nil || m.Value.Kind == Null {
		return 0, false
	}
	var lit string
	switch m.Value.Kind {
	case Number:
		lit = m.Value.Str
	case String:
		s, err := o.d.in.render(m.Value.Str)
		if err != nil {
			o.d.errorAt(m.Value.Pos, join(o.path, m.Key), err.Error(), "")
			return 0, false
		}
		lit = strings.TrimSpace(s)
	default:
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want a whole number, got %s", m.Value.Kind), "")
		return 0, false
	}
	n, err := strconv.Atoi(lit)
	if err != nil {
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want a whole number, got %q", lit), "")
		return 0, false
	}
	return n, true
}

func (o *object) boolv(key string) (bool, bool) {
	m := o.read(key, schema.Bool)
	if m == nil || m.Value.Kind == Null {
		return false, false
	}
	switch m.Value.Kind {
	case Bool:
		return m.Value.Bool, true
	case String:
		s, err := o.d.in.render(m.Value.Str)
		if err != nil {
			o.d.errorAt(m.Value.Pos, join(o.path, m.Key), err.Error(), "")
			return false, false
		}
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err == nil {
			return b, true
		}
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want true or false, got %q", s), "")
	default:
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want true or false, got %s", m.Value.Kind), "")
	}
	return false, false
}

// dur reads a duration such as "5m" or "300s".
func (o *object) dur(key string) (time.Duration, bool) {
	m := o.read(key, schema.Duration)
	if m == nil || m.Value.Kind == Null {
		return 0, false
	}
	if m.Value.Kind != String {
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want a duration string such as \"5m\" or \"300s\", got %s", m.Value.Kind), "")
		return 0, false
	}
	s, err := o.d.in.render(m.Value.Str)
	if err != nil {
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), err.Error(), "")
		return 0, false
	}
	dv, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || dv < 0 {
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("invalid duration %q", s), "use a number with a unit, such as \"90s\", \"10m\" or \"1h30m\"")
		return 0, false
	}
	return dv, true
}

// strList reads an array of strings; a single string is a one-item list.
func (o *object) strList(key string) ([]string, bool) {
	m := o.read(key, schema.StringList)
	if m == nil || m.Value.Kind == Null {
		return nil, false
	}
	return o.d.strList(m.Value, join(o.path, m.Key))
}

func (d *decoder) strList(v *Node, path string) ([]string, bool) {
	items := []*Node{v}
	if v.Kind == Array {
		items = v.Items
	}
	out := make([]string, 0, len(items))
	ok := true
	for i, it := range items {
		p := path
		if v.Kind == Array {
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		switch it.Kind {
		case String:
			s, err := d.in.render(it.Str)
			if err != nil {
				d.errorAt(it.Pos, p, err.Error(), "")
				ok = false
				continue
			}
			out = append(out, s)
		case Number:
			out = append(out, it.Str)
		default:
			d.errorAt(it.Pos, p, fmt.Sprintf("want a string, got %s", it.Kind), "")
			ok = false
		}
	}
	return out, ok
}

// strMap reads an object of strings.
func (o *object) strMap(key string) (map[string]string, bool) {
	m := o.read(key, schema.StringMap)
	if m == nil || m.Value.Kind == Null {
		return nil, false
	}
	if m.Value.Kind != Object {
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want an object of strings, got %s", m.Value.Kind), "")
		return nil, false
	}
	out := map[string]string{}
	for _, kv := range m.Value.Keys {
		switch kv.Value.Kind {
		case String:
			s, err := o.d.in.render(kv.Value.Str)
			if err != nil {
				o.d.errorAt(kv.Value.Pos, join(join(o.path, m.Key), kv.Key), err.Error(), "")
				continue
			}
			out[kv.Key] = s
		case Number, Bool:
			out[kv.Key] = kv.Value.Str
			if kv.Value.Kind == Bool {
				out[kv.Key] = strconv.FormatBool(kv.Value.Bool)
			}
		default:
			o.d.errorAt(kv.Value.Pos, join(join(o.path, m.Key), kv.Key), fmt.Sprintf("want a string, got %s", kv.Value.Kind), "")
		}
	}
	return out, true
}

// intList reads an array of whole numbers.
func (o *object) intList(key string) ([]int, bool) {
	m := o.read(key, schema.NumberList)
	if m == nil || m.Value.Kind == Null {
		return nil, false
	}
	if m.Value.Kind != Array {
		o.d.errorAt(m.Value.Pos, join(o.path, m.Key), fmt.Sprintf("want an array of whole numbers, got %s", m.Value.Kind), "")
		return nil, false
	}
	var out []int
	for i, it := range m.Value.Items {
		n, err := strconv.Atoi(it.Str)
		if it.Kind != Number && it.Kind != String || err != nil {
			o.d.errorAt(it.Pos, fmt.Sprintf("%s[%d]", join(o.path, m.Key), i), "want a whole number", "")
			continue
		}
		out = append(out, n)
	}
	return out, true
}

// setOf returns those of keys that are set: the declarations' groups of
// alternatives (schema.Block.Groups) report more than one.
func (o *object) setOf(keys ...string) []string {
	var set []string
	for _, k := range keys {
		if o.has(k) {
			set = append(set, k)
		}
	}
	return set
}

// strListRaw reads an array of strings without interpolation.
func (d *decoder) strListRaw(v *Node, p string) ([]string, bool) {
	if v.Kind != Array {
		d.errorAt(v.Pos, p, fmt.Sprintf("want an array of strings, got %s", v.Kind), "")
		return nil, false
	}
	var out []string
	for i, it := range v.Items {
		if it.Kind != String {
			d.errorAt(it.Pos, fmt.Sprintf("%s[%d]", p, i), fmt.Sprintf("want a string, got %s", it.Kind), "")
			continue
		}
		out = append(out, it.Str)
	}
	return out, true
}
