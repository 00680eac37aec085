// Package golden compares test output with golden files in testdata/, and
// rewrites them with -update: one helper for every golden test.
package golden

import (
	"os"
	"strings"
	"testing"

	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// Check compares got with the golden file, or writes it when update is
// set. A difference is reported as the lines that differ.
func Check(t *testing.T, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no golden file %s (run the test with -update): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if the change is right):\n%s", path, Diff(string(want), got))
	}
}

// Diff lists the lines that differ, with their numbers: "-" the golden
// file's, "+" the output's.
func Diff(want, got string) string {
	var b strings.Builder
	for _, d := range textdist.LineDiff(want, got, 40) {
		b.WriteString(d + "\n")
	}
	return b.String()
}
