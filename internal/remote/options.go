package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/net/proxy"
)

// Proxy is a SOCKS5 proxy to dial the machine through (ssh_proxy_*).
type Proxy struct {
	Addr               string // host:port
	Username, Password string
}

// Tunnel forwards connections to Listen, on one side, to Forward, as the
// other side reaches it (ssh_local_tunnels, ssh_remote_tunnels: Packer's
// "port:host:hostport" listens on localhost:port).
type Tunnel struct {
	Listen, Forward string
}

// signer reads a private key file, with its OpenSSH certificate when
// certFile is set.
func signer(keyFile, certFile string) (ssh.Signer, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", keyFile, err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, fmt.Errorf("parse private key %s: %w", keyFile, err)
	}
	if certFile == "" {
		return s, nil
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", certFile, err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %s: %w", certFile, err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%s holds a public key, not an OpenSSH certificate", certFile)
	}
	cs, err := ssh.NewCertSigner(cert, s)
	if err != nil {
		return nil, fmt.Errorf("certificate %s does not match private key %s: %w", certFile, keyFile, err)
	}
	return cs, nil
}

// agentClient connects to the SSH agent at SSH_AUTH_SOCK; the caller
// closes the connection when it no longer needs the agent.
func agentClient(getenv func(string) string) (agent.ExtendedAgent, io.Closer, error) {
	sock := getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("SSH_AUTH_SOCK is not set")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the SSH agent: %w", err)
	}
	return agent.NewClient(conn), conn, nil
}

// proxyDial dials addr through a SOCKS5 proxy (golang.org/x/net/proxy, as
// Packer does).
func proxyDial(ctx context.Context, p *Proxy, base func(ctx context.Context, network, addr string) (net.Conn, error), addr string) (net.Conn, error) {
	var auth *proxy.Auth
	if p.Username != "" || p.Password != "" {
		auth = &proxy.Auth{User: p.Username, Password: p.Password}
	}
	d, err := proxy.SOCKS5("tcp", p.Addr, auth, contextDialer(base))
	if err != nil {
		return nil, fmt.Errorf("SOCKS5 proxy %s: %w", p.Addr, err)
	}
	conn, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("through SOCKS5 proxy %s: %w", p.Addr, err)
	}
	return conn, nil
}

// contextDialer adapts a dial function to proxy's dialer.
type contextDialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (d contextDialer) Dial(network, addr string) (net.Conn, error) {
	return d(context.Background(), network, addr)
}

func (d contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

// forwardAgent lets the machine's commands use the local SSH agent, as
// Packer does unless ssh_disable_agent_forwarding: the client answers the
// machine's agent channels, and each session asks for forwarding. Without
// an agent there is nothing to forward.
func (c *Client) forwardAgent() {
	if !c.cfg.ForwardAgent {
		return
	}
	a, conn, err := agentClient(c.cfg.Getenv)
	if err != nil {
		return
	}
	if err := agent.ForwardToAgent(c.ssh, a); err != nil {
		_ = conn.Close()
		c.cfg.Logf("agent forwarding: %v", err)
		return
	}
	c.agentConn, c.agentForwarded = conn, true
}

// startTunnels opens the build's tunnels on this connection; they close
// with it.
func (c *Client) startTunnels() error {
	for _, t := range c.cfg.LocalTunnels {
		l, err := net.Listen("tcp", t.Listen)
		if err != nil {
			return fmt.Errorf("ssh_local_tunnels: listen on %s here: %w", t.Listen, err)
		}
		c.serve(l, func() (net.Conn, error) { return c.ssh.Dial("tcp", t.Forward) })
	}
	for _, t := range c.cfg.RemoteTunnels {
		l, err := c.ssh.Listen("tcp", t.Listen)
		if err != nil {
			return fmt.Errorf("ssh_remote_tunnels: listen on %s on the machine: %w", t.Listen, err)
		}
		var d net.Dialer
		c.serve(l, func() (net.Conn, error) { return d.Dial("tcp", t.Forward) })
	}
	return nil
}

// serve accepts on l until the client closes, joining each connection to
// one dial opens.
func (c *Client) serve(l net.Listener, dial func() (net.Conn, error)) {
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		<-c.stop
		_ = l.Close()
	}()
	go func() {
		defer c.wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := dial()
			if err != nil {
				c.cfg.Logf("tunnel to %v: %v", l.Addr(), err)
				_ = in.Close()
				continue
			}
			go join(in, out)
		}
	}()
}

// join copies both ways until either side ends.
func join(a, b net.Conn) {
	var once sync.Once
	closeBoth := func() { _ = a.Close(); _ = b.Close() }
	go func() { _, _ = io.Copy(a, b); once.Do(closeBoth) }()
	_, _ = io.Copy(b, a)
	once.Do(closeBoth)
}
