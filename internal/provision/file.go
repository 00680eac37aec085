package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// statter is the optional ability to stat a remote path, for downloads.
type statter interface {
	Stat(ctx context.Context, p string) (os.FileInfo, error)
}

// runFile copies files with Packer's rules: a source directory ending in
// "/" copies its contents into the destination; without the slash the
// directory itself is created inside the destination; a file copied to a
// destination ending in "/" keeps its name.
func runFile(ctx context.Context, f *spec.File, env *Env) error {
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
