package template

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// syntaxError is a JSON syntax problem at an offset.
type syntaxError struct {
	offset int
	msg    string
}

// parser is a small JSON parser that keeps every value's line and column,
// which encoding/json does not expose per value.
type parser struct {
	file string
	src  []byte
	i    int
	line int
	col  int
	err  *syntaxError
	// dups collects duplicate keys: an error in a template.
	dups spec.Diagnostics
}

func parseJSON(file string, src []byte) (*decode.Node, spec.Diagnostics) {
	p := &parser{file: file, src: src, line: 1, col: 1}
	// A UTF-8 byte order mark is allowed and skipped.
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		p.i = 3
	}
	p.skipSpace()
	n := p.value(0)
	if p.err == nil {
		p.skipSpace()
		if p.i < len(p.src) {
			p.fail("unexpected %s after the top-level value", p.describe())
		}
	}
	if p.err != nil {
		return nil, spec.Diagnostics{p.syntaxDiag()}
	}
	return n, p.dups
}

func (p *parser) pos() spec.Pos { return spec.Pos{File: p.file, Line: p.line, Col: p.col} }

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &syntaxError{offset: p.i, msg: fmt.Sprintf(format, args...)}
	}
}

func (p *parser) syntaxDiag() spec.Diagnostic {
	line, col := lineCol(p.src, p.err.offset)
	return spec.Diagnostic{
		Pos:     spec.Pos{File: p.file, Line: line, Col: col},
		Summary: "JSON syntax error: " + p.err.msg,
		Snippet: decode.Snippet(p.src, line, col),
	}
}

// lineCol converts a byte offset to a 1-based line and a 1-based column
// counted in characters.
func lineCol(src []byte, off int) (int, int) {
	if off > len(src) {
		off = len(src)
	}
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, utf8.RuneCount(src[start:off]) + 1
}

func (p *parser) advance() {
	if p.i >= len(p.src) {
		return
	}
	if p.src[p.i] == '\n' {
		p.line++
		p.col = 1
		p.i++
		return
	}
	_, size := utf8.DecodeRune(p.src[p.i:])
	p.i += size
	p.col++
}

func (p *parser) skipSpace() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\r', '\n':
			p.advance()
		default:
			return
		}
	}
}

func (p *parser) describe() string {
	if p.i >= len(p.src) {
		return "end of file"
	}
	r, _ := utf8.DecodeRune(p.src[p.i:])
	return strconv.QuoteRune(r)
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

func (p *parser) value(depth int) *decode.Node {
	if depth > maxDepth {
		p.fail("nesting deeper than %d levels", maxDepth)
		return nil
	}
	if p.i >= len(p.src) {
		p.fail("unexpected end of file; a value was expected")
		return nil
	}
	pos := p.pos()
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object(pos, depth)
	case c == '[':
		return p.array(pos, depth)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil
		}
		return &decode.Node{Kind: decode.String, Pos: pos, Str: s}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(pos)
	case c == 't':
		return p.literal(pos, "true", &decode.Node{Kind: decode.Bool, Pos: pos, Bool: true})
	case c == 'f':
		return p.literal(pos, "false", &decode.Node{Kind: decode.Bool, Pos: pos})
	case c == 'n':
		return p.literal(pos, "null", &decode.Node{Kind: decode.Null, Pos: pos})
	default:
		p.fail("unexpected %s; a value was expected", p.describe())
		return nil
	}
}

func (p *parser) literal(pos spec.Pos, word string, n *decode.Node) *decode.Node {
	if !strings.HasPrefix(string(p.src[p.i:min(len(p.src), p.i+len(word))]), word) {
		p.fail("unexpected %s; a value was expected (strings need double quotes)", p.describe())
		return nil
	}
	for range word {
		p.advance()
	}
	return n
}

func (p *parser) number(pos spec.Pos) *decode.Node {
	start := p.i
	for p.i < len(p.src) && strings.IndexByte("+-0123456789.eE", p.src[p.i]) >= 0 {
		p.advance()
	}
	lit := string(p.src[start:p.i])
	if _, err := strconv.ParseFloat(lit, 64); err != nil {
		p.i = start
		p.fail("invalid number %q", lit)
		return nil
	}
	return &decode.Node{Kind: decode.Number, Pos: pos, Str: lit}
}

