package decode

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// fields presents a provisioner block to its kind's Decode
// (provision.Fields).
type fields struct {
	o    *object
	s    *spec.Spec
	opts Options
}

var _ provision.Fields = fields{}

func (f fields) String(key string) (string, bool) {
	v, _, ok := f.o.str(key)
	return v, ok
}

func (f fields) Raw(key string) (string, bool) {
	v, _, ok := f.o.raw(key)
	return v, ok
}

func (f fields) Command(key string) (v string, ok bool) {
	f.o.d.withPlaceholders(func() { v, _, ok = f.o.str(key) })
	return v, ok
}

func (f fields) Commands(key string) (v []string, ok bool) {
	f.o.d.withPlaceholders(func() { v, ok = f.o.strList(key) })
	return v, ok
}

func (f fields) Strings(key string) ([]string, bool)            { return f.o.strList(key) }
func (f fields) StringMap(key string) (map[string]string, bool) { return f.o.strMap(key) }
func (f fields) Int(key string) (int, bool)                     { return f.o.intv(key) }
func (f fields) Ints(key string) ([]int, bool)                  { return f.o.intList(key) }
func (f fields) Bool(key string) (bool, bool)                   { return f.o.boolv(key) }
func (f fields) Duration(key string) (time.Duration, bool)      { return f.o.dur(key) }
func (f fields) Has(key string) bool                            { return f.o.has(key) }
func (f fields) Stat(path string) error {
	_, err := f.opts.Stat(path)
	return err
}
func (f fields) Present(key string) bool       { return f.o.member(key) != nil }
func (f fields) SetOf(keys ...string) []string { return f.o.setOf(keys...) }
func (f fields) Secret(v string)               { f.o.d.secret(f.s, v) }
func (f fields) Missing(key, summary, fix string) {
	f.o.d.errorAt(f.o.n.Pos, f.path(key), summary, fix)
}
func (f fields) BadValue(key, summary, fix string) {
	f.o.d.errorAt(f.valuePos(key), f.path(key), summary, fix)
}
func (f fields) BadKey(key, summary, fix string) {
	f.o.d.errorAt(f.keyPos(key), f.path(key), summary, fix)
}
func (f fields) Warn(key, summary, fix string) {
	f.o.d.warnAt(f.keyPos(key), f.path(key), summary, fix)
}
func (f fields) path(key string) string            { return join(f.o.path, key) }
func (f fields) itemPath(key string, i int) string { return fmt.Sprintf("%s[%d]", f.path(key), i) }
func (f fields) BadItem(key string, i int, summary, fix string) {
	f.o.d.errorAt(f.itemPos(key, i), f.itemPath(key, i), summary, fix)
}

// Local resolves p against the working directory and, with mustExist,
// reports a file that does not exist, as Packer does at validation time.
func (f fields) Local(key string, i int, p string, mustExist bool) string {
	resolved := resolveLocal(p, f.opts.Cwd)
	if !mustExist {
		return resolved
	}
	if _, err := f.opts.Stat(resolved); err != nil {
		pos, path := f.valuePos(key), f.path(key)
		if i >= 0 {
			pos, path = f.itemPos(key, i), f.itemPath(key, i)
		}
		f.o.d.errorAt(pos, path, fmt.Sprintf("file %q does not exist (relative paths are relative to the working directory %s, as in Packer)", p, f.opts.Cwd), "use a path relative to the directory you build from, or {{template_dir}} (JSON) / path.root (HCL2)")
	}
	return resolved
}

// valuePos is where key's value is; the block's position when unset.
func (f fields) valuePos(key string) spec.Pos {
	if m := f.o.n.Get(key); m != nil {
		return m.Value.Pos
	}
	return f.o.n.Pos
}

// keyPos is where key is written; the block's position when unset.
func (f fields) keyPos(key string) spec.Pos {
	if m := f.o.n.Get(key); m != nil {
		return m.KeyPos
	}
	return f.o.n.Pos
}

// itemPos is where item i of key's list is.
func (f fields) itemPos(key string, i int) spec.Pos {
	m := f.o.n.Get(key)
	if m == nil {
		return f.o.n.Pos
	}
	if m.Value.Kind == Array && i < len(m.Value.Items) {
		return m.Value.Items[i].Pos
	}
	return m.Value.Pos
}

// resolveLocal is a local path relative to dir (the working directory), as
// Packer resolves it.
func resolveLocal(p, dir string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}
