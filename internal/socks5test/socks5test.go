// Package socks5test is a SOCKS5 server (RFC 1928) with username and
// password authentication (RFC 1929), for tests: enough of one to prove a
// client speaks it, and to see what it asked to connect to. It is not a
// proxy to deploy.
package socks5test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
)

// Server is a running SOCKS5 server.
type Server struct {
	ln             net.Listener
	user, password string
	mu             sync.Mutex
	connects       []string
}

// Start serves on a loopback port until Close.
func Start(user, password string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Server{ln: ln, user: user, password: password}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p, nil
}

// Addr is the server's host:port.
func (p *Server) Addr() string { return p.ln.Addr().String() }

// Close stops the server.
func (p *Server) Close() error { return p.ln.Close() }

// Connects are the addresses clients connected to, in order.
func (p *Server) Connects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...)
}

func (p *Server) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	_, _ = io.ReadFull(r, methods)
	if !bytes.Contains(methods, []byte{2}) {
		_, _ = c.Write([]byte{5, 0xff})
		return
	}
	_, _ = c.Write([]byte{5, 2})
	var ver, ulen [1]byte
	_, _ = io.ReadFull(r, ver[:])
	_, _ = io.ReadFull(r, ulen[:])
	u := make([]byte, ulen[0])
	_, _ = io.ReadFull(r, u)
	var plen [1]byte
	_, _ = io.ReadFull(r, plen[:])
	pw := make([]byte, plen[0])
	_, _ = io.ReadFull(r, pw)
	if string(u) != p.user || string(pw) != p.password {
		_, _ = c.Write([]byte{1, 1})
		return
	}
	_, _ = c.Write([]byte{1, 0})
	var req [4]byte
	if _, err := io.ReadFull(r, req[:]); err != nil || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 1:
		ip := make([]byte, 4)
		_, _ = io.ReadFull(r, ip)
		host = net.IP(ip).String()
	case 3:
		var n [1]byte
		_, _ = io.ReadFull(r, n[:])
		h := make([]byte, n[0])
		_, _ = io.ReadFull(r, h)
		host = string(h)
	default:
		return
	}
	var port [2]byte
	_, _ = io.ReadFull(r, port[:])
	addr := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	p.mu.Lock()
	p.connects = append(p.connects, addr)
	p.mu.Unlock()
	out, err := net.Dial("tcp", addr)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer out.Close()
	_, _ = c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	go func() { _, _ = io.Copy(out, r); out.Close() }()
	_, _ = io.Copy(c, out)
}
