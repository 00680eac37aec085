package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/vultr-image-action/vultr-image-action/internal/app"

	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// cmdFmt is `packer fmt`: it rewrites HCL2 files (.pkr.hcl, .pkrvars.hcl)
// in the canonical format. -check lists the files that are not (exit 3,
// as Packer), -diff shows the changes, -write=false only reports.
func cmdFmt(_ context.Context, env Env, args []string) error {
	f := newFlagSet(env, "fmt", "fmt [-check] [-diff] [-write=false] [-recursive] [PATH]")
	check := f.Bool("check", false, "only check: list the files that are not formatted and exit 3 when there is one")
	diff := f.Bool("diff", false, "show the changes")
	write := f.Bool("write", true, "write the formatted files")
	recursive := f.Bool("recursive", false, "also format files in subdirectories")
	if err := parse(f, args); err != nil {
		return err
	}
	if f.NArg() > 1 {
		return app.UsageErrorf("fmt takes at most one path, got %d", f.NArg())
	}
	root := "."
	if f.NArg() == 1 {
		root = f.Arg(0)
	}
	files, err := hclFiles(root, *recursive)
	if err != nil {
		return &app.UsageError{Err: err}
	}
	unformatted := 0
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, diags := hclwrite.ParseConfig(src, p, hcl.Pos{Line: 1, Column: 1}); diags.HasErrors() {
			return &app.UsageError{Err: fmt.Errorf("%s: %s", p, diags.Error())}
		}
		out := hclwrite.Format(src)
		if bytes.Equal(out, src) {
			continue
		}
		unformatted++
		fmt.Fprintln(env.Stdout, p)
		if *diff {
			fmt.Fprint(env.Stdout, lineDiff(p, string(src), string(out)))
		}
		if *write && !*check {
			if err := os.WriteFile(p, out, 0o644); err != nil {
				return err
			}
		}
	}
	if *check && unformatted > 0 {
		return &exitError{code: 3, err: fmt.Errorf("%d files are not formatted", unformatted)}
	}
	return nil
}

// hclFiles lists the HCL2 files at root (a file or a directory).
func hclFiles(root string, recursive bool) ([]string, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{root}, nil
	}
	var out []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && !recursive {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".pkr.hcl") || strings.HasSuffix(p, ".pkrvars.hcl")) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// lineDiff shows the changed lines of a file.
func lineDiff(name, a, b string) string {
	return fmt.Sprintf("--- old/%s\n+++ new/%s\n%s\n", name, name, strings.Join(textdist.LineDiff(a, b, 0), "\n"))
}

// cmdInit is `packer init`: the vultr builder is built in, so there is no
// plugin to install; other plugins a template requires are named.
func cmdInit(_ context.Context, env Env, args []string) error {
	f := newFlagSet(env, "init", "init [-upgrade] PATH")
	f.Bool("upgrade", false, "accepted for Packer compatibility")
	if err := parse(f, args); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "vultr-image-action has the vultr builder and its provisioners built in: there is no plugin to install.")
	return nil
}
