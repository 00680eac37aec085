package vultremu

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"time"
)

// FaultKind is what a fault does.
type FaultKind string

// Fault kinds.
const (
	// FaultStatus answers Status (with Retry-After for 429/503) instead of
	// handling the request.
	FaultStatus FaultKind = "status"
	// FaultDelay holds the request for Delay, then handles it (a slow API,
	// or a client time-out when Delay is long).
	FaultDelay FaultKind = "delay"
	// FaultCreateThenError creates the instance (or, with a Path matching
	// /v2/snapshots, the snapshot), then answers Status (500 by default):
	// the create happened, the client cannot tell. With a Delay, a created
	// instance stays out of lists and GETs for that long (eventual
	// consistency): a look-up right after finds nothing, and the instance
	// appears later.
	FaultCreateThenError FaultKind = "create-then-error"
	// FaultMediaType answers with ContentType (default "application/json;
	// charset=utf-8") instead of "application/json", as gateways, proxies
	// and API-compatible endpoints do.
	FaultMediaType FaultKind = "media-type"
	// FaultEmptyBody handles the request, then answers its 2xx status with
	// an empty body (a gateway that drops bodies): what was asked for
	// happened, and the answer does not say what it made.
	FaultEmptyBody FaultKind = "empty-body"
	// FaultDeleteThenError deletes the instance, then answers 500: the
	// client tries again and meets the 400 Vultr answers for a deleted
	// instance.
	FaultDeleteThenError FaultKind = "delete-then-error"
	// FaultLockedDelete answers DELETE /v2/instances/{id} with Vultr's
	// "Server is currently locked" 500.
	FaultLockedDelete FaultKind = "locked-delete"
	// FaultSlowAnswer handles the request at once, then holds its answer
	// for Delay: the create happened, and the client may give up waiting
	// for the answer (a create answered after 65 s).
	FaultSlowAnswer FaultKind = "slow-answer"
	// FaultInstanceError makes new instances fail their install:
	// server_status "error" (Vultr reports it for a failed deploy).
	FaultInstanceError FaultKind = "instance-error"
	// FaultOddStatus makes new instances pass through server_status
	// "isomounting" and a status this emulator's clients may not know
	// ("migrating") on their way to ok.
	FaultOddStatus FaultKind = "odd-status"
	// FaultHangSnapshot leaves new snapshots pending forever.
	FaultHangSnapshot FaultKind = "hang-snapshot"
	// FaultFailSnapshot makes new snapshots fail.
	FaultFailSnapshot FaultKind = "fail-snapshot"
	// FaultSnapshotBootFail makes an instance created from a snapshot
	// never come up: the API reports it ok (the hypervisor booted it), and
	// its system never answers SSH (a broken first boot).
	FaultSnapshotBootFail FaultKind = "snapshot-boot-fail"
)

// Fault is one injected failure. Count limits how often it fires (0: every
// time); Probability, when > 0, fires it at random (seeded by Options.Seed).
type Fault struct {
	Kind        FaultKind     `json:"kind"`
	Method      string        `json:"method,omitempty"`
	Path        string        `json:"path,omitempty"` // regular expression on the URL path
	Status      int           `json:"status,omitempty"`
	RetryAfter  int           `json:"retry_after,omitempty"` // seconds
	Delay       time.Duration `json:"delay,omitempty"`
	Count       int           `json:"count,omitempty"`
	Probability float64       `json:"probability,omitempty"`
	ContentType string        `json:"content_type,omitempty"` // FaultMediaType

	re    *regexp.Regexp
	fired int
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Path != "" {
		f.re = regexp.MustCompile(f.Path)
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// fire reports whether f fires now; s.mu must be held.
func (s *Server) fire(f *Fault) bool {
	if f.Count > 0 && f.fired >= f.Count {
		return false
	}
	if f.Probability > 0 && s.rng.Float64() >= f.Probability {
		return false
	}
	f.fired++
	return true
}

func (s *Server) matchFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		switch f.Kind {
		case FaultStatus, FaultDelay, FaultSlowAnswer, FaultMediaType, FaultEmptyBody:
		default:
			continue
		}
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if f.re != nil && !f.re.MatchString(r.URL.Path) {
			continue
		}
		if s.fire(f) {
			return f
		}
	}
	return nil
}

// applyFault answers or delays the request; it reports whether it answered.
// handle serves the request (for faults that let it happen).
func (s *Server) applyFault(ctx context.Context, w http.ResponseWriter, r *http.Request, f *Fault, handle func(http.ResponseWriter, *http.Request)) bool {
	switch f.Kind {
	case FaultMediaType, FaultEmptyBody:
		rec := httptest.NewRecorder()
		handle(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		switch {
		case f.Kind == FaultMediaType && rec.Header().Get("Content-Type") == "application/json":
			ct := f.ContentType
			if ct == "" {
				ct = "application/json; charset=utf-8"
			}
			w.Header().Set("Content-Type", ct)
		case f.Kind == FaultEmptyBody && rec.Code/100 == 2:
			body = nil
			w.Header().Del("Content-Type")
			w.Header().Set("Content-Length", "0")
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
		return true
	case FaultSlowAnswer:
		rec := httptest.NewRecorder()
		handle(rec, r.WithContext(context.WithoutCancel(ctx)))
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return true // the client gave up; what it asked for happened
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return true
	case FaultDelay:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return true
		}
		return false
	default:
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		msg := "Internal server error."
		switch status {
		case http.StatusTooManyRequests:
			msg = "Rate limit exceeded."
		case http.StatusBadGateway:
			msg = "Bad gateway."
		case http.StatusServiceUnavailable:
			msg = "Service unavailable."
		}
		writeError(w, status, msg)
		return true
	}
}

func (s *Server) kindFiresLocked(kind FaultKind) *Fault {
	for _, f := range s.faults {
		if f.Kind == kind && s.fire(f) {
			return f
		}
	}
	return nil
}

// createFault reports whether a create that happened answers an error,
// with which status, and how long the instance stays hidden. path is the
// create's URL path (instances or snapshots); a fault without a Path fires
// on instance creates only.
func (s *Server) createFault(path string) (status int, hide time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Kind != FaultCreateThenError {
			continue
		}
		if f.re != nil && !f.re.MatchString(path) || f.re == nil && path != "/v2/instances" {
			continue
		}
		if s.fire(f) {
			if f.Status == 0 {
				return http.StatusInternalServerError, f.Delay, true
			}
			return f.Status, f.Delay, true
		}
	}
	return 0, 0, false
}

// lockFault is called with s.mu held.
func (s *Server) lockFault() bool { return s.kindFiresLocked(FaultLockedDelete) != nil }

// snapshotFault is called with s.mu held.
func (s *Server) snapshotFault() (hang, fail bool) {
	return s.kindFiresLocked(FaultHangSnapshot) != nil, s.kindFiresLocked(FaultFailSnapshot) != nil
}