func (p *parser) str() (string, bool) {
	p.advance() // opening quote
	var b strings.Builder
	for {
		if p.i >= len(p.src) {
			p.fail("unterminated string")
			return "", false
		}
		c := p.src[p.i]
		switch {
		case c == '"':
			p.advance()
			return b.String(), true
		case c == '\n':
			p.fail("newline inside a string; use \\n")
			return "", false
		case c < 0x20:
			p.fail("control character in a string")
			return "", false
		case c == '\\':
			p.advance()
			if p.i >= len(p.src) {
				p.fail("unterminated string")
				return "", false
			}
			e := p.src[p.i]
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if p.i+5 > len(p.src) {
					p.fail("short \\u escape")
					return "", false
				}
				v, err := strconv.ParseUint(string(p.src[p.i+1:p.i+5]), 16, 32)
				if err != nil {
					p.fail("invalid \\u escape")
					return "", false
				}
				r := rune(v)
				for k := 0; k < 4; k++ {
					p.advance()
				}
				// A surrogate pair.
				if r >= 0xD800 && r < 0xDC00 && p.i+7 <= len(p.src) && p.src[p.i+1] == '\\' && p.src[p.i+2] == 'u' {
					if v2, err := strconv.ParseUint(string(p.src[p.i+3:p.i+7]), 16, 32); err == nil && v2 >= 0xDC00 && v2 < 0xE000 {
						r = (r-0xD800)<<10 + (rune(v2) - 0xDC00) + 0x10000
						for k := 0; k < 6; k++ {
							p.advance()
						}
					}
				}
				b.WriteRune(r)
			default:
				p.fail("invalid escape \\%c", e)
				return "", false
			}
			p.advance()
		default:
			r, size := utf8.DecodeRune(p.src[p.i:])
			if r == utf8.RuneError && size == 1 {
				p.fail("invalid UTF-8")
				return "", false
			}
			b.WriteRune(r)
			p.advance()
		}
	}
}

func (p *parser) object(pos spec.Pos, depth int) *decode.Node {
	n := &decode.Node{Kind: decode.Object, Pos: pos}
	p.advance() // {
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.advance()
		return n
	}
	seen := map[string]spec.Pos{}
	for {
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != '"' {
			if p.i < len(p.src) && p.src[p.i] == '}' {
				p.fail("trailing comma before '}'")
			} else {
				p.fail("unexpected %s; an object key in double quotes was expected", p.describe())
			}
			return nil
		}
		kpos := p.pos()
		key, ok := p.str()
		if !ok {
			return nil
		}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			p.fail("unexpected %s; ':' was expected after key %q", p.describe(), key)
			return nil
		}
		p.advance()
		p.skipSpace()
		v := p.value(depth + 1)
		if v == nil {
			return nil
		}
		if first, dup := seen[key]; dup {
			p.dups = append(p.dups, spec.Diagnostic{Pos: kpos, Summary: fmt.Sprintf("duplicate key %q", key), Detail: fmt.Sprintf("first set at line %d; remove one", first.Line)})
		}
		seen[key] = kpos
		n.Keys = append(n.Keys, decode.Member{Key: key, KeyPos: kpos, Value: v})
		p.skipSpace()
		if p.i >= len(p.src) {
			p.fail("unexpected end of file; ',' or '}' was expected")
			return nil
		}
		switch p.src[p.i] {
		case ',':
			p.advance()
		case '}':
			p.advance()
			return n
		default:
			p.fail("unexpected %s; ',' or '}' was expected (is a comma missing?)", p.describe())
			return nil
		}
	}
}

func (p *parser) array(pos spec.Pos, depth int) *decode.Node {
	n := &decode.Node{Kind: decode.Array, Pos: pos}
	p.advance() // [
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.advance()
		return n
	}
	for {
		p.skipSpace()
		if p.i < len(p.src) && p.src[p.i] == ']' {
			p.fail("trailing comma before ']'")
			return nil
		}
		v := p.value(depth + 1)
		if v == nil {
			return nil
		}
		n.Items = append(n.Items, v)
		p.skipSpace()
		if p.i >= len(p.src) {
			p.fail("unexpected end of file; ',' or ']' was expected")
			return nil
		}
		switch p.src[p.i] {
		case ',':
			p.advance()
		case ']':
			p.advance()
			return n
		default:
			p.fail("unexpected %s; ',' or ']' was expected (is a comma missing?)", p.describe())
			return nil
		}
	}
}
