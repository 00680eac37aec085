// Package vultremu is a local emulator of the Vultr API v2, written from
// Vultr's public API description: the same paths, JSON envelopes, states,
// status codes, error bodies, Bearer auth and cursor paging. Its instances
// are real SSH servers (see package machine). It also injects the faults
// real clouds have: 429 with Retry-After, 5xx bursts, slow answers, a
// create that errors but did create, "locked" on delete, and snapshots that
// hang or fail.
package vultremu

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

//go:embed data/catalogue.json
var catalogueJSON []byte

// Delays are how long the emulated cloud takes. Zero means immediately.
type Delays struct {
	// InstancePending is the install: the instance is pending, its
	// server_status "none" and then "locked", and DELETE answers 500
	// "Server is currently locked" throughout, as real Vultr does while an
	// instance installs. Then it is active, server_status installingbooting.
	InstancePending time.Duration
	// InstanceBooting: installingbooting -> ok.
	InstanceBooting time.Duration
	// SnapshotPending: pending -> complete.
	SnapshotPending time.Duration
}

// RealTimeline is the cloud's observed timeline (boot 60 s, install 90 s,
// snapshot 10 minutes for a 25 GB disk); with Options.TimeScale, tests run
// it in seconds.
var RealTimeline = Delays{InstancePending: 90 * time.Second, InstanceBooting: 60 * time.Second, SnapshotPending: 10 * time.Minute}

// lockedAfter is when an installing instance's server_status turns from
// "none" to "locked": shortly after the create.
func (d Delays) lockedAfter() time.Duration { return d.InstancePending / 10 }

// Options configures a Server.
type Options struct {
	// APIKey is the one valid Bearer token.
	APIKey string
	// Machines boots instances' SSH servers; nil means NoMachines.
	Machines Machines
	Delays   Delays
	Logf     func(format string, args ...any)
	// Seed makes IDs, addresses and probabilistic faults reproducible.
	Seed int64
	// RateLimit, when > 0, answers 429 past this many requests per second,
	// as Vultr does past 30.
	RateLimit int
	// LooseTagFilter makes GET /v2/instances?tag= match every instance with
	// a tag that contains the value. Vultr does not document whether its
	// filter is exact; clients must check tags themselves, and tests prove
	// they do with this on.
	LooseTagFilter bool
	// TimeScale multiplies every delay (0 means 1): 0.01 runs RealTimeline
	// in about 7 seconds.
	TimeScale float64
}

// Server is the emulator. It is an http.Handler.
type Server struct {
	o     Options
	cat   catalogue
	mu    sync.Mutex
	rng   *rand.Rand
	insts map[string]*instance
	keys  map[string]*SSHKey
	snaps map[string]*snapshot
	// order keeps creation order for listing.
	order    []string
	faults   []*Fault
	reqs     []Request
	changes  []StateChange
	window   []time.Time
	timers   map[*time.Timer]struct{}
	closed   bool
	wg       sync.WaitGroup
	ips      map[string]string // main_ip -> instance ID
	deleted  map[string]bool   // instance IDs once deleted
	isos     map[string]*ISO   // private ISOs
	isoOrder []string
}

// Request is one request the emulator answered.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	Status   int
	Duration time.Duration
}

// StateChange records when an object changed state, to measure how fast a
// client reacts.
type StateChange struct {
	Time  time.Time
	ID    string
	Field string
	Value string
}

// New returns a Server.
func New(o Options) *Server {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Machines == nil {
		o.Machines = NoMachines{}
	}
	seed := o.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	s := &Server{
		o:       o,
		rng:     rand.New(rand.NewSource(seed)),
		insts:   map[string]*instance{},
		keys:    map[string]*SSHKey{},
		snaps:   map[string]*snapshot{},
		timers:  map[*time.Timer]struct{}{},
		ips:     map[string]string{},
		deleted: map[string]bool{},
		isos:    map[string]*ISO{},
	}
	if err := json.Unmarshal(catalogueJSON, &s.cat); err != nil {
		panic(fmt.Sprintf("embedded catalogue: %v", err)) // a build-time asset, checked by tests
	}
	return s
}

