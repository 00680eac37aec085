//go:build unix

package remote

import (
	"io/fs"
	"syscall"
)

// fileID is a file's device and inode, to find symlink loops.
func fileID(fi fs.FileInfo) ([2]uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return [2]uint64{}, false
	}
	return [2]uint64{uint64(st.Dev), uint64(st.Ino)}, true //nolint:unconvert // Dev's type differs by OS
}
