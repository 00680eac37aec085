// Package remote is the SSH communicator: it waits for a machine's SSH
// server, pins its host key for the whole build, runs commands with typed
// exit errors, and moves files over SFTP (or scp).
package remote

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/vultr-image-action/vultr-image-action/internal/ctxtime"
)

// Config is how to reach and log in to a machine.
type Config struct {
	Host string
	Port int // default 22
	User string

	// Authentication, offered in Packer's order: agent, key file,
	// Signers (the build's temporary key), password, keyboard-interactive.
	AgentAuth      bool
	PrivateKeyFile string
	Signers        []ssh.Signer
	Password       string
	// Getenv finds SSH_AUTH_SOCK for AgentAuth.
	Getenv func(string) string

	// Timeout bounds the whole wait for SSH (0: only ctx).
	// HandshakeAttempts bounds authentication failures (0: unlimited).
	Timeout           time.Duration
	HandshakeAttempts int
	// PauseBeforeConnecting waits before the first attempt.
	PauseBeforeConnecting time.Duration
	// KeepAliveInterval sends keepalives; a missed one drops the connection.
	KeepAliveInterval time.Duration
	// ReadWriteTimeout bounds each network read or write (0: none).
	ReadWriteTimeout time.Duration

	// FileTransferMethod is "sftp" (default) or "scp".
	FileTransferMethod string

	// HostKeyFingerprint, when set, must match ("SHA256:...").
	HostKeyFingerprint string
	// HostKeyPin keeps the first host key seen; share it across reconnects
	// of one build so a changed key is refused.
	HostKeyPin *Pin

	// Dial opens the TCP connection; default net.Dialer.DialContext.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Backoff is the first wait between attempts (default 500ms); waits
	// grow to 5s.
	Backoff time.Duration
	// Bastion, when set, is a jump host the target is dialled through.
	Bastion *Config
	// PTY requests a pseudo-terminal for every command (ssh_pty).
	PTY bool

	// CertificateFile is an OpenSSH certificate for PrivateKeyFile.
	CertificateFile string
	// Ciphers and KeyExchanges restrict what is offered (empty: Go's
	// defaults).
	Ciphers, KeyExchanges []string
	// ForwardAgent forwards SSH_AUTH_SOCK's agent to the machine's
	// commands, when there is one.
	ForwardAgent bool
	// Proxy, when set, is a SOCKS5 proxy the machine is dialled through.
	Proxy *Proxy
	// Interactive answers keyboard-interactive questions (a terminal).
	Interactive ssh.KeyboardInteractiveChallenge
	// LocalTunnels and RemoteTunnels are opened on every connection.
	LocalTunnels, RemoteTunnels []Tunnel

	Logf func(format string, args ...any)
}

// Pin holds the host key first seen for a machine.
type Pin struct {
	mu  sync.Mutex
	key ssh.PublicKey
}

// Fingerprint is the pinned key's SHA256 fingerprint, or "".
func (p *Pin) Fingerprint() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key == nil {
		return ""
	}
	return ssh.FingerprintSHA256(p.key)
}

// AuthorizedKey is the pinned key in authorized_keys (and known_hosts)
// form, or "".
func (p *Pin) AuthorizedKey() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key == nil {
		return ""
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p.key)))
}

// ErrDisconnected means the connection dropped before a command reported
// its exit status (a reboot, a shutdown, a network failure).
var ErrDisconnected = errors.New("connection to the machine was lost")

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Status int
	Err    error
}

func (e *ExitError) Error() string { return fmt.Sprintf("exited with status %d", e.Status) }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitStatus returns the status.
func (e *ExitError) ExitStatus() int { return e.Status }

// AuthError is a server that answered but refused every credential.
type AuthError struct {
	User, Addr string
	Err        error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication as %s on %s failed: %v", e.User, e.Addr, e.Err)
}
func (e *AuthError) Unwrap() error { return e.Err }

// HostKeyChangedError is a host key that differs from the pinned or the
// configured one.
type HostKeyChangedError struct {
	Addr, Want, Got string
}

func (e *HostKeyChangedError) Error() string {
	return fmt.Sprintf("host key of %s is %s, want %s: refusing to connect (possible man-in-the-middle, or the machine was replaced)", e.Addr, e.Got, e.Want)
}

// NotReadyError is the last reason SSH was not up when the wait ended.
type NotReadyError struct {
	Addr     string
	Attempts int
	Err      error
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("SSH on %s was not ready after %d attempts: %v", e.Addr, e.Attempts, e.Err)
}
func (e *NotReadyError) Unwrap() error { return e.Err }

// Client is a connection to a machine.
type Client struct {
	cfg            Config
	ssh            *ssh.Client
	bastion        *Client
	fp             string
	mu             sync.Mutex
	sftp           *sftp.Client
	stop           chan struct{}
	closed         sync.Once
	wg             sync.WaitGroup
	agentForwarded bool
	agentConn      io.Closer // the forwarded agent's connection, or nil
}