// Close stops every timer and destroys every machine. When Machines has a
// Close method (package machine's removes its disks), it is called too.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for t := range s.timers {
		t.Stop()
	}
	var ms []Machine
	for _, in := range s.insts {
		if in.machine != nil {
			ms = append(ms, in.machine)
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	for _, m := range ms {
		_ = m.Destroy()
	}
	if c, ok := s.o.Machines.(interface{ Close() }); ok {
		c.Close()
	}
}

// after runs fn after d, unless the server is closed. fn runs with s.mu held.
func (s *Server) after(d time.Duration, fn func()) {
	if s.o.TimeScale > 0 {
		d = time.Duration(float64(d) * s.o.TimeScale)
	}
	if d <= 0 {
		d = time.Millisecond
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		delete(s.timers, t)
		if s.closed {
			s.mu.Unlock()
			return
		}
		fn()
		s.mu.Unlock()
	})
	s.timers[t] = struct{}{}
}

func (s *Server) changed(id, field, value string) {
	s.changes = append(s.changes, StateChange{Time: time.Now(), ID: id, Field: field, Value: value})
}

// Requests returns the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// StateChanges returns the state-change log.
func (s *Server) StateChanges() []StateChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StateChange(nil), s.changes...)
}

// apiError is Vultr's error body.
type apiError struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg, Status: status})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// publicPaths need no API key (the spec's security: []).
var publicPaths = regexp.MustCompile(`^/v2/(regions(/[^/]+/availability)?|plans|plans-metal|os|applications|iso-public)$`)

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	routeRE = regexp.MustCompile(`^/v2/([a-z-]+)(?:/([^/]+))?(?:/([a-z]+))?$`)
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: 200}
	defer func() {
		s.mu.Lock()
		s.reqs = append(s.reqs, Request{Time: start, Method: r.Method, Path: r.URL.Path, Status: sw.status, Duration: time.Since(start)})
		s.mu.Unlock()
		s.o.Logf("%s %s -> %d (%s)", r.Method, r.URL.Path, sw.status, time.Since(start).Round(time.Microsecond))
	}()
	if !publicPaths.MatchString(r.URL.Path) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer ") || strings.TrimPrefix(auth, "Bearer ") != s.o.APIKey || s.o.APIKey == "" {
			writeError(sw, http.StatusUnauthorized, "Invalid API token.")
			return
		}
	}
	if s.rateLimited() {
		sw.Header().Set("Retry-After", "1")
		writeError(sw, http.StatusTooManyRequests, "Rate limit exceeded.")
		return
	}
	if f := s.matchFault(r); f != nil {
		if done := s.applyFault(r.Context(), sw, r, f, s.route); done {
			return
		}
	}
	s.route(sw, r)
}

// route dispatches an authorised request.
func (s *Server) route(sw http.ResponseWriter, r *http.Request) {
	m := routeRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeError(sw, http.StatusNotFound, "Not found.")
		return
	}
	coll, id, action := m[1], m[2], m[3]
	switch coll {
	case "account":
		s.getAccount(sw, r)
	case "regions":
		if id != "" && action == "availability" {
			s.availability(sw, r, id)
			return
		}
		s.listCatalogue(sw, r, "regions", s.cat.Regions)
	case "plans":
		s.listPlans(sw, r)
	case "os":
		s.listCatalogue(sw, r, "os", s.cat.OS)
	case "applications":
		s.listCatalogue(sw, r, "applications", s.cat.Applications)
	case "iso-public":
		s.listCatalogue(sw, r, "public_isos", s.cat.PublicISOs)
	case "iso":
		s.isoRoutes(sw, r, id)
	case "instances":
		s.instances(sw, r, id, action)
	case "snapshots":
		s.snapshots(sw, r, id)
	case "ssh-keys":
		s.sshKeys(sw, r, id)
	default:
		writeError(sw, http.StatusNotFound, "Not found.")
	}
}

