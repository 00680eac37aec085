package template

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser and validator: whatever the
// input, they must return a result or diagnostics, never panic.
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=60s ./internal/template
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		o := goldenOptions()
		o.ReadFile = func(string) ([]byte, error) { return nil, os.ErrNotExist }
		s, err := Parse("fuzz.json", src, o)
		if err == nil && s == nil {
			t.Fatal("no spec and no error")
		}
	})
}
