package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pkg/sftp"
)

// sftpClient opens the SFTP session once per connection. Writes are
// concurrent (many requests in flight per file), so throughput is bound by
// the link, not by round trips.
func (c *Client) sftpClient() (*sftp.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	sc, err := sftp.NewClient(c.ssh,
		sftp.UseConcurrentWrites(true),
		sftp.UseConcurrentReads(true),
		sftp.MaxConcurrentRequestsPerFile(64),
	)
	if err != nil {
		return nil, fmt.Errorf("start SFTP (set ssh_file_transfer_method to scp if the server has no SFTP subsystem): %w", err)
	}
	c.sftp = sc
	return sc, nil
}

func (c *Client) useSCP() bool { return c.cfg.FileTransferMethod == "scp" }

// Upload streams r to dst with mode.
func (c *Client) Upload(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, size int64) error {
	if c.useSCP() {
		return c.scpUpload(ctx, dst, r, mode, size)
	}
	sc, err := c.sftpClient()
	if err != nil {
		return err
	}
	f, err := sc.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.Close() })
	_, err = f.ReadFrom(r)
	stop()
	cerr := f.Close()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		return fmt.Errorf("close %s: %w", dst, cerr)
	}
	if err := sc.Chmod(dst, mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	return nil
}

// UploadFile uploads a local file (following a symlink to its target).
func (c *Client) UploadFile(ctx context.Context, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", src)
	}
	return c.Upload(ctx, dst, f, fi.Mode(), fi.Size())
}

