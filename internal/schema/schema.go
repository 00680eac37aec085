// Package schema declares, once, the keys each block of a template may
// hold: for each, its type, default, origin (Packer's plugin or SDK, a
// legacy plugin, or this tool), a one-line doc, and whether it is a legacy
// spelling of another key or a key of Packer's that this tool refuses, and
// why. The front ends' unknown-key errors and "did you mean", deprecation
// warnings and refusals, and the key tables of docs/templates.md all come
// from here; testdata/packer holds Packer's own lists, read from its
// source, and a test proves every key there is declared here.
package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Type is a key's value type, as HCL2 spells it.
type Type string

// Types.
const (
	String     Type = "string"
	Number     Type = "number"
	Bool       Type = "bool"
	Duration   Type = "duration"
	StringList Type = "list(string)"
	StringMap  Type = "map(string)"
	NumberList Type = "list(number)" // also Packer's []byte
)

// PackerVersion is the Packer release whose surface this tool implements:
// its template language, keys and functions.
const PackerVersion = "1.16.0"

// Origin is where a key comes from.
type Origin string

// Origins.
const (
	Core   Origin = "packer"                     // Packer core (type, name, packer_*)
	Plugin Origin = "packer-plugin-vultr v2.7.0" // the vultr plugin's own keys
	SDK    Origin = "packer-plugin-sdk v0.6.7"   // the communicator, shell, shell-local...
	Legacy Origin = "older vultr plugins"        // a spelling an older plugin used
	Ours   Origin = "vultr-image-action"         // our addition
)

// Key is one key of a block.
type Key struct {
	Name    string
	Type    Type
	Default string // as the docs show it; "" for none
	Doc     string // one line
	Origin  Origin
	// Modern is set on a legacy spelling: the key to use instead. The
	// legacy key still takes effect, with a warning.
	Modern string
	// Refused is why validate fails on this key, naming it; "" when the
	// key is accepted.
	Refused string
	// OneOf names a group of alternatives: of the keys of a block that
	// share it, a template sets at most one. A key and its legacy
	// spellings are alternatives too, without it.
	OneOf string
}

// Block is a kind of block: a builder, a provisioner or a post-processor.
type Block struct {
	// ID names the block's generated section in docs/templates.md.
	ID string
	// Name is how errors name the block: "a vultr builder".
	Name string
	Keys []Key
}

// Lookup returns the key called name.
func (b *Block) Lookup(name string) (Key, bool) {
	i := slices.IndexFunc(b.Keys, func(k Key) bool { return k.Name == name })
	if i < 0 {
		return Key{}, false
	}
	return b.Keys[i], true
}

// Accepted returns the keys that take effect (legacy spellings included).
func (b *Block) Accepted() []string {
	var out []string
	for _, k := range b.Keys {
		if k.Refused == "" {
			out = append(out, k.Name)
		}
	}
	return out
}

// Groups are the block's sets of alternatives, in declaration order: the
// keys sharing a OneOf, then each key with its legacy spellings.
func (b *Block) Groups() [][]string {
	var groups [][]string
	index := map[string]int{}
	add := func(group, key string) {
		i, ok := index[group]
		if !ok {
			i, index[group] = len(groups), len(groups)
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], key)
	}
	for _, k := range b.Keys {
		if k.OneOf != "" && k.Refused == "" {
			add("oneof:"+k.OneOf, k.Name)
		}
	}
	for _, k := range b.Keys {
		if k.Modern != "" {
			if _, ok := index["modern:"+k.Modern]; !ok {
				add("modern:"+k.Modern, k.Modern)
			}
			add("modern:"+k.Modern, k.Name)
		}
	}
	return groups
}

// Spellings are, for each key, its legacy spellings of the same type, in
// declaration order: a decoder reads a key from whichever it finds. (A
// spelling of another type, such as tag for tags, is read by the
// decoder itself.)
func (b *Block) Spellings() map[string][]string {
	out := map[string][]string{}
	for _, k := range b.Keys {
		if m, ok := b.Lookup(k.Modern); ok && k.Modern != "" && m.Type == k.Type {
			out[k.Modern] = append(out[k.Modern], k.Name)
		}
	}
	return out
}

// Markdown is the block's key table for docs/templates.md: every key a
// template may use, then those refused, each with why.
func (b *Block) Markdown() string {
	var sb strings.Builder
	sb.WriteString("| Key | Type | Default | Origin | Meaning |\n|---|---|---|---|---|\n")
	for _, k := range b.Keys {
		if k.Refused != "" {
			continue
		}
		doc := k.Doc
		if k.Modern != "" {
			doc = fmt.Sprintf("legacy spelling of `%s` (a warning says so)", k.Modern)
		}
		fmt.Fprintf(&sb, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, cell(k.Default), k.Origin, cell(doc))
	}
	var alts []string
	for _, g := range b.Groups() {
		alts = append(alts, "`"+strings.Join(g, "`, `")+"`")
	}
	if len(alts) > 0 {
		sb.WriteString("\nAlternatives (set at most one of each; `validate` names both): " + strings.Join(alts, "; ") + ".\n")
	}
	var refused []Key
	for _, k := range b.Keys {
		if k.Refused != "" {
			refused = append(refused, k)
		}
	}
	if len(refused) > 0 {
		sb.WriteString("\nRefused by name (`validate` fails, saying why):\n\n| Key | Origin | Why |\n|---|---|---|\n")
		for _, k := range refused {
			fmt.Fprintf(&sb, "| `%s` | %s | %s |\n", k.Name, k.Origin, cell(k.Refused))
		}
	}
	return sb.String()
}

func cell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

// Blocks is every declared block.
func Blocks() []*Block {
	return []*Block{&Vultr, &Null, &Shell, &ShellLocal, &File, &Breakpoint, &Sleep, &AnsibleLocal, &Ansible, &HCPSBOM, &Manifest, &Provenance, &VultrVerify, &CommonProvisioner, &CommonPostProcessor}
}

var (
	// CommonProvisioner and CommonPostProcessor are the keys every
	// provisioner or post-processor block holds, as blocks.
	CommonProvisioner   = Block{ID: "provisioner", Name: "every provisioner", Keys: ProvisionerCommon}
	CommonPostProcessor = Block{ID: "post-processor", Name: "every post-processor", Keys: PostProcessorCommon}
)

// RefusedMarkdown lists, for docs/compatibility.md, every key of Packer's
// that a block refuses, and why.
func RefusedMarkdown() string {
	var sb strings.Builder
	sb.WriteString("| Block | Key | Why |\n|---|---|---|\n")
	for _, b := range Blocks() {
		for _, k := range b.Keys {
			if k.Refused != "" {
				fmt.Fprintf(&sb, "| %s | `%s` | %s |\n", strings.TrimPrefix(strings.TrimPrefix(b.Name, "a "), "an "), k.Name, cell(k.Refused))
			}
		}
	}
	return sb.String()
}
