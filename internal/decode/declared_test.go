package decode

import (
	"strings"
	"testing"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// sample is a value of a declared type.
func sample(t schema.Type) *Node {
	str := &Node{Kind: String, Str: "x"}
	switch t {
	case schema.Number:
		return &Node{Kind: Number, Str: "1"}
	case schema.Bool:
		return &Node{Kind: Bool, Bool: true}
	case schema.Duration:
		return &Node{Kind: String, Str: "1s"}
	case schema.StringList:
		return &Node{Kind: Array, Items: []*Node{str}}
	case schema.NumberList:
		return &Node{Kind: Array, Items: []*Node{{Kind: Number, Str: "0"}}}
	case schema.StringMap:
		return &Node{Kind: Object, Keys: []Member{{Key: "k", Value: str}}}
	}
	return str
}

// block is an object holding every accepted key of b, each with a value
// of its declared type: with legacy, each legacy spelling instead of its
// modern key (a block holds one of the two).
func block(b *schema.Block, typ string, legacy bool) *Node {
	n := &Node{Kind: Object, Keys: []Member{{Key: "type", Value: &Node{Kind: String, Str: typ}}}}
	first := map[string]string{} // a modern key's first legacy spelling
	for _, k := range b.Keys {
		if k.Modern != "" && first[k.Modern] == "" {
			first[k.Modern] = k.Name
		}
	}
	for _, k := range b.Keys {
		use := k.Modern == "" && (first[k.Name] == "" || !legacy) || legacy && first[k.Modern] == k.Name
		if k.Refused == "" && k.Name != "type" && use {
			n.Keys = append(n.Keys, Member{Key: k.Name, Value: sample(k.Type)})
		}
	}
	return n
}

// Every key of every block is read as the type its declaration gives
// (the table in package schema, and docs/templates.md, say how a key is
// decoded), and every key the decoder reads is declared.
func TestReadsFollowTheDeclarations(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		var provs, pps []*Node
		for typ, k := range provision.Kinds {
			provs = append(provs, block(k.Block, typ, legacy))
		}
		for typ, k := range build.PostProcessorKinds {
			pps = append(pps, block(k.Block, typ, legacy))
		}
		builders := []*Node{block(&schema.Vultr, "vultr", legacy), block(&schema.Null, "null", legacy)}
		root := &Node{Kind: Object, Keys: []Member{
			{Key: "builders", Value: &Node{Kind: Array, Items: builders}},
			{Key: "provisioners", Value: &Node{Kind: Array, Items: provs}},
			{Key: "post-processors", Value: &Node{Kind: Array, Items: pps}},
		}}
		_, err := Spec("t.json", root, Options{Cwd: t.TempDir()}, nil, nil)
		ds, _ := err.(spec.Diagnostics)
		if len(ds) == 0 {
			t.Fatalf("want diagnostics (the samples are not a valid template), got %v", err)
		}
		for _, d := range ds {
			if strings.HasPrefix(d.Summary, "internal:") || strings.HasPrefix(d.Summary, "unknown key") {
				t.Errorf("legacy %v: %s: %s", legacy, d.Path, d.Summary)
			}
		}
	}
}

// The check itself: a read of another type than the declaration's is
// reported.
func TestAReadOfAnotherTypeIsReported(t *testing.T) {
	t.Parallel()
	d := &decoder{}
	o := d.object(&Node{Kind: Object, Keys: []Member{{Key: "sleep", Value: &Node{Kind: String, Str: "1s"}}}}, "p")
	o.decl = []*schema.Block{{Name: "a test block", Keys: []schema.Key{{Name: "sleep", Type: schema.Duration}}}}
	o.str("sleep")
	o.boolv("other")
	if got := len(d.diags); got != 2 || !strings.Contains(d.diags[0].Summary, "declares \"sleep\" as duration") || !strings.Contains(d.diags[1].Summary, "does not declare") {
		t.Errorf("diagnostics: %v", d.diags)
	}
}

