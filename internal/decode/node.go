package decode

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// Kind is the kind of a Node.
type Kind int

// Node kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// Node is a template value with its position: the front-end-neutral tree
// that decoding works on. The JSON front end builds it from JSON; the HCL2
// front end builds it from evaluated HCL.
type Node struct {
	Kind  Kind
	Pos   spec.Pos
	Str   string // String: the value; Number: the literal
	Bool  bool
	Items []*Node  // Array
	Keys  []Member // Object, in source order

	// Aliases, on a builder, are the other names the build answers to in
	// -only, -except, only, except and override: HCL2's "vultr.web" and
	// "BUILD.vultr.web". The JSON front end sets none.
	Aliases []string
	// Scope, on a provisioner or post-processor, lists the builds (by name)
	// it belongs to: HCL2's build block. Empty means every build.
	Scope []string
}

// Member is one key of an object.
type Member struct {
	Key    string
	KeyPos spec.Pos
	Value  *Node
}

// Get returns the member named key, or nil.
func (n *Node) Get(key string) *Member {
	if n == nil {
		return nil
	}
	for i := range n.Keys {
		if n.Keys[i].Key == key {
			return &n.Keys[i]
		}
	}
	return nil
}

// Snippet is a source line with a caret under col, as every diagnostic
// shows it (tabs kept, so the caret lines up).
func Snippet(src []byte, line, col int) string {
	lines := strings.Split(string(src), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	text := strings.TrimRight(lines[line-1], "\r")
	pad := []rune(text)
	if col-1 < len(pad) {
		pad = pad[:col-1]
	}
	var b strings.Builder
	for _, r := range pad {
		if r == '\t' {
			b.WriteRune('\t')
		} else {
			b.WriteRune(' ')
		}
	}
	return fmt.Sprintf("  %d | %s\n  %s | %s^", line, text, strings.Repeat(" ", len(strconv.Itoa(line))), b.String())
}