func (c *Config) addr() string {
	port := c.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// Connect waits until the machine accepts an SSH login and returns the
// connection. An authentication failure is told apart from "not up yet" by
// where the handshake failed, not by error text.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.HostKeyPin == nil {
		cfg.HostKeyPin = &Pin{}
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	if err := sleep(ctx, cfg.PauseBeforeConnecting); err != nil {
		return nil, err
	}
	auth, closeAgent, err := authMethods(cfg)
	if err != nil {
		return nil, err
	}
	defer closeAgent() // the agent's keys are needed only to log in
	var bastion *Client
	if cfg.Bastion != nil {
		b := *cfg.Bastion
		b.Logf = cfg.Logf
		bastion, err = Connect(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("connect to bastion %s: %w", b.addr(), err)
		}
	}
	delay := cfg.Backoff
	authFailures := 0
	var last error
	for attempt := 1; ; attempt++ {
		c, err := dialOnce(ctx, cfg, auth, bastion)
		if err == nil {
			if bastion != nil {
				c.bastion = bastion
			}
			c.startKeepAlive()
			c.forwardAgent()
			if err := c.startTunnels(); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		}
		last = err
		var hk *HostKeyChangedError
		var ae *AuthError
		var an *ssh.AlgorithmNegotiationError
		switch {
		case errors.As(err, &hk):
			closeQuiet(bastion)
			return nil, err
		case errors.As(err, &an):
			// Trying again cannot help: the server accepts none of what
			// ssh_ciphers or ssh_key_exchange_algorithms offer.
			closeQuiet(bastion)
			return nil, fmt.Errorf("%w (check ssh_ciphers and ssh_key_exchange_algorithms)", err)
		case errors.As(err, &ae):
			authFailures++
			if cfg.HandshakeAttempts > 0 && authFailures >= cfg.HandshakeAttempts {
				closeQuiet(bastion)
				return nil, fmt.Errorf("giving up after %d authentication failures: %w", authFailures, err)
			}
		}
		cfg.Logf("SSH attempt %d on %s: %v", attempt, cfg.addr(), err)
		if serr := sleep(ctx, delay); serr != nil {
			closeQuiet(bastion)
			if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, &NotReadyError{Addr: cfg.addr(), Attempts: attempt, Err: last}
			}
			return nil, serr
		}
		delay = min(delay*3/2, 5*time.Second)
	}
}

func closeQuiet(c *Client) {
	if c != nil {
		_ = c.Close()
	}
}

func authMethods(cfg Config) (_ []ssh.AuthMethod, closeAgent func(), _ error) {
	var out []ssh.AuthMethod
	var signers []ssh.Signer
	closeAgent = func() {}
	if cfg.AgentAuth {
		a, conn, err := agentClient(cfg.Getenv)
		if err != nil {
			return nil, closeAgent, fmt.Errorf("ssh_agent_auth: %w", err)
		}
		closeAgent = func() { _ = conn.Close() }
		out = append(out, ssh.PublicKeysCallback(a.Signers))
	}
	if cfg.PrivateKeyFile != "" {
		s, err := signer(cfg.PrivateKeyFile, cfg.CertificateFile)
		if err != nil {
			return nil, closeAgent, fmt.Errorf("ssh_private_key_file: %w", err)
		}
		signers = append(signers, s)
	}
	signers = append(signers, cfg.Signers...)
	if len(signers) > 0 {
		out = append(out, ssh.PublicKeys(signers...))
	}
	if cfg.Password != "" {
		pw := cfg.Password
		out = append(out, ssh.Password(pw), ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			ans := make([]string, len(qs))
			for i := range ans {
				ans[i] = pw
			}
			return ans, nil
		}))
	}
	if cfg.Interactive != nil {
		out = append(out, ssh.KeyboardInteractive(cfg.Interactive))
	}
	if len(out) == 0 {
		return nil, closeAgent, errors.New("no SSH credentials: set ssh_password, ssh_private_key_file or ssh_agent_auth")
	}
	return out, closeAgent, nil
}

