package schema_test

import (
	"testing"

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
	}
}
