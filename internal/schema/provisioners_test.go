package schema_test

import (
	"slices"
	"testing"

	"github.com/vultr-image-action/vultr-image-action/internal/build"

	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
)

// Every provisioner Packer 1.16 has runs here (a kind of package
// provision, with each of its keys declared in its block), or is refused
// by name with its reason.
func TestPackersProvisionersAreDeclared(t *testing.T) {
	t.Parallel()
	blocks := map[string]*schema.Block{}
	for typ, k := range provision.Kinds {
		blocks[typ] = k.Block
	}
	schema.CheckTypedList(t, "testdata/packer/provisioners.tsv", blocks, schema.RefusedProvisioners, schema.ProvisionerCommon, 9)
}

// Every post-processor Packer 1.16 has runs here (a kind of package build,
// with each of its keys declared in its block), or is refused by name with
// its reason.
func TestPackersPostProcessorsAreDeclared(t *testing.T) {
	t.Parallel()
	blocks := map[string]*schema.Block{}
	for typ, k := range build.PostProcessorKinds {
		blocks[typ] = k.Block
	}
	schema.CheckTypedList(t, "testdata/packer/post-processors.tsv", blocks, schema.RefusedPostProcessors, schema.PostProcessorCommon, 6)
}

// A post-processor kind's block is the one declared for its type (shell-
// local shares the provisioner's), no type both runs and is refused, and
// every kind's block is in the docs (schema.Blocks).
func TestPostProcessorKindsAreDeclaredOnce(t *testing.T) {
	t.Parallel()
	for typ, k := range build.PostProcessorKinds {
		if k.Block == nil || k.Block.ID != typ {
			t.Errorf("post-processor %q has block %v, want the block %q", typ, k.Block, typ)
		}
		if why := schema.RefusedPostProcessors[typ]; why != "" {
			t.Errorf("post-processor %q runs and is refused (%s)", typ, why)
		}
		if k.Decode == nil {
			t.Errorf("post-processor %q has no Decode", typ)
		}
		if !slices.Contains(schema.Blocks(), k.Block) {
			t.Errorf("post-processor %q's block is not in schema.Blocks: docs/templates.md lacks its keys", typ)
		}
	}
}

// A kind's block is the one declared for its type, and no type both runs
// and is refused.
func TestKindsAreDeclaredOnce(t *testing.T) {
	t.Parallel()
	for typ, k := range provision.Kinds {
		if k.Block == nil || k.Block.ID != typ {
			t.Errorf("kind %q has block %v, want the block %q", typ, k.Block, typ)
		}
		if why := schema.RefusedProvisioners[typ]; why != "" {
			t.Errorf("provisioner %q runs and is refused (%s)", typ, why)
		}
		if k.Decode == nil || k.Run == nil {
			t.Errorf("kind %q lacks Decode or Run", typ)
		}
		if !slices.Contains(schema.Blocks(), k.Block) {
			t.Errorf("provisioner %q's block is not in schema.Blocks: docs/templates.md lacks its keys", typ)
		}
	}
}