// dialOnce makes one connection attempt.
func dialOnce(ctx context.Context, cfg Config, auth []ssh.AuthMethod, bastion *Client) (*Client, error) {
	addr := cfg.addr()
	var conn net.Conn
	var err error
	dial := cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	switch {
	case bastion != nil:
		conn, err = bastion.ssh.DialContext(ctx, "tcp", addr)
	case cfg.Proxy != nil:
		conn, err = proxyDial(ctx, cfg.Proxy, dial, addr)
	default:
		conn, err = dial(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if cfg.ReadWriteTimeout > 0 {
		conn = &deadlineConn{Conn: conn, d: cfg.ReadWriteTimeout}
	}
	// Reaching the host-key check means the server speaks SSH: a failure
	// after it is an authentication failure.
	var keyChecked bool
	var keyErr error
	var seen ssh.PublicKey
	clientCfg := &ssh.ClientConfig{
		User: cfg.User,
		Auth: auth,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			keyChecked, seen = true, key
			keyErr = checkHostKey(cfg, addr, key)
			return keyErr
		},
		Timeout: 15 * time.Second,
		Config:  ssh.Config{Ciphers: cfg.Ciphers, KeyExchanges: cfg.KeyExchanges},
	}
	// The handshake honours ctx: closing the conn ends it.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, clientCfg)
	stop()
	if err != nil {
		_ = conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var hk *HostKeyChangedError
		if errors.As(keyErr, &hk) {
			return nil, hk
		}
		if keyChecked && keyErr == nil {
			return nil, &AuthError{User: cfg.User, Addr: addr, Err: err}
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	// Pinned only now that authentication succeeded: a server that answered
	// first but refused us (a stale address, an impostor) pins nothing.
	if err := cfg.HostKeyPin.pin(addr, seen); err != nil {
		_ = sc.Close()
		return nil, err
	}
	c := &Client{cfg: cfg, ssh: ssh.NewClient(sc, chans, reqs), fp: cfg.HostKeyPin.Fingerprint(), stop: make(chan struct{})}
	return c, nil
}

func checkHostKey(cfg Config, addr string, key ssh.PublicKey) error {
	got := ssh.FingerprintSHA256(key)
	if want := cfg.HostKeyFingerprint; want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return &HostKeyChangedError{Addr: addr, Want: want, Got: got}
	}
	p := cfg.HostKeyPin
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key != nil && subtle.ConstantTimeCompare(p.key.Marshal(), key.Marshal()) != 1 {
		return &HostKeyChangedError{Addr: addr, Want: ssh.FingerprintSHA256(p.key), Got: got}
	}
	return nil
}

// pin keeps key as the machine's host key when none is pinned yet, after
// the connection that presented it authenticated.
func (p *Pin) pin(addr string, key ssh.PublicKey) error {
	if key == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key == nil {
		p.key = key
		return nil
	}
	if subtle.ConstantTimeCompare(p.key.Marshal(), key.Marshal()) != 1 {
		return &HostKeyChangedError{Addr: addr, Want: ssh.FingerprintSHA256(p.key), Got: ssh.FingerprintSHA256(key)}
	}
	return nil
}

// deadlineConn applies a read/write time-out to every operation.
type deadlineConn struct {
	net.Conn
	d time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

func (c *Client) startKeepAlive() {
	iv := c.cfg.KeepAliveInterval
	if iv <= 0 {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			done := make(chan error, 1)
			go func() {
				_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
				done <- err
			}()
			timer := time.NewTimer(3 * iv)
			select {
			case err := <-done:
				timer.Stop()
				if err != nil {
					return
				}
			case <-timer.C:
				c.cfg.Logf("keepalive to %s unanswered; dropping the connection", c.cfg.addr())
				_ = c.ssh.Close()
				return
			case <-c.stop:
				timer.Stop()
				return
			}
		}
	}()
}

// HostKeyFingerprint is the pinned host key's fingerprint.
func (c *Client) HostKeyFingerprint() string { return c.fp }

// Close closes the connection (and the bastion's).
func (c *Client) Close() error {
	var err error
	c.closed.Do(func() {
		close(c.stop)
		c.mu.Lock()
		if c.sftp != nil {
			_ = c.sftp.Close()
		}
		c.mu.Unlock()
		err = c.ssh.Close()
		c.wg.Wait()
		if c.agentConn != nil {
			_ = c.agentConn.Close()
		}
		if c.bastion != nil {
			_ = c.bastion.Close()
		}
	})
	return err
}

// Run runs cmd, streaming its output. It returns nil, an *ExitError, or
// an error wrapping ErrDisconnected. Ending ctx kills the command.
func (c *Client) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	s, err := c.newSession(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if c.agentForwarded {
		if err := agent.RequestAgentForwarding(s); err != nil {
			c.cfg.Logf("agent forwarding refused by the machine: %v", err)
		}
	}
	if c.cfg.PTY {
		if err := s.RequestPty("xterm", 40, 200, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
			return fmt.Errorf("request a pseudo-terminal (ssh_pty): %w", err)
		}
	}
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	if err := s.Start(cmd); err != nil {
		return fmt.Errorf("start command: %w: %w", ErrDisconnected, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = s.Signal(ssh.SIGKILL)
		_ = s.Close()
		<-done
		return ctx.Err()
	}
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		return &ExitError{Status: exit.ExitStatus(), Err: err}
	case errors.As(err, &missing), errors.Is(err, io.EOF):
		return fmt.Errorf("%w (no exit status)", ErrDisconnected)
	default:
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
}

// sleep waits d or until ctx ends.
var sleep = ctxtime.Sleep

// newSession opens a session, and gives up when ctx ends: a wedged server
// may never answer the channel open.
func (c *Client) newSession(ctx context.Context) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := c.ssh.NewSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("open session: %w: %w", ErrDisconnected, r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				_ = r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// IPv6Reachable reports whether this host has a route to the IPv6
// internet. Connecting a UDP socket sends nothing: it only picks a route,
// and fails at once without one (GitHub-hosted runners have none).
func IPv6Reachable() bool {
	c, err := net.Dial("udp6", "[2001:4860:4860::8888]:53")
	if err != nil {
		return false
	}
	defer c.Close()
	la, ok := c.LocalAddr().(*net.UDPAddr)
	return ok && la.IP.IsGlobalUnicast() && !la.IP.IsPrivate()
}
