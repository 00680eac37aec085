package remote

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/vultr-image-action/vultr-image-action/internal/sshserver"
)

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scripted answers commands from a table; sftp is served from a dir.
type scripted struct {
	mu   sync.Mutex
	cmds []string
}

func (s *scripted) Exec(ctx context.Context, sess *sshserver.Session) (int, error) {
	s.mu.Lock()
	s.cmds = append(s.cmds, sess.Command)
	s.mu.Unlock()
	switch {
	case sess.Command == "echo hi":
		fmt.Fprintln(sess.Stdout, "hi")
		fmt.Fprintln(sess.Stderr, "err")
		return 0, nil
	case strings.HasPrefix(sess.Command, "exit "):
		var n int
		fmt.Sscanf(sess.Command, "exit %d", &n)
		return n, nil
	case sess.Command == "drop":
		return 0, errors.New("machine went away")
	case sess.Command == "sleep":
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return 127, nil
}

type sftpDir string

func (d sftpDir) Serve(ctx context.Context, _ string, rw io.ReadWriteCloser) error {
	srv, err := sftp.NewServer(rw, sftp.WithServerWorkingDirectory(string(d)))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	return srv.Serve()
}

type fixture struct {
	srv    *sshserver.Server
	signer ssh.Signer
	exec   *scripted
	root   string
}

func start(t *testing.T, mutate func(*sshserver.Config)) *fixture {
	t.Helper()
	f := &fixture{signer: newSigner(t), exec: &scripted{}, root: t.TempDir()}
	cfg := sshserver.Config{AuthorizedKeys: []ssh.PublicKey{f.signer.PublicKey()}, User: "root", Exec: f.exec, SFTP: sftpDir(f.root), Password: "pw-123456"}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := sshserver.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	f.srv = srv
	return f
}

func (f *fixture) config() Config {
	host, port, _ := net.SplitHostPort(f.srv.Addr())
	var p int
	fmt.Sscan(port, &p)
	return Config{Host: host, Port: p, User: "root", Signers: []ssh.Signer{f.signer}, Timeout: 5 * time.Second, Backoff: 10 * time.Millisecond}
}

func connect(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRunStatuses(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	c := connect(t, f.config())
	var out, errOut bytes.Buffer
	if err := c.Run(context.Background(), "echo hi", nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hi\n" || errOut.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	err := c.Run(context.Background(), "exit 3", nil, io.Discard, io.Discard)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Status != 3 {
		t.Errorf("exit 3: %v, want *ExitError 3", err)
	}
	if errors.Is(err, ErrDisconnected) {
		t.Errorf("an exit status is not a disconnect")
	}
	err = c.Run(context.Background(), "drop", nil, io.Discard, io.Discard)
	if !errors.Is(err, ErrDisconnected) || errors.As(err, &ee) {
		t.Errorf("drop: %v, want ErrDisconnected and no exit status", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Run(ctx, "sleep", nil, io.Discard, io.Discard); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("cancelled run: %v after %s", err, time.Since(start))
	}
}

func TestAuthFailureIsTyped(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	cfg := f.config()
	cfg.Signers = []ssh.Signer{newSigner(t)} // not authorized
	cfg.HandshakeAttempts = 2
	_, err := Connect(context.Background(), cfg)
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *AuthError", err)
	}
	// Password and keyboard-interactive work.
	cfg.Signers, cfg.Password = nil, "pw-123456"
	connect(t, cfg)
}

func TestWaitsForLateServerAndTimesOut(t *testing.T) {
	t.Parallel()
	// Reserve an address, start the server on it later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	signer := newSigner(t)
	go func() {
		time.Sleep(300 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		srv, err := sshserver.Serve(l, sshserver.Config{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}, Exec: &scripted{}})
		if err == nil {
			t.Cleanup(func() { srv.Close() })
		}
	}()
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	c := connect(t, Config{Host: host, Port: p, User: "root", Signers: []ssh.Signer{signer}, Timeout: 5 * time.Second, Backoff: 50 * time.Millisecond})
	if err := c.Run(context.Background(), "echo hi", nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Nothing listens: a typed not-ready error at the timeout.
	_, err = Connect(context.Background(), Config{Host: "127.0.0.1", Port: 1, User: "root", Signers: []ssh.Signer{signer}, Timeout: 300 * time.Millisecond, Backoff: 20 * time.Millisecond})
	var nr *NotReadyError
	if !errors.As(err, &nr) {
		t.Errorf("err = %v, want *NotReadyError", err)
	}
}

func TestHostKeyPinning(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	pin := &Pin{}
	cfg := f.config()
	cfg.HostKeyPin = pin
	c := connect(t, cfg)
	if got, want := c.HostKeyFingerprint(), ssh.FingerprintSHA256(f.srv.HostKey()); got != want {
		t.Errorf("pinned %s, want %s", got, want)
	}
	// The same machine again: fine.
	connect(t, cfg)
	// Another server (new host key) at the next connect: refused.
	other := start(t, func(c *sshserver.Config) { c.AuthorizedKeys = []ssh.PublicKey{f.signer.PublicKey()} })
	cfg2 := other.config()
	cfg2.Signers, cfg2.HostKeyPin = []ssh.Signer{f.signer}, pin
	_, err := Connect(context.Background(), cfg2)
	var hk *HostKeyChangedError
	if !errors.As(err, &hk) {
		t.Errorf("changed key: err = %v, want *HostKeyChangedError", err)
	}
	// A configured fingerprint is enforced.
	cfg3 := f.config()
	cfg3.HostKeyFingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if _, err := Connect(context.Background(), cfg3); !errors.As(err, &hk) {
		t.Errorf("wrong fingerprint: err = %v, want *HostKeyChangedError", err)
	}
	cfg3.HostKeyFingerprint = ssh.FingerprintSHA256(f.srv.HostKey())
	connect(t, cfg3)
}

func TestTransfers(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	c := connect(t, f.config())
	ctx := context.Background()
	// A single streamed upload keeps its mode.
	dst := filepath.Join(f.root, "file.sh")
	body := bytes.Repeat([]byte("0123456789"), 200000) // 2 MB
	if err := c.Upload(ctx, dst, bytes.NewReader(body), 0o750, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, body) {
		t.Errorf("uploaded content differs (%d bytes, want %d)", len(got), len(body))
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o750 {
		t.Errorf("mode %v, want 0750", fi.Mode().Perm())
	}
	// A tree: modes, nested dirs, a symlink followed.
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "a", "b"), 0o755))
	must(os.WriteFile(filepath.Join(src, "a", "b", "x.txt"), []byte("x"), 0o600))
	must(os.WriteFile(filepath.Join(src, "top.sh"), []byte("#!/bin/sh"), 0o755))
	must(os.Symlink("top.sh", filepath.Join(src, "link.sh")))
	tree := filepath.Join(f.root, "tree")
	must(c.UploadDir(ctx, src, tree))
	for p, mode := range map[string]os.FileMode{"a/b/x.txt": 0o600, "top.sh": 0o755, "link.sh": 0o755} {
		fi, err := os.Lstat(filepath.Join(tree, p))
		if err != nil {
			t.Errorf("%s missing: %v", p, err)
			continue
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want regular %v", p, fi.Mode(), mode)
		}
	}
	// A dangling symlink is refused, not dropped.
	must(os.Symlink("nowhere", filepath.Join(src, "dangling")))
	if err := c.UploadDir(ctx, src, filepath.Join(f.root, "tree2")); err == nil || !strings.Contains(err.Error(), "dangling") {
		t.Errorf("dangling symlink: err = %v", err)
	}
	// Downloads.
	var buf bytes.Buffer
	must(c.Download(ctx, dst, &buf))
	if !bytes.Equal(buf.Bytes(), body) {
		t.Errorf("downloaded content differs")
	}
	local := t.TempDir()
	must(c.DownloadDir(ctx, tree, local))
	if b, err := os.ReadFile(filepath.Join(local, "a", "b", "x.txt")); err != nil || string(b) != "x" {
		t.Errorf("downloaded tree: %q %v", b, err)
	}
}

func TestSymlinkLoopRefused(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	c := connect(t, f.config())
	src := t.TempDir()
	if err := os.Symlink(".", filepath.Join(src, "loop")); err != nil {
		t.Fatal(err)
	}
	err := c.UploadDir(context.Background(), src, filepath.Join(f.root, "t"))
	if err == nil || !strings.Contains(err.Error(), "symlink loop") {
		t.Errorf("err = %v, want a symlink loop error", err)
	}
}

func TestDroppedConnection(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	c := connect(t, f.config())
	f.srv.CloseConnections()
	time.Sleep(50 * time.Millisecond)
	err := c.Run(context.Background(), "echo hi", nil, io.Discard, io.Discard)
	if !errors.Is(err, ErrDisconnected) {
		t.Errorf("after drop: %v, want ErrDisconnected", err)
	}
}

func TestAgentAuthAndPause(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	// An SSH agent holding the only authorized key.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	signers, _ := keyring.Signers()
	other := start(t, func(c *sshserver.Config) { c.AuthorizedKeys = []ssh.PublicKey{signers[0].PublicKey()} })
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	cfg := other.config()
	cfg.Signers = nil
	cfg.AgentAuth = true
	cfg.Getenv = func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return sock
		}
		return ""
	}
	cfg.PauseBeforeConnecting = 200 * time.Millisecond
	start := time.Now()
	connect(t, cfg)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("connected after %s, before pause_before_connecting", d)
	}
	// Agent auth without a socket is a clear error, not a hang.
	cfg.Getenv = func(string) string { return "" }
	if _, err := Connect(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is not") {
		t.Errorf("err = %v", err)
	}
	_ = f
}

