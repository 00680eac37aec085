package hcl2template

// The never-silent guarantee, checked on every template of the corpus
// (../../testdata/corpus): nothing a template holds is dropped without an
// error or a warning. The test reads each template twice: once in its raw
// syntax, as written, and once through the front end, and accounts for
// every provisioner, post-processor, error-cleanup-provisioner and
// attribute of the first in the second.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/template"
)

const corpusDir = "../../testdata/corpus"

// corpusCase is one corpus template with the options its args file gives.
type corpusCase struct {
	dir, path string
	opts      decode.Options
	filtered  bool // -only or -except on the command line
}

func readCorpusCase(t *testing.T, dir string) corpusCase {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := corpusCase{dir: abs, path: abs}
	if _, err := os.Stat(filepath.Join(abs, "template.json")); err == nil {
		c.path = filepath.Join(abs, "template.json")
	}
	if b, err := os.ReadFile(filepath.Join(abs, "template")); err == nil {
		c.path = filepath.Join(abs, strings.TrimSpace(string(b)))
	}
	web := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(abs, "http"))))
	t.Cleanup(web.Close)
	env := map[string]string{"CORPUS_HTTP": web.URL, "VULTR_API_KEY": "corpus-key"}
	c.opts = decode.Options{Cwd: abs, Getenv: func(k string) string { return env[k] }, Stat: corpusStat(abs)}
	b, _ := os.ReadFile(filepath.Join(abs, "args"))
	args := strings.Fields(string(b))
	for i := 0; i+1 < len(args); i += 2 {
		switch v := args[i+1]; args[i] {
		case "-var":
			c.opts.Vars = append(c.opts.Vars, v)
		case "-var-file":
			c.opts.VarFiles = append(c.opts.VarFiles, filepath.Join(abs, v))
		case "-only":
			c.opts.Only, c.filtered = strings.Split(v, ","), true
		case "-except":
			c.opts.Except, c.filtered = strings.Split(v, ","), true
		default:
			t.Fatalf("%s/args: the test does not know %s", dir, args[i])
		}
	}
	return c
}

// corpusStat is os.Stat, except that the keys a corpus directory's setup
// file makes (under keys/) exist.
func corpusStat(abs string) func(string) (os.FileInfo, error) {
	return func(p string) (os.FileInfo, error) {
		if strings.HasPrefix(p, filepath.Join(abs, "keys")+string(filepath.Separator)) {
			return os.Stat(abs)
		}
		return os.Stat(p)
	}
}

func corpusCases(t *testing.T) []corpusCase {
	t.Helper()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusCase
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, readCorpusCase(t, filepath.Join(corpusDir, e.Name())))
		}
	}
	if len(out) < 30 {
		t.Fatalf("the corpus holds %d templates; want at least 30", len(out))
	}
	return out
}

func TestNothingIsDroppedSilently(t *testing.T) {
	for _, c := range corpusCases(t) {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			load := template.Load
			if !strings.HasSuffix(c.path, ".json") || strings.HasSuffix(c.path, ".pkr.json") {
				load = Load
			}
			s, err := load(c.path, c.opts)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if strings.HasSuffix(c.path, ".json") {
				checkJSONReachesBuilds(t, c, s)
				return
			}
			ev, err := evaluatePath(c.path, c.opts)
			if err != nil {
				t.Fatalf("evaluate: %v", err)
			}
			checkSyntaxReachesTree(t, c, ev)
			checkTreeReachesBuilds(t, c, ev.root, s)
		})
	}
}

// written is one thing a template's text holds: an attribute (by the
// position of its name) or a block (by the position of its body).
type written struct {
	what string // for messages: `provisioner "shell" at main.pkr.hcl:12:3`
	at   spec.Pos
	// source and key, for a source's attribute, which a build block's
	// source block may override.
	source, key string
}

