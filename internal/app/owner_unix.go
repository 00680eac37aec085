//go:build unix

package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// giveToWorkspaceOwner gives the files this run wrote into the workspace
// (the manifest, downloads, what shell-local steps made) the owner and
// group of the workspace directory. The action runs as root in its
// container; without this, later steps of the job, which run as the
// runner's user, could not change or delete them. It touches only files
// owned by root that changed since start, and never follows symlinks.
func giveToWorkspaceOwner(workspace string, start time.Time) (int, error) {
	if workspace == "" || os.Geteuid() != 0 {
		return 0, nil
	}
	fi, err := os.Stat(workspace)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return 0, nil // a root-owned workspace needs nothing
	}
	uid, gid := int(st.Uid), int(st.Gid)
	n := 0
	err = filepath.WalkDir(workspace, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are not ours
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		s, ok := info.Sys().(*syscall.Stat_t)
		if !ok || s.Uid != 0 || info.ModTime().Before(start.Add(-time.Second)) {
			return nil
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}