// A block's groups of alternatives come from its declarations: an
// explicit OneOf group, and a key with its legacy spelling.
func TestAlternativesComeFromTheDeclarations(t *testing.T) {
	t.Parallel()
	str := func(v string) *Node { return &Node{Kind: String, Str: v} }
	obj := func(kv ...string) *Node {
		n := &Node{Kind: Object}
		for i := 0; i < len(kv); i += 2 {
			n.Keys = append(n.Keys, Member{Key: kv[i], Value: str(kv[i+1])})
		}
		return n
	}
	for _, tt := range []struct {
		name        string
		builder     *Node
		provisioner *Node
		want        string
	}{
		{"legacy spelling", obj("type", "vultr", "snapshot_description", "a", "description", "b"), nil, `set only one of "snapshot_description" and "description"`},
		{"OneOf group", obj("type", "vultr", "region_id", "ewr", "region_name", "Chicago"), nil, `set only one of "region_id" and "region_name"`},
		{"provisioner group", obj("type", "vultr"), obj("type", "shell", "inline", "x", "script", "y"), `set only one of "inline" and "script"`},
	} {
		root := &Node{Kind: Object, Keys: []Member{{Key: "builders", Value: &Node{Kind: Array, Items: []*Node{tt.builder}}}}}
		if tt.provisioner != nil {
			root.Keys = append(root.Keys, Member{Key: "provisioners", Value: &Node{Kind: Array, Items: []*Node{tt.provisioner}}})
		}
		_, err := Spec("t.json", root, Options{Cwd: t.TempDir()}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// Review findings, each a template and what its diagnostics must (and
// must not) say.
func TestBlockDiagnostics(t *testing.T) {
	t.Parallel()
	str := func(v string) *Node { return &Node{Kind: String, Str: v} }
	obj := func(kv ...any) *Node {
		n := &Node{Kind: Object}
		for i := 0; i < len(kv); i += 2 {
			v, ok := kv[i+1].(*Node)
			if !ok {
				v = str(kv[i+1].(string))
			}
			n.Keys = append(n.Keys, Member{Key: kv[i].(string), Value: v})
		}
		return n
	}
	none := obj("type", "null", "communicator", "none")
	for _, tt := range []struct {
		name           string
		builder, prov  *Node
		want, dontWant string
	}{
		// A block with two alternatives is dropped: no follow-on errors.
		{"conflict is the only error", none, obj("type", "file", "source", "s", "content", "c", "generated", &Node{Kind: Bool, Bool: true}, "destination", "/tmp/x"), `set only one of "source" and "content"`, "needs a machine"},
		// Packer's scanner keys only warn, whatever their value.
		{"scanner key of any type warns", obj("type", "vultr"), obj("type", "hcp-sbom", "auto_generate", &Node{Kind: Bool, Bool: true}, "scanner_url", &Node{Kind: Number, Str: "5"}), "", "want a string"},
		// A legacy spelling is read as its key; its errors name it.
		{"legacy spelling's error", obj("type", "vultr", "ipv6", "maybe"), nil, `builders[0].ipv6: want true or false, got "maybe"`, "enable_ipv6: want"},
		{"ssh_interface in a null builder", obj("type", "null", "ssh_host", "192.0.2.1", "ssh_username", "root", "ssh_password", "pw-123456", "ssh_interface", "public_v4"), nil, `"ssh_interface" has no effect in a null builder`, "unknown key"},
	} {
		root := &Node{Kind: Object, Keys: []Member{{Key: "builders", Value: &Node{Kind: Array, Items: []*Node{tt.builder}}}}}
		if tt.prov != nil {
			root.Keys = append(root.Keys, Member{Key: "provisioners", Value: &Node{Kind: Array, Items: []*Node{tt.prov}}})
		}
		_, err := Spec("t.json", root, Options{Cwd: t.TempDir()}, nil, nil)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		if strings.Contains(got, tt.dontWant) {
			t.Errorf("%s: %q holds %q", tt.name, got, tt.dontWant)
		}
	}
}

// A legacy spelling takes effect beside its key set to null (a variable
// that defaults to null), and two spellings set are one error, not also
// an unknown key.
func TestLegacySpellingsBesideTheirKey(t *testing.T) {
	t.Parallel()
	str := func(v string) *Node { return &Node{Kind: String, Str: v} }
	builder := func(extra ...Member) *Node {
		n := &Node{Kind: Object, Keys: []Member{{Key: "type", Value: str("vultr")}, {Key: "api_key", Value: str("k-123456")}, {Key: "region_id", Value: str("ewr")},
			{Key: "plan_id", Value: str("vc2-1c-1gb")}, {Key: "os_id", Value: str("2284")}, {Key: "ssh_username", Value: str("root")}}}
		n.Keys = append(n.Keys, extra...)
		return &Node{Kind: Object, Keys: []Member{{Key: "builders", Value: &Node{Kind: Array, Items: []*Node{n}}}}}
	}
	s, err := Spec("t.json", builder(Member{Key: "snapshot_description", Value: &Node{Kind: Null}}, Member{Key: "description", Value: str("golden")}), Options{Cwd: t.TempDir()}, nil, nil)
	if err != nil || s.Builds[0].Vultr.SnapshotDescription != "golden" {
		t.Errorf("description beside a null snapshot_description: %v, %+v", err, s)
	}
	_, err = Spec("t.json", builder(Member{Key: "snapshot_description", Value: str("a")}, Member{Key: "description", Value: str("b")}), Options{Cwd: t.TempDir()}, nil, nil)
	ds, _ := err.(spec.Diagnostics)
	if len(ds.Errors()) != 1 || !strings.Contains(ds.Errors()[0].Summary, "set only one of") {
		t.Errorf("both spellings set: %v, want only the conflict", err)
	}
}
