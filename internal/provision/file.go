package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// File is the file provisioner.
type File struct {
	Sources     []string // "source" is normalised into Sources
	Content     string
	HasContent  bool
	Destination string
	Direction   string // "upload" (default) or "download"
	Generated   bool
}

var fileKind = Kind{
	Block:  &schema.File,
	Decode: func(f Fields) any { return decodeFile(f) },
	Run:    runAs(runFile),
}

// decodeFile reads a file provisioner with Packer's rules: one of source,
// sources and content; several sources need a directory destination;
// upload sources must exist unless generated.
func decodeFile(f Fields) *File {
	fl := &File{Direction: "upload"}
	if dir, ok := f.String("direction"); ok {
		switch dir {
		case "upload", "download":
			fl.Direction = dir
		default:
			f.BadValue("direction", fmt.Sprintf("unknown direction %q", dir), `valid values: "upload", "download"`+textdist.DidYouMean(dir, []string{"upload", "download"}))
		}
	}
	fl.Generated, _ = f.Bool("generated")
	if len(f.SetOf("source", "sources", "content")) == 0 {
		f.Missing("source", "the file provisioner has nothing to copy", `set "source", "sources" or "content"`)
	}
	key := "source"
	if src, ok := f.String("source"); ok {
		fl.Sources = []string{src}
	}
	if list, ok := f.Strings("sources"); ok {
		fl.Sources, key = list, "sources"
	}
	if c, ok := f.String("content"); ok {
		fl.Content, fl.HasContent = c, true
		if fl.Direction == "download" {
			f.BadKey("content", "content cannot be downloaded", `use "source" with "direction": "download"`)
		}
	}
	dest, ok := f.String("destination")
	if !ok || dest == "" {
		f.Missing("destination", "the file provisioner needs a \"destination\"", "")
	}
	fl.Destination = dest
	if len(fl.Sources) > 1 && !strings.HasSuffix(dest, "/") {
		f.BadValue("destination", "with several sources the destination must be a directory", fmt.Sprintf("end it with a slash: %q", dest+"/"))
	}
	if fl.Direction == "download" {
		fl.Destination = keepSlash(dest, f.Local("destination", -1, dest, false))
		return fl
	}
	for i, src := range fl.Sources {
		item := i
		if key == "source" {
			item = -1
		}
		fl.Sources[i] = keepSlash(src, f.Local(key, item, src, !fl.Generated))
	}
	return fl
}

// keepSlash keeps a trailing slash that filepath.Join would drop: it is
// meaningful in the file provisioner.
func keepSlash(orig, resolved string) string {
	if strings.HasSuffix(orig, "/") && !strings.HasSuffix(resolved, "/") {
		return resolved + "/"
	}
	return resolved
}

// statter is the optional ability to stat a remote path, for downloads.
type statter interface {
	Stat(ctx context.Context, p string) (os.FileInfo, error)
}

// runFile copies files with Packer's rules: a source directory ending in
// "/" copies its contents into the destination; without the slash the
// directory itself is created inside the destination; a file copied to a
// destination ending in "/" keeps its name.
func runFile(ctx context.Context, f *File, env *Env) error {
	if f.HasContent {
		env.Logf("Uploading content to %s", f.Destination)
		return env.Comm.Upload(ctx, f.Destination, strings.NewReader(f.Content), 0o644, int64(len(f.Content)))
	}
	for _, src := range f.Sources {
		var err error
		if f.Direction == "download" {
			err = download(ctx, env, src, f.Destination)
		} else {
			err = uploadOne(ctx, env, src, f.Destination)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func uploadOne(ctx context.Context, env *Env, src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("source %s: %w", src, err)
	}
	if fi.IsDir() {
		target := dst
		if !strings.HasSuffix(src, "/") {
			target = path.Join(dst, filepath.Base(src))
		}
		env.Logf("Uploading directory %s => %s", src, target)
		return env.Comm.UploadDir(ctx, src, target)
	}
	target := dst
	if strings.HasSuffix(dst, "/") {
		target = path.Join(dst, filepath.Base(src))
	}
	env.Logf("Uploading %s => %s", src, target)
	return env.Comm.UploadFile(ctx, src, target)
}

func download(ctx context.Context, env *Env, src, dst string) error {
	isDir := strings.HasSuffix(src, "/")
	if !isDir {
		if s, ok := env.Comm.(statter); ok {
			if fi, err := s.Stat(ctx, src); err == nil && fi.IsDir() {
				isDir = true
				dst = filepath.Join(dst, path.Base(src))
			}
		}
	}
	if isDir {
		env.Logf("Downloading directory %s => %s", src, dst)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		return env.Comm.DownloadDir(ctx, strings.TrimSuffix(src, "/"), dst)
	}
	target := dst
	if strings.HasSuffix(dst, "/") || isLocalDir(dst) {
		target = filepath.Join(dst, path.Base(src))
	}
	if dir := filepath.Dir(target); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	env.Logf("Downloading %s => %s", src, target)
	if err := env.Comm.DownloadFile(ctx, src, target); err != nil {
		return fmt.Errorf("download %s: %w", src, err)
	}
	return nil
}

func isLocalDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

var errNothing = errors.New("nothing to run")