// UploadDir copies the contents of srcDir into dstDir, keeping modes.
// Symlinks are followed; a symlink loop is an error. Files go through a
// small worker pool sharing the SFTP session, so many small files are
// pipelined rather than sent one round trip at a time.
func (c *Client) UploadDir(ctx context.Context, srcDir, dstDir string) error {
	type job struct{ src, dst string }
	var dirs []struct {
		dst  string
		mode fs.FileMode
	}
	var files []job
	visited := map[[2]uint64]bool{}
	var walk func(src, dst string) error
	walk = func(src, dst string) error {
		fi, err := os.Stat(src)
		if err != nil {
			return err
		}
		if id, ok := fileID(fi); ok {
			if visited[id] {
				return fmt.Errorf("symlink loop at %s", src)
			}
			visited[id] = true
			defer delete(visited, id)
		}
		dirs = append(dirs, struct {
			dst  string
			mode fs.FileMode
		}{dst, fi.Mode()})
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			s, d := filepath.Join(src, e.Name()), path.Join(dst, e.Name())
			fi, err := os.Stat(s) // follows symlinks
			if err != nil {
				return fmt.Errorf("%s: %w (a dangling symlink is refused, not dropped)", s, err)
			}
			if fi.IsDir() {
				if err := walk(s, d); err != nil {
					return err
				}
				continue
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("%s is not a regular file or directory", s)
			}
			files = append(files, job{s, d})
		}
		return nil
	}
	if err := walk(srcDir, dstDir); err != nil {
		return err
	}
	for _, d := range dirs {
		if err := c.mkdirAll(ctx, d.dst, d.mode); err != nil {
			return err
		}
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := c.UploadFile(ctx, j.src, j.dst); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("upload %s: %w", j.src, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range files {
		select {
		case jobs <- j:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

func (c *Client) mkdirAll(ctx context.Context, dir string, mode fs.FileMode) error {
	if c.useSCP() {
		return c.Run(ctx, "mkdir -p "+shellQuote(dir)+" && chmod "+fmt.Sprintf("%o", mode.Perm())+" "+shellQuote(dir), nil, io.Discard, io.Discard)
	}
	sc, err := c.sftpClient()
	if err != nil {
		return err
	}
	if err := sc.MkdirAll(dir); err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	return sc.Chmod(dir, mode.Perm())
}

// Download streams a remote file to w.
func (c *Client) Download(ctx context.Context, src string, w io.Writer) error {
	if c.useSCP() {
		_, err := c.scpDownload(ctx, src, w)
		return err
	}
	sc, err := c.sftpClient()
	if err != nil {
		return err
	}
	f, err := sc.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { _ = f.Close() })
	defer stop()
	if _, err := f.WriteTo(w); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("read %s: %w", src, err)
	}
	return nil
}

// Stat describes a remote path.
func (c *Client) Stat(ctx context.Context, p string) (fs.FileInfo, error) {
	sc, err := c.sftpClient()
	if err != nil {
		return nil, err
	}
	return sc.Stat(p)
}

// DownloadFile downloads a remote file to a local path, keeping its mode.
func (c *Client) DownloadFile(ctx context.Context, src, dst string) error {
	mode := fs.FileMode(0o644)
	if !c.useSCP() {
		if fi, err := c.Stat(ctx, src); err == nil {
			mode = fi.Mode().Perm()
		}
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if err := c.Download(ctx, src, f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// DownloadDir copies the contents of a remote directory into dstDir.
func (c *Client) DownloadDir(ctx context.Context, srcDir, dstDir string) error {
	sc, err := c.sftpClient()
	if err != nil {
		return err
	}
	w := sc.Walk(srcDir)
	for w.Step() {
		if err := w.Err(); err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(w.Path(), srcDir), "/")
		dst := filepath.Join(dstDir, filepath.FromSlash(rel))
		fi := w.Stat()
		if fi.IsDir() {
			if err := os.MkdirAll(dst, fi.Mode().Perm()|0o700); err != nil {
				return err
			}
			continue
		}
		if err := c.DownloadFile(ctx, w.Path(), dst); err != nil {
			return err
		}
	}
	return nil
}

// scpUpload speaks the scp sink protocol to `scp -t`.
func (c *Client) scpUpload(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, size int64) error {
	if size < 0 {
		return errors.New("scp needs the file size")
	}
	s, err := c.ssh.NewSession()
	if err != nil {
		return fmt.Errorf("open session: %w: %w", ErrDisconnected, err)
	}
	defer s.Close()
	in, err := s.StdinPipe()
	if err != nil {
		return err
	}
	outPipe, err := s.StdoutPipe()
	if err != nil {
		return err
	}
	out := bufio.NewReader(outPipe)
	if err := s.Start("scp -qt " + shellQuote(path.Dir(dst))); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	ack := func() error {
		b, err := out.ReadByte()
		if err != nil {
			return fmt.Errorf("scp: %w", err)
		}
		if b != 0 {
			msg, _ := out.ReadString('\n')
			return fmt.Errorf("scp: %s", strings.TrimSpace(msg))
		}
		return nil
	}
	if err := ack(); err != nil {
		return err
	}
	fmt.Fprintf(in, "C%04o %d %s\n", mode.Perm(), size, path.Base(dst))
	if err := ack(); err != nil {
		return err
	}
	if _, err := io.CopyN(in, r, size); err != nil {
		return fmt.Errorf("scp: send %s: %w", dst, err)
	}
	_, _ = in.Write([]byte{0})
	if err := ack(); err != nil {
		return err
	}
	_ = in.Close()
	if err := s.Wait(); err != nil {
		var exit interface{ ExitStatus() int }
		if errors.As(err, &exit) && exit.ExitStatus() == 127 {
			return errors.New("scp is not installed on the machine (exit 127); use ssh_file_transfer_method sftp")
		}
		return fmt.Errorf("scp: %w", err)
	}
	return ctx.Err()
}

// scpDownload speaks the scp source protocol to `scp -f`.
func (c *Client) scpDownload(ctx context.Context, src string, w io.Writer) (int64, error) {
	s, err := c.ssh.NewSession()
	if err != nil {
		return 0, fmt.Errorf("open session: %w: %w", ErrDisconnected, err)
	}
	defer s.Close()
	in, _ := s.StdinPipe()
	outPipe, _ := s.StdoutPipe()
	out := bufio.NewReader(outPipe)
	if err := s.Start("scp -qf " + shellQuote(src)); err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	_, _ = in.Write([]byte{0})
	line, err := out.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("scp: %w", err)
	}
	if !strings.HasPrefix(line, "C") {
		return 0, fmt.Errorf("scp: %s", strings.TrimSpace(strings.TrimLeft(line, "\x01\x02")))
	}
	var perm uint32
	var size int64
	var name string
	if _, err := fmt.Sscanf(line, "C%o %d %s", &perm, &size, &name); err != nil {
		return 0, fmt.Errorf("scp: bad header %q", line)
	}
	_, _ = in.Write([]byte{0})
	n, err := io.CopyN(w, out, size)
	if err != nil {
		return n, fmt.Errorf("scp: receive %s: %w", src, err)
	}
	_, _ = out.ReadByte()
	_, _ = in.Write([]byte{0})
	_ = in.Close()
	_ = s.Wait()
	return n, ctx.Err()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
