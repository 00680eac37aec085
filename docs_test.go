package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/architecture.md is the map: every package of the module is on it.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir("internal", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || strings.Contains(p, "testdata") {
			return err
		}
		src, _ := filepath.Glob(filepath.Join(p, "*.go"))
		hasCode := false
		for _, f := range src {
			hasCode = hasCode || !strings.HasSuffix(f, "_test.go")
		}
		if hasCode && !strings.Contains(string(doc), filepath.ToSlash(p)+"/") {
			t.Errorf("docs/architecture.md does not name package %s/", filepath.ToSlash(p))
		}
		return nil
	})
}
