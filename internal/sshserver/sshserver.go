// Package sshserver is an in-process SSH server: exec requests with real
// exit statuses, an SFTP subsystem, and public-key, password and
// keyboard-interactive authentication. The emulator's machines serve SSH
// with it, running commands in their sandbox through an ExecHandler, and
// tests use it as a machine they control.
package sshserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Session is one exec (or shell) request.
type Session struct {
	User    string
	Command string // "" for a shell request
	Env     []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// ExecHandler runs a session's command. ctx ends when the client closes the
// channel or the connection drops. A returned error drops the channel
// without an exit status, as a machine that went away would.
type ExecHandler interface {
	Exec(ctx context.Context, s *Session) (exitStatus int, err error)
}

// ExecFunc adapts a function to ExecHandler.
type ExecFunc func(ctx context.Context, s *Session) (int, error)

// Exec implements ExecHandler.
func (f ExecFunc) Exec(ctx context.Context, s *Session) (int, error) { return f(ctx, s) }

// SubsystemHandler serves the "sftp" subsystem on rw.
type SubsystemHandler interface {
	Serve(ctx context.Context, user string, rw io.ReadWriteCloser) error
}

// Config configures a Server.
type Config struct {
	HostKey        ssh.Signer // nil: a fresh ed25519 key
	AuthorizedKeys []ssh.PublicKey
	// Password enables password and keyboard-interactive authentication.
	Password string
	// KeyboardInteractiveOnly accepts the password only through
	// keyboard-interactive, as servers with PasswordAuthentication off do.
	KeyboardInteractiveOnly bool
	// User, when set, is the only user name accepted.
	User string
	Exec ExecHandler
	// SFTP serves the sftp subsystem; when nil and SFTPRoot is set, pkg/sftp
	// serves the host directory SFTPRoot (tests only: paths are not jailed).
	SFTP     SubsystemHandler
	SFTPRoot string
	Logf     func(format string, args ...any)
	// AllowTCPForwarding serves "direct-tcpip" channels, so the server can
	// be a bastion (a jump host). Tests only: the emulator's machines do
	// not forward.
	AllowTCPForwarding bool
}

// Server is a running SSH server.
type Server struct {
	cfg    Config
	ln     net.Listener
	sshCfg *ssh.ServerConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Listen starts a server on addr.
func Listen(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s, err := Serve(ln, cfg)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	return s, nil
}

// Serve starts a server on ln. The server owns ln.
func Serve(ln net.Listener, cfg Config) (*Server, error) {
	if cfg.HostKey == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate host key: %w", err)
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			return nil, fmt.Errorf("host key: %w", err)
		}
		cfg.HostKey = signer
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, ln: ln, conns: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	sc := &ssh.ServerConfig{}
	userOK := func(u string) bool { return cfg.User == "" || u == cfg.User }
	if len(cfg.AuthorizedKeys) > 0 {
		sc.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if !userOK(c.User()) {
				return nil, fmt.Errorf("unknown user %q", c.User())
			}
			for _, k := range cfg.AuthorizedKeys {
				if subtle.ConstantTimeCompare(k.Marshal(), key.Marshal()) == 1 {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("key not authorized")
		}
	}
	if cfg.Password != "" {
		check := func(user string, pw []byte) bool {
			return userOK(user) && subtle.ConstantTimeCompare(pw, []byte(cfg.Password)) == 1
		}
		if !cfg.KeyboardInteractiveOnly {
			sc.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
				if check(c.User(), pw) {
					return &ssh.Permissions{}, nil
				}
				return nil, errors.New("wrong password")
			}
		}
		sc.KeyboardInteractiveCallback = func(c ssh.ConnMetadata, ch ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			ans, err := ch(c.User(), "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(ans) == 1 && check(c.User(), []byte(ans[0])) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	sc.AddHostKey(cfg.HostKey)
	s.sshCfg = sc
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// HostKey is the server's public host key.
func (s *Server) HostKey() ssh.PublicKey { return s.cfg.HostKey.PublicKey() }

// Connections counts live connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// CloseConnections drops every live connection, as a network failure or
// a machine going down would. The server keeps listening.
func (s *Server) CloseConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// Close stops listening, drops every connection and waits for every
// goroutine of the server to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	err := s.ln.Close()
	s.CloseConnections()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	sconn, chans, reqs, err := ssh.NewServerConn(c, s.sshCfg)
	if err != nil {
		s.cfg.Logf("ssh handshake from %s: %v", c.RemoteAddr(), err)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := range reqs {
			// keepalive@openssh.com and friends: answer, do nothing.
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	for nc := range chans {
		if nc.ChannelType() == "direct-tcpip" && s.cfg.AllowTCPForwarding {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.directTCPIP(ctx, nc)
			}()
			continue
		}
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ctx, sconn.User(), ch, creqs)
		}()
	}
	cancel()
	_ = sconn.Close()
	wg.Wait()
}

func (s *Server) session(ctx context.Context, user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var env []string
	started := false
	done := make(chan struct{})
	for {
		select {
		case <-done:
			// The command finished; drain nothing more.
			return
		case r, ok := <-reqs:
			if !ok {
				cancel()
				if started {
					<-done
				}
				return
			}
			switch r.Type {
			case "env":
				var kv struct{ Name, Value string }
				if ssh.Unmarshal(r.Payload, &kv) == nil {
					env = append(env, kv.Name+"="+kv.Value)
				}
				_ = r.Reply(true, nil)
			case "pty-req", "window-change":
				_ = r.Reply(true, nil)
			case "signal":
				// A client signal ends the command.
				cancel()
				if r.WantReply {
					_ = r.Reply(true, nil)
				}
			case "exec", "shell":
				if started {
					_ = r.Reply(false, nil)
					continue
				}
				var cmd string
				if r.Type == "exec" {
					var p struct{ Command string }
					if ssh.Unmarshal(r.Payload, &p) != nil {
						_ = r.Reply(false, nil)
						continue
					}
					cmd = p.Command
				}
				started = true
				_ = r.Reply(true, nil)
				go func() {
					defer close(done)
					s.runExec(ctx, &Session{User: user, Command: cmd, Env: env, Stdin: ch, Stdout: ch, Stderr: ch.Stderr()}, ch)
				}()
			case "subsystem":
				var p struct{ Name string }
				if ssh.Unmarshal(r.Payload, &p) != nil || p.Name != "sftp" || started {
					_ = r.Reply(false, nil)
					continue
				}
				h := s.cfg.SFTP
				if h == nil && s.cfg.SFTPRoot != "" {
					h = dirSFTP(s.cfg.SFTPRoot)
				}
				if h == nil {
					_ = r.Reply(false, nil)
					continue
				}
				started = true
				_ = r.Reply(true, nil)
				go func() {
					defer close(done)
					if err := h.Serve(ctx, user, ch); err != nil && !errors.Is(err, io.EOF) {
						s.cfg.Logf("sftp: %v", err)
					}
					sendExit(ch, 0)
				}()
			default:
				if r.WantReply {
					_ = r.Reply(false, nil)
				}
			}
		}
	}
}

func (s *Server) runExec(ctx context.Context, sess *Session, ch ssh.Channel) {
	if s.cfg.Exec == nil {
		fmt.Fprintln(sess.Stderr, "no command handler")
		sendExit(ch, 127)
		return
	}
	status, err := s.cfg.Exec.Exec(ctx, sess)
	if err != nil {
		// Drop without an exit status: the client sees ExitMissingError.
		s.cfg.Logf("exec %q: %v", sess.Command, err)
		return
	}
	_ = ch.CloseWrite()
	sendExit(ch, status)
}

func sendExit(ch ssh.Channel, status int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(status))
	_, _ = ch.SendRequest("exit-status", false, b[:])
}

// dirSFTP serves a host directory with pkg/sftp. For tests.
type dirSFTP string

func (d dirSFTP) Serve(ctx context.Context, _ string, rw io.ReadWriteCloser) error {
	srv, err := sftp.NewServer(rw, sftp.WithServerWorkingDirectory(string(d)))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	return srv.Serve()
}

// directTCPIP serves a jump: the client asks for a TCP connection to
// host:port, made from here (RFC 4254 7.2).
func (s *Server) directTCPIP(ctx context.Context, nc ssh.NewChannel) {
	var req struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &req); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(req.Host, fmt.Sprint(req.Port)))
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		_ = conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close(); _ = ch.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(ch, conn)
		_ = ch.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(conn, ch)
	_ = conn.Close()
	<-done
	_ = ch.Close()
}
