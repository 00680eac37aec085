package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiffAndUpdate(t *testing.T) {
	t.Parallel()
	if got := Diff("a\nb\nc", "a\nB\nc\nd"); got != "line 2:\n  - b\n  + B\nline 4:\n  - \n  + d\n" {
		t.Errorf("Diff = %q", got)
	}
	p := filepath.Join(t.TempDir(), "x.golden")
	Check(t, p, "one\n", true)
	if b, _ := os.ReadFile(p); !strings.EqualFold(string(b), "one\n") {
		t.Errorf("update wrote %q", b)
	}
	Check(t, p, "one\n", false)
}