func (s *Server) rateLimited() bool {
	if s.o.RateLimit <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	cut := 0
	for cut < len(s.window) && now.Sub(s.window[cut]) > time.Second {
		cut++
	}
	s.window = append(s.window[cut:], now)
	return len(s.window) > s.o.RateLimit
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": map[string]any{
		"name": "Emulator Account", "email": "emulator@example.com",
		"acls": []string{"subscriptions", "provisioning"}, "balance": 0, "pending_charges": 0,
		"last_payment_date": "2026-01-01T00:00:00+00:00", "last_payment_amount": 0,
	}})
}

// newID returns a v4 UUID from the server's random source (seeded, so a
// fault run is reproducible).
func (s *Server) newID() string {
	return uuid.Must(uuid.NewRandomFromReader(s.rng)).String()
}

// newIP picks a free random loopback address for an instance.
func (s *Server) newIP() string {
	for {
		ip := fmt.Sprintf("127.%d.%d.%d", 1+s.rng.Intn(250), s.rng.Intn(256), 1+s.rng.Intn(254))
		if _, used := s.ips[ip]; !used {
			return ip
		}
	}
}

func vultrTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// page applies cursor paging to a list of IDs-with-objects.
type pageMeta struct {
	Total int `json:"total"`
	Links struct {
		Next string `json:"next"`
		Prev string `json:"prev"`
	} `json:"links"`
}

// paginate returns the slice [start:end] for the request's per_page and
// cursor. Cursors are base64("next__<index>"), as Vultr's look.
func paginate(r *http.Request, n int) (start, end int, meta pageMeta, err error) {
	per := 100
	if v := r.URL.Query().Get("per_page"); v != "" {
		p, perr := strconv.Atoi(v)
		if perr != nil || p < 1 {
			return 0, 0, meta, errors.New("Invalid per_page.")
		}
		per = min(p, 500)
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		raw, derr := base64.StdEncoding.DecodeString(c)
		dir, idx, ok := strings.Cut(string(raw), "__")
		i, aerr := strconv.Atoi(idx)
		if derr != nil || !ok || aerr != nil || i < 0 || i > n || (dir != "next" && dir != "prev") {
			return 0, 0, meta, errors.New("Invalid cursor.")
		}
		if dir == "next" {
			start = i
		} else {
			start = max(0, i-per)
		}
	}
	end = min(n, start+per)
	meta.Total = n
	if end < n {
		meta.Links.Next = base64.StdEncoding.EncodeToString([]byte("next__" + strconv.Itoa(end)))
	}
	if start > 0 {
		meta.Links.Prev = base64.StdEncoding.EncodeToString([]byte("prev__" + strconv.Itoa(start)))
	}
	return start, end, meta, nil
}

// Dialer returns a dialer that reaches instances at main_ip:22 (or
// v6_main_ip:22) wherever their machine actually listens.
func (s *Server) Dialer() Dialer { return dialer{s} }

type dialer struct{ s *Server }

func (d dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && port == "22" {
		d.s.mu.Lock()
		for _, in := range d.s.insts {
			if in.machine != nil && (in.MainIP == host || (in.V6MainIP != "" && in.V6MainIP == host)) {
				addr = in.machine.Addr()
				break
			}
		}
		d.s.mu.Unlock()
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// NoMachines boots nothing: instances exist in the API only.
type NoMachines struct{}

// Boot implements Machines.
func (NoMachines) Boot(context.Context, MachineSpec) (Machine, error) { return nil, nil }

// Snapshot implements Machines.
func (NoMachines) Snapshot(context.Context, Machine, string) error { return nil }

// DeleteSnapshot implements Machines.
func (NoMachines) DeleteSnapshot(string) error { return nil }

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
