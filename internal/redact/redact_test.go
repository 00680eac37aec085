package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
)

func TestString(t *testing.T) {
	t.Parallel()
	const key = "ABCDEFGHIJKLMNOP1234"
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"plain", []string{key}, "key=" + key + " end", "key=*** end"},
		{"twice", []string{key}, key + key, "******"},
		{"base64", []string{key}, "x " + base64.StdEncoding.EncodeToString([]byte(key)), "x ***"},
		{"json escaped", []string{`pa"ss\word`}, `{"p":"pa\"ss\\word"}`, `{"p":"***"}`},
		{"url escaped", []string{"p@ss word!"}, "u=p%40ss+word%21", "u=***"},
		{"longest first", []string{"secret-long-value", "secret"}, "a secret-long-value b secret", "a *** b ***"},
		{"too short ignored", []string{"1"}, "1 2 3", "1 2 3"},
		{"empty ignored", []string{"", "   "}, "nothing", "nothing"},
		{"pem lines", []string{"-----BEGIN KEY-----\nAAAAline1AAAA\nBBBBline2BBBB\n-----END KEY-----"}, "leak: BBBBline2BBBB", "leak: ***"},
		{"no secrets", nil, "as is", "as is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := New(tt.secrets...).String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWriterSplitAcrossWrites(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-very-secret"
	var out bytes.Buffer
	w := New(secret).Writer(&out)
	for _, chunk := range []string{"line one has hun", "ter2-very-se", "cret inside\nand ", "tail hunter2-very-secret"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, want := out.String(), "line one has *** inside\nand tail ***"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriterBoundsMemory(t *testing.T) {
	t.Parallel()
	const secret = "0123456789abcdef"
	var out bytes.Buffer
	w := New(secret).Writer(&out)
	// A long line with no newline: the writer must flush part of it.
	big := strings.Repeat("x", maxPending+10) + secret
	if _, err := w.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if len(w.buf) > len(secret)+1 && out.Len() == 0 {
		t.Fatalf("nothing flushed with %d bytes pending", len(w.buf))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), secret) {
		t.Errorf("secret leaked in long line")
	}
	if got, want := len(out.String()), maxPending+10+len(Mask); got != want {
		t.Errorf("output length %d, want %d", got, want)
	}
}

func TestErrorKeepsChain(t *testing.T) {
	t.Parallel()
	r := New("tok-secret-123")
	base := fmt.Errorf("call failed with token tok-secret-123: %w", fs.ErrNotExist)
	err := r.Error(base)
	if got, want := err.Error(), "call failed with token ***: file does not exist"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is lost the chain")
	}
	if r.Error(nil) != nil {
		t.Errorf("Error(nil) != nil")
	}
}

func TestOnAddSeesAllForms(t *testing.T) {
	t.Parallel()
	r := New("first-secret")
	var mu sync.Mutex
	var seen []string
	r.OnAdd(func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() })
	r.Add("second-secret")
	mu.Lock()
	defer mu.Unlock()
	has := func(s string) bool {
		for _, v := range seen {
			if v == s {
				return true
			}
		}
		return false
	}
	for _, want := range []string{"first-secret", "second-secret", base64.StdEncoding.EncodeToString([]byte("second-secret"))} {
		if !has(want) {
			t.Errorf("OnAdd never saw %q (saw %q)", want, seen)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r := New("aaaa-secret")
	var out bytes.Buffer
	var mu sync.Mutex
	w := r.Writer(lockedWriter{&out, &mu})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r.Add(fmt.Sprintf("secret-number-%d", i))
			fmt.Fprintf(w, "line %d aaaa-secret secret-number-%d\n", i, i)
		}(i)
	}
	wg.Wait()
	_ = w.Flush()
	if strings.Contains(out.String(), "aaaa-secret") {
		t.Errorf("leak: %s", out.String())
	}
	if got, want := strings.Count(out.String(), "\n"), 8; got != want {
		t.Errorf("lines = %d, want %d", got, want)
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// A secret that straddles the point where a long line is flushed early is
// still masked whole, at every offset around the flush, whether the line
// arrives in one write or in pieces.
func TestWriterMasksSecretsAcrossTheFlushBoundary(t *testing.T) {
	t.Parallel()
	const secret = "straddling-secret-value-0123456789"
	r := New(secret, "-----BEGIN KEY-----\nline-one-of-a-key\nline-two-of-a-key\n-----END KEY-----")
	const chunk = 1000
	pad := strings.Repeat("a", maxPending+2*chunk)
	tail := strings.Repeat("b", 3*chunk) + "\n" // the line goes on past the flush
	// A step shorter than the secret lands in every window where the secret
	// straddles a flush, wherever the flush falls.
	for offset := maxPending - 300; offset <= maxPending+chunk+300; offset += len(secret) / 5 {
		line := pad[:offset] + secret + tail
		var out bytes.Buffer
		w := r.Writer(&out)
		for i := 0; i < len(line); i += chunk {
			if _, err := w.Write([]byte(line[i:min(i+chunk, len(line))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != pad[:offset]+Mask+tail {
			t.Fatalf("secret at offset %d: written as %q", offset, got[max(0, offset-20):])
		}
	}
}

// Masking the two sides of a safe cut apart gives what masking the whole
// gives.
func TestSafeCut(t *testing.T) {
	t.Parallel()
	r := New("abcdef", "cdefgh-longer")
	x := strings.Repeat("x", 40)
	for _, in := range []string{x, x + "abcdef" + x, x + "cdefgh-longer" + x, x[:30] + "abcdefgh-longer" + x[:5], x + "ab", "xx"} {
		cut := r.SafeCut([]byte(in))
		if got, want := r.String(in[:cut])+r.String(in[cut:]), r.String(in); got != want {
			t.Errorf("SafeCut(%q) = %d: the parts mask to %q, the whole to %q", in, cut, got, want)
		}
		if len(in) > 60 && cut == 0 {
			t.Errorf("SafeCut(%q) = 0: a long line is never flushed", in)
		}
	}
}