// writtenItems walks the raw syntax of every .pkr.hcl file.
func writtenItems(t *testing.T, c corpusCase) (blocks, attrs []written, overridden map[string]bool) {
	t.Helper()
	files, _, err := collect(c.path)
	if err != nil {
		t.Fatal(err)
	}
	overridden = map[string]bool{}
	p := hclparse.NewParser()
	for _, name := range files {
		if strings.HasSuffix(name, ".json") {
			t.Fatalf("%s: the test reads only native syntax", name)
		}
		f, diags := p.ParseHCLFile(name)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			switch {
			case b.Type == "source" && b.Labels[0] == "vultr":
				attrs = append(attrs, attributes(b.Body, "source.vultr."+b.Labels[1])...)
			case b.Type == "build":
				bl, at := buildItems(b.Body, overridden)
				blocks, attrs = append(blocks, bl...), append(attrs, at...)
			}
		}
	}
	return blocks, attrs, overridden
}

// buildItems lists a build block's provisioners and post-processors (a
// dynamic block's content stands for what it makes) and their attributes.
func buildItems(body *hclsyntax.Body, overridden map[string]bool) (blocks, attrs []written) {
	var walk func(*hclsyntax.Block)
	walk = func(b *hclsyntax.Block) {
		switch b.Type {
		case "provisioner", "post-processor", "error-cleanup-provisioner":
			blocks = append(blocks, written{what: fmt.Sprintf("%s %q", b.Type, b.Labels[0]), at: pos(b.Body.MissingItemRange())})
			attrs = append(attrs, attributes(b.Body, "")...)
		case "post-processors":
			for _, inner := range b.Body.Blocks {
				walk(inner)
			}
		case "dynamic":
			for _, inner := range b.Body.Blocks {
				if inner.Type == "content" {
					walk(&hclsyntax.Block{Type: b.Labels[0], Labels: []string{"dynamic"}, Body: inner.Body})
				}
			}
		case "source":
			for name := range b.Body.Attributes {
				overridden[strings.TrimPrefix(b.Labels[0], "source.")+"."+name] = true
			}
			attrs = append(attrs, attributes(b.Body, "")...)
		}
	}
	for _, b := range body.Blocks {
		walk(b)
	}
	return blocks, attrs
}

func attributes(body *hclsyntax.Body, source string) []written {
	var out []written
	for name, a := range body.Attributes {
		out = append(out, written{what: fmt.Sprintf("attribute %s", name), at: pos(a.NameRange), source: source, key: name})
	}
	return out
}

// checkSyntaxReachesTree: every block and attribute written in a build
// block, and every attribute of a vultr source, is in the Node tree, or a
// warning names it.
func checkSyntaxReachesTree(t *testing.T, c corpusCase, ev *evaluated) {
	t.Helper()
	blocks, attrs, overridden := writtenItems(t, c)
	nodes, keys := map[spec.Pos]bool{}, map[spec.Pos]bool{}
	var walk func(*decode.Node)
	walk = func(n *decode.Node) {
		nodes[n.Pos] = true
		for _, it := range n.Items {
			walk(it)
		}
		for _, m := range n.Keys {
			keys[m.KeyPos] = true
			walk(m.Value)
		}
	}
	walk(ev.root)
	warned := map[spec.Pos]bool{}
	for _, w := range ev.warnings {
		warned[w.Pos] = true
	}
	for _, b := range blocks {
		if !nodes[b.at] && !warned[b.at] {
			t.Errorf("%s at %s is in no build and no warning names it", b.what, b.at)
		}
	}
	for _, a := range attrs {
		switch {
		case keys[a.at] || warned[a.at]:
		case a.source != "" && overridden[strings.TrimPrefix(a.source, "source.")+"."+a.key]:
		default:
			t.Errorf("%s at %s (%s) was dropped: no build has it and no warning names it", a.what, a.at, a.source)
		}
	}
	if len(blocks) == 0 || len(attrs) == 0 {
		t.Errorf("found %d blocks and %d attributes: the walk reads nothing", len(blocks), len(attrs))
	}
}