func TestKeyboardInteractive(t *testing.T) {
	t.Parallel()
	f := start(t, func(c *sshserver.Config) { c.KeyboardInteractiveOnly = true })
	cfg := f.config()
	cfg.Signers, cfg.Password = nil, "pw-123456"
	connect(t, cfg)
	cfg.Password = "wrong-password"
	cfg.HandshakeAttempts = 1
	var ae *AuthError
	if _, err := Connect(context.Background(), cfg); !errors.As(err, &ae) {
		t.Errorf("wrong password: %v, want *AuthError", err)
	}
}

// stallProxy forwards TCP until stalled, then holds every byte: a link
// that died without closing.
type stallProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	stalled bool
	release chan struct{}
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, release: make(chan struct{})}
	t.Cleanup(func() { close(p.release); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
	return p
}

func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		stalled := p.stalled
		p.mu.Unlock()
		if stalled {
			<-p.release
			return
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() { p.mu.Lock(); p.stalled = true; p.mu.Unlock() }

func TestDeadLinkIsDetected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*Config)
	}{
		{"keepalive", func(c *Config) { c.KeepAliveInterval = 50 * time.Millisecond }},
		{"read/write timeout", func(c *Config) { c.ReadWriteTimeout = 300 * time.Millisecond }},
	}
	for _, tt := range tests {
		f := start(t, func(c *sshserver.Config) {
			c.Exec = sshserver.ExecFunc(func(ctx context.Context, s *sshserver.Session) (int, error) {
				<-ctx.Done()
				return 0, ctx.Err()
			})
		})
		p := newStallProxy(t, f.srv.Addr())
		cfg := f.config()
		host, port, _ := net.SplitHostPort(p.ln.Addr().String())
		fmt.Sscan(port, &cfg.Port)
		cfg.Host = host
		tt.set(&cfg)
		c := connect(t, cfg)
		done := make(chan error, 1)
		go func() { done <- c.Run(context.Background(), "wait forever", nil, io.Discard, io.Discard) }()
		time.Sleep(100 * time.Millisecond)
		p.stall()
		select {
		case err := <-done:
			if !errors.Is(err, ErrDisconnected) {
				t.Errorf("%s: %v, want ErrDisconnected", tt.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: a dead link was not detected in 10s", tt.name)
		}
	}
}

func TestPrivateKeyFile(t *testing.T) {
	t.Parallel()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	f := start(t, func(c *sshserver.Config) { c.AuthorizedKeys = []ssh.PublicKey{signer.PublicKey()} })
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.Signers, cfg.PrivateKeyFile = nil, keyFile
	connect(t, cfg)
	cfg.PrivateKeyFile = filepath.Join(t.TempDir(), "missing")
	if _, err := Connect(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "ssh_private_key_file: read private key") {
		t.Errorf("missing key file: %v", err)
	}
}

// A host key is pinned only once authentication succeeded: a server that
// answers first but refuses us (a stale address, an impostor) pins
// nothing, and the real machine is then accepted.
func TestPinOnlyAfterAuthentication(t *testing.T) {
	t.Parallel()
	real := start(t, nil)
	impostor := start(t, func(c *sshserver.Config) {
		c.AuthorizedKeys = []ssh.PublicKey{newSigner(t).PublicKey()}
		c.Password = ""
	})
	pin := &Pin{}
	cfg := impostor.config()
	cfg.Signers, cfg.HostKeyPin, cfg.HandshakeAttempts = []ssh.Signer{real.signer}, pin, 1
	_, err := Connect(context.Background(), cfg)
	var auth *AuthError
	if !errors.As(err, &auth) {
		t.Fatalf("impostor: err = %v, want *AuthError", err)
	}
	if fp := pin.Fingerprint(); fp != "" {
		t.Fatalf("the impostor's key %s was pinned before authentication", fp)
	}
	cfg2 := real.config()
	cfg2.HostKeyPin = pin
	c := connect(t, cfg2)
	if got, want := c.HostKeyFingerprint(), ssh.FingerprintSHA256(real.srv.HostKey()); got != want {
		t.Errorf("pinned %s, want the real machine's %s", got, want)
	}
}
