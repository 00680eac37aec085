// Package redact keeps secrets out of output. A Redactor holds the secret
// values of a run (the API key, passwords, private keys, sensitive
// variables) and replaces every occurrence of them, and of the forms they
// commonly take on the way out (base64, URL and JSON escaping), with "***".
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// minLen is the shortest value treated as a secret. Shorter values (say a
// variable set to "1") would shred ordinary output and protect nothing.
const minLen = 4

// Redactor replaces secrets in strings and streams. The zero value is not
// usable; call New. It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]struct{}
	// ordered holds every form of every secret, longest first, so that a
	// secret that contains another is masked whole.
	ordered  []string
	onAdd    []func(string)
	maxLen   int
	replacer *strings.Replacer
}

// New returns a Redactor holding secrets.
func New(secrets ...string) *Redactor {
	r := &Redactor{secrets: map[string]struct{}{}}
	r.Add(secrets...)
	return r
}

// OnAdd registers fn to be called with each new secret form as it is added,
// e.g. to emit ::add-mask:: for it. fn is called for secrets already held.
func (r *Redactor) OnAdd(fn func(secret string)) {
	r.mu.Lock()
	r.onAdd = append(r.onAdd, fn)
	held := append([]string(nil), r.ordered...)
	r.mu.Unlock()
	for _, s := range held {
		fn(s)
	}
}

// Add registers secrets. Each multi-line secret (a private key) is also
// registered line by line, so a line-oriented log can never show a piece.
func (r *Redactor) Add(secrets ...string) {
	var added []string
	r.mu.Lock()
	for _, s := range secrets {
		for _, form := range forms(s) {
			if len(form) < minLen {
				continue
			}
			if _, ok := r.secrets[form]; ok {
				continue
			}
			r.secrets[form] = struct{}{}
			added = append(added, form)
		}
	}
	if len(added) > 0 {
		r.rebuild()
	}
	hooks := append([]func(string){}, r.onAdd...)
	r.mu.Unlock()
	for _, s := range added {
		for _, fn := range hooks {
			fn(s)
		}
	}
}

func (r *Redactor) rebuild() {
	// A new slice: readers (SafeCut, Secrets) keep the one they took.
	r.ordered = make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		r.ordered = append(r.ordered, s)
	}
	sort.Slice(r.ordered, func(i, j int) bool {
		if len(r.ordered[i]) != len(r.ordered[j]) {
			return len(r.ordered[i]) > len(r.ordered[j])
		}
		return r.ordered[i] < r.ordered[j]
	})
	pairs := make([]string, 0, 2*len(r.ordered))
	r.maxLen = 0
	for _, s := range r.ordered {
		pairs = append(pairs, s, Mask)
		if len(s) > r.maxLen {
			r.maxLen = len(s)
		}
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// forms lists the ways a secret may show up in output.
func forms(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	out := []string{s}
	if strings.Contains(s, "\n") {
		for _, line := range strings.Split(s, "\n") {
			line = strings.TrimSpace(line)
			// PEM armour lines are not secret and appear in docs.
			if strings.HasPrefix(line, "-----") {
				continue
			}
			out = append(out, line)
		}
	}
	out = append(out,
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawStdEncoding.EncodeToString([]byte(s)),
		base64.URLEncoding.EncodeToString([]byte(s)),
		url.QueryEscape(s),
		url.PathEscape(s),
	)
	if b, err := json.Marshal(s); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	return out
}

// String returns s with every secret masked.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rep := r.replacer
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Secrets returns the registered secret values (every form), longest first.
func (r *Redactor) Secrets() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]string(nil), r.ordered...)
}

// Error wraps err so that its message is redacted, keeping errors.Is/As.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, msg: r.String(err.Error())}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Writer returns a writer that masks secrets before writing to w. It
// buffers until a newline so a secret split across writes is still masked;
// call Flush (or Close) to write a final unterminated line.
func (r *Redactor) Writer(w io.Writer) *Writer {
	return &Writer{r: r, w: w}
}

// Writer is a line-buffered redacting writer. It is safe for concurrent use;
// each complete line is written to the underlying writer in one Write.
type Writer struct {
	r   *Redactor
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

// maxPending bounds the bytes held while waiting for a newline. Past it the
// writer flushes all but the tail that could still start a secret.
const maxPending = 64 << 10

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if i := bytes.LastIndexByte(w.buf, '\n'); i >= 0 {
		if err := w.emit(w.buf[:i+1]); err != nil {
			return 0, err
		}
		w.buf = append(w.buf[:0], w.buf[i+1:]...)
	}
	if len(w.buf) > maxPending {
		cut := w.r.SafeCut(w.buf)
		if err := w.emit(w.buf[:cut]); err != nil {
			return 0, err
		}
		w.buf = append(w.buf[:0], w.buf[cut:]...)
	}
	return len(p), nil
}

// SafeCut returns where b may be cut so that both parts can be masked on
// their own: no secret (in any of its forms) that starts before the cut
// ends after it, and the tail holds whatever could still be the start of
// a secret that more input completes. Masking b[:cut] and b[cut:] apart
// then shows no more than masking b whole. A line-oriented log that must
// flush a long line early cuts it here.
func (r *Redactor) SafeCut(b []byte) int {
	r.mu.RLock()
	forms, maxLen := r.ordered, r.maxLen
	r.mu.RUnlock()
	cut := len(b) - maxLen + 1
	if maxLen == 0 || cut >= len(b) {
		return len(b)
	}
	for moved := true; moved && cut > 0; {
		moved = false
		// A secret that starts in the maxLen bytes before the cut and runs
		// past it moves the cut to its start; and again from there.
		for start := max(cut-maxLen+1, 0); start < cut; start++ {
			for _, f := range forms {
				if start+len(f) > cut && bytes.HasPrefix(b[start:], []byte(f)) {
					cut, moved = start, true
					break
				}
			}
			if moved {
				break
			}
		}
	}
	return max(cut, 0)
}

func (w *Writer) emit(b []byte) error {
	_, err := io.WriteString(w.w, w.r.String(string(b)))
	return err
}

// Flush writes any buffered partial line.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	err := w.emit(w.buf)
	w.buf = w.buf[:0]
	return err
}

// Close flushes the writer. It does not close the underlying writer.
func (w *Writer) Close() error { return w.Flush() }