// checkTreeReachesBuilds: every provisioner and post-processor of the tree
// runs in a build, unless its only or except, the command line's -only or
// -except, or another cloud's source leaves it out.
func checkTreeReachesBuilds(t *testing.T, c corpusCase, root *decode.Node, s *spec.Spec) {
	t.Helper()
	ran := map[spec.Pos]bool{}
	for _, b := range s.Builds {
		for _, p := range b.Provisioners {
			ran[p.Pos] = true
		}
		for _, seq := range b.PostProcessors {
			for _, pp := range seq {
				ran[pp.Pos] = true
			}
		}
		if b.ErrorCleanup != nil {
			ran[b.ErrorCleanup.Pos] = true
		}
	}
	aliases := map[string][]string{}
	if m := root.Get("builders"); m != nil {
		for _, bn := range m.Value.Items {
			name := bn.Get("name").Value.Str
			aliases[name] = append([]string{name}, bn.Aliases...)
		}
	}
	check := func(n *decode.Node) {
		if ran[n.Pos] {
			return
		}
		for _, build := range n.Scope {
			if leftOut(n, aliases[build]) {
				continue
			}
			if slices.Contains(s.Skipped, build) {
				continue
			}
			if !slices.ContainsFunc(s.Builds, func(b spec.Build) bool { return b.Name == build }) && c.filtered {
				continue
			}
			t.Errorf("%s at %s belongs to build %s but does not run there", n.Get("type").Value.Str, n.Pos, build)
		}
	}
	for _, key := range []string{"provisioners", "error-cleanup-provisioner", "post-processors"} {
		m := root.Get(key)
		if m == nil {
			continue
		}
		for _, it := range m.Value.Items {
			if it.Kind == decode.Array {
				for _, pp := range it.Items {
					check(pp)
				}
				continue
			}
			check(it)
		}
	}
}

// leftOut reports whether a provisioner's only or except leaves out the
// build with these names.
func leftOut(n *decode.Node, names []string) bool {
	matches := func(key string) (set, match bool) {
		m := n.Get(key)
		if m == nil {
			return false, false
		}
		for _, g := range m.Value.Items {
			for _, name := range names {
				if ok, _ := path.Match(g.Str, name); ok {
					return true, true
				}
			}
		}
		return true, false
	}
	if set, match := matches("only"); set && !match {
		return true
	}
	_, match := matches("except")
	return match
}

// checkJSONReachesBuilds is the JSON template's version: the front end
// reads the file itself, so what can be lost is a provisioner or
// post-processor that reaches no build.
func checkJSONReachesBuilds(t *testing.T, c corpusCase, s *spec.Spec) {
	t.Helper()
	b, err := os.ReadFile(c.path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Provisioners   []map[string]any `json:"provisioners"`
		PostProcessors []any            `json:"post-processors"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	provs, seqs := map[int]bool{}, map[int]bool{}
	for _, b := range s.Builds {
		for _, p := range b.Provisioners {
			provs[p.Index] = true
		}
		for _, seq := range b.PostProcessors {
			for _, pp := range seq {
				seqs[pp.Index] = true
			}
		}
	}
	excluded := func(m map[string]any) bool {
		for _, b := range s.Builds {
			n := &decode.Node{Kind: decode.Object}
			for _, key := range []string{"only", "except"} {
				if list, ok := m[key].([]any); ok {
					arr := &decode.Node{Kind: decode.Array}
					for _, g := range list {
						arr.Items = append(arr.Items, &decode.Node{Kind: decode.String, Str: fmt.Sprint(g)})
					}
					n.Keys = append(n.Keys, decode.Member{Key: key, Value: arr})
				}
			}
			if !leftOut(n, append([]string{b.Name}, b.Aliases...)) {
				return false
			}
		}
		return true
	}
	for i, p := range raw.Provisioners {
		if !provs[i] && !excluded(p) {
			t.Errorf("provisioner %d (%v) runs in no build", i, p["type"])
		}
	}
	for i, seq := range raw.PostProcessors {
		first, _ := seq.(map[string]any)
		if list, ok := seq.([]any); ok && len(list) > 0 {
			first, _ = list[0].(map[string]any)
		}
		if !seqs[i] && (first == nil || !excluded(first)) {
			t.Errorf("post-processor sequence %d runs in no build", i)
		}
	}
	if len(raw.Provisioners) == 0 {
		t.Error("the template has no provisioners: the check reads nothing")
	}
}
