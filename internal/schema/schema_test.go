package schema

import (
	"bufio"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated sections of docs/templates.md and docs/compatibility.md")

// packerKeys reads a list of Packer's keys (testdata/packer/*.tsv): the
// first column of each line that is not a comment.
func packerKeys(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, strings.SplitN(line, "\t", 2)[0])
	}
	if len(keys) == 0 {
		t.Fatalf("%s lists no keys", path)
	}
	return keys
}

// Every key Packer's vultr source accepts is declared: accepted (it takes
// effect), or refused by name with the reason docs/compatibility.md gives.
func TestPackersVultrKeysAreDeclared(t *testing.T) {
	t.Parallel()
	keys := packerKeys(t, "testdata/packer/vultr.tsv")
	for _, name := range keys {
		k, ok := Vultr.Lookup(name)
		switch {
		case !ok:
			t.Errorf("Packer's vultr key %q is not declared in schema.Vultr", name)
		case k.Modern != "":
			t.Errorf("Packer's key %q is declared as a legacy spelling of %q", name, k.Modern)
		}
	}
	if len(keys) != 79 {
		t.Errorf("testdata/packer/vultr.tsv lists %d keys; want 79: the spec's 77 (69, and 8 internal) and JSON's type and name", len(keys))
	}
}

// Every key of Packer's null builder is declared.
func TestPackersNullKeysAreDeclared(t *testing.T) {
	t.Parallel()
	keys := packerKeys(t, "testdata/packer/null.tsv")
	for _, name := range keys {
		if _, ok := Null.Lookup(name); !ok {
			t.Errorf("Packer's null builder key %q is not declared in schema.Null", name)
		}
	}
	if len(keys) != 59 {
		t.Errorf("testdata/packer/null.tsv lists %d keys; want 59: the spec's 57 and JSON's type and name", len(keys))
	}
}

// Every block's declaration is well formed: unique names, a doc or a
// reason for each key, legacy spellings pointing at accepted keys.
func TestDeclarations(t *testing.T) {
	t.Parallel()
	for _, b := range Blocks() {
		seen := map[string]bool{}
		for _, k := range b.Keys {
			if seen[k.Name] {
				t.Errorf("%s: %q declared twice", b.Name, k.Name)
			}
			seen[k.Name] = true
			if k.Doc == "" && k.Refused == "" && k.Modern == "" {
				t.Errorf("%s: %q has no doc", b.Name, k.Name)
			}
			if k.Modern != "" {
				if m, ok := b.Lookup(k.Modern); !ok || m.Refused != "" {
					t.Errorf("%s: %q is a spelling of %q, which is not an accepted key", b.Name, k.Name, k.Modern)
				}
			}
		}
	}
}

// The docs' key tables and refusals are generated from the declarations.
func TestDocsAreGenerated(t *testing.T) {
	t.Parallel()
	docs := []struct{ path, section, text string }{
		{"../../docs/compatibility.md", "refused keys", RefusedMarkdown()},
	}
	for _, b := range Blocks() {
		docs = append(docs, struct{ path, section, text string }{"../../docs/templates.md", "keys " + b.ID, b.Markdown()})
	}
	for _, doc := range docs {
		b, err := os.ReadFile(doc.path)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`(?s)(<!-- generated: ` + doc.section + ` -->\n).*?(<!-- end: ` + doc.section + ` -->)`)
		if !re.Match(b) {
			t.Fatalf("%s has no <!-- generated: %s --> section", doc.path, doc.section)
		}
		want := re.ReplaceAll(b, []byte("${1}"+strings.ReplaceAll(doc.text, "$", "$$")+"${2}"))
		if *update {
			if err := os.WriteFile(doc.path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if string(want) != string(b) {
			t.Errorf("%s: the %q section is not what the declarations say (go test ./internal/schema -update)", doc.path, doc.section)
		}
	}
}

// packerTypedKeys reads "type<TAB>key" lines.
func packerTypedKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		typ, key, _ := strings.Cut(line, "\t")
		out[typ] = append(out[typ], key)
	}
	return out
}

// checkTypedList checks a list of Packer's types and their keys: each type
// is in blocks or refused, and each key of a type in blocks is declared in
// its block or in common.
func checkTypedList(t *testing.T, file string, blocks map[string]*Block, refused map[string]string, common []Key, types int) {
	t.Helper()
	lists := packerTypedKeys(t, file)
	if n := len(lists) - 1; n != types {
		t.Errorf("%s lists %d types, want %d", file, n, types)
	}
	commonBlock := &Block{Keys: common}
	for typ, keys := range lists {
		if refused[typ] != "" {
			continue
		}
		b := blocks[typ]
		if typ == "*" {
			b = commonBlock
		}
		if b == nil {
			t.Errorf("%s: Packer's %q is neither supported nor refused", file, typ)
			continue
		}
		for _, k := range keys {
			_, inBlock := b.Lookup(k)
			_, inCommon := commonBlock.Lookup(k)
			if !inBlock && !inCommon {
				t.Errorf("%s: %s key %q is not declared", file, typ, k)
			}
		}
	}
}
