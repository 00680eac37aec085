package decode

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

type rawProvisioner struct {
	where  string // its path in the template, for messages
	index  int
	typ    string
	node   *Node
	only   []string
	except []string
	scope  []string
	// override maps a build name to the keys that replace the base ones.
	override map[string]*Node
}

type rawPostProcessor struct {
	seq, index int
	typ        string
	node       *Node
	only       []string
	except     []string
	scope      []string
}

func (d *decoder) provisioners(n *Node, s *spec.Spec, opts Options) []rawProvisioner {
	if n.Kind != Array {
		d.errorAt(n.Pos, "provisioners", fmt.Sprintf("want an array of provisioners, got %s", n.Kind), "")
		return nil
	}
	var out []rawProvisioner
	for i, it := range n.Items {
		p := fmt.Sprintf("provisioners[%d]", i)
		o := d.object(it, p)
		if o == nil {
			continue
		}
		typ, tpos, ok := o.raw("type")
		if !ok {
			d.errorAt(it.Pos, p+".type", "the provisioner has no \"type\"", "valid types: "+textdist.QuoteList(provision.Types()))
			continue
		}
		if why := schema.RefusedProvisioners[typ]; why != "" {
			d.errorAt(tpos, p+".type", fmt.Sprintf("the %s provisioner is not supported: %s", typ, why), "valid types: "+textdist.QuoteList(provision.Types()))
			continue
		}
		if _, ok := provision.Kinds[typ]; !ok {
			d.errorAt(tpos, p+".type", fmt.Sprintf("unsupported provisioner type %q", typ), "valid types: "+textdist.QuoteList(provision.Types())+textdist.DidYouMean(typ, provision.Types()))
			continue
		}
		rp := rawProvisioner{where: p, index: i, typ: typ, node: it, override: map[string]*Node{}, scope: it.Scope}
		if m := o.member("only"); m != nil {
			rp.only, _ = d.strListRaw(m.Value, p+".only")
		}
		if m := o.member("except"); m != nil {
			rp.except, _ = d.strListRaw(m.Value, p+".except")
		}
		if m := o.member("override"); m != nil {
			if m.Value.Kind != Object {
				d.errorAt(m.Value.Pos, p+".override", "want an object keyed by build name", "")
			} else {
				for _, kv := range m.Value.Keys {
					if kv.Value.Kind != Object {
						d.errorAt(kv.Value.Pos, p+".override."+kv.Key, "want an object of provisioner keys", "")
						continue
					}
					rp.override[kv.Key] = kv.Value
				}
			}
		}
		out = append(out, rp)
	}
	return out
}

func (d *decoder) postProcessors(n *Node) [][]rawPostProcessor {
	// Forms: "manifest"; {"type": ...}; [ one of those, or an array (a sequence) ].
	var seqs [][]rawPostProcessor
	one := func(seq, idx int, it *Node, p string) (rawPostProcessor, bool) {
		rp := rawPostProcessor{seq: seq, index: idx, scope: it.Scope}
		switch it.Kind {
		case String:
			rp.typ, rp.node = it.Str, &Node{Kind: Object, Pos: it.Pos, Keys: []Member{{Key: "type", KeyPos: it.Pos, Value: it}}}
		case Object:
			t := it.Get("type")
			if t == nil || t.Value.Kind != String {
				d.errorAt(it.Pos, p+".type", "the post-processor has no \"type\"", "valid types: "+textdist.QuoteList(build.PostProcessorTypes()))
				return rp, false
			}
			rp.typ, rp.node = t.Value.Str, it
			if m := it.Get("only"); m != nil {
				rp.only, _ = d.strListRaw(m.Value, p+".only")
			}
			if m := it.Get("except"); m != nil {
				rp.except, _ = d.strListRaw(m.Value, p+".except")
			}
		default:
			d.errorAt(it.Pos, p, fmt.Sprintf("want a post-processor (a type name or an object), got %s", it.Kind), "")
			return rp, false
		}
		if why := schema.RefusedPostProcessors[rp.typ]; why != "" {
			d.errorAt(it.Pos, p+".type", fmt.Sprintf("the %s post-processor is not supported: %s", rp.typ, why), "valid types: "+textdist.QuoteList(build.PostProcessorTypes()))
			return rp, false
		}
		if _, ok := build.PostProcessorKinds[rp.typ]; !ok {
			d.errorAt(it.Pos, p+".type", fmt.Sprintf("unsupported post-processor type %q", rp.typ), "valid types: "+textdist.QuoteList(build.PostProcessorTypes())+textdist.DidYouMean(rp.typ, build.PostProcessorTypes()))
			return rp, false
		}
		return rp, true
	}
	switch n.Kind {
	case String, Object:
		if rp, ok := one(0, 0, n, "post-processors"); ok {
			seqs = append(seqs, []rawPostProcessor{rp})
		}
	case Array:
		for i, it := range n.Items {
			p := fmt.Sprintf("post-processors[%d]", i)
			if it.Kind == Array {
				var seq []rawPostProcessor
				for j, sub := range it.Items {
					if rp, ok := one(i, j, sub, fmt.Sprintf("%s[%d]", p, j)); ok {
						seq = append(seq, rp)
					}
				}
				seqs = append(seqs, seq)
				continue
			}
			if rp, ok := one(i, 0, it, p); ok {
				seqs = append(seqs, []rawPostProcessor{rp})
			}
		}
	default:
		d.errorAt(n.Pos, "post-processors", fmt.Sprintf("want a post-processor or an array of them, got %s", n.Kind), "")
	}
	return seqs
}

// selected applies a provisioner's or post-processor's scope (its HCL2
// build block) and its only/except to a build.
func selected(only, except, scope []string, b *spec.Build) bool {
	if len(scope) > 0 && !slices.Contains(scope, b.Name) {
		return false
	}
	if len(only) > 0 && !matchesAny(only, b) {
		return false
	}
	return !matchesAny(except, b)
}

// matchesAny reports whether any glob matches the build's name or one of
// its aliases ("vultr.web", "app.vultr.web").
func matchesAny(globs []string, b *spec.Build) bool {
	for _, g := range globs {
		for _, n := range append([]string{b.Name}, b.Aliases...) {
			if ok, _ := path.Match(g, n); ok {
				return true
			}
		}
	}
	return false
}

// buildNames lists every name the builds answer to, for messages.
func buildNames(builds []spec.Build) []string {
	var out []string
	for _, b := range builds {
		out = append(out, b.Name)
		out = append(out, b.Aliases...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// checkNames reports only/except entries that name no build: a filter that
// matches nothing would drop a provisioner silently.
func (d *decoder) checkNames(builds []spec.Build, where string, pos spec.Pos, key string, globs []string) {
	for _, g := range globs {
		hit := false
		for i := range builds {
			hit = hit || matchesAny([]string{g}, &builds[i])
		}
		if !hit {
			d.errorAt(pos, where+"."+key, fmt.Sprintf("%s %q names no build", key, g), "builds: "+strings.Join(buildNames(builds), ", ")+textdist.DidYouMean(g, buildNames(builds)))
		}
	}
}

// assemble gives each build its provisioners and post-processors, decoded
// with that build's name and overrides.
func (d *decoder) assemble(s *spec.Spec, provs []rawProvisioner, pps [][]rawPostProcessor, opts Options) {
	// Overrides and filters must name real builds (another cloud's too).
	named := append(append([]spec.Build{}, s.Builds...), d.foreign...)
	for _, rp := range provs {
		where := rp.where
		for name, n := range rp.override {
			if override(rp.override, name, named) == nil {
				d.errorAt(n.Pos, where+".override."+name, fmt.Sprintf("no build is named %q", name), "builds: "+strings.Join(buildNames(named), ", ")+textdist.DidYouMean(name, buildNames(named)))
			}
		}
		d.checkNames(named, where, keyPos(rp.node, "only"), "only", rp.only)
		d.checkNames(named, where, keyPos(rp.node, "except"), "except", rp.except)
	}
	for _, seq := range pps {
		for _, rp := range seq {
			where := fmt.Sprintf("post-processors[%d][%d]", rp.seq, rp.index)
			d.checkNames(named, where, keyPos(rp.node, "only"), "only", rp.only)
			d.checkNames(named, where, keyPos(rp.node, "except"), "except", rp.except)
		}
	}
	// Decode once per build; report each problem once (a provisioner of
	// several builds says the same of each), and every build's own.
	for bi := range s.Builds {
		b := &s.Builds[bi]
		d.in.buildName, d.in.buildType = b.Name, b.Type
		saved := len(d.diags)
		for _, rp := range provs {
			if !selected(rp.only, rp.except, rp.scope, b) {
				continue
			}
			node := rp.node
			if ov := override(rp.override, "", []spec.Build{*b}); ov != nil {
				node = mergeObjects(rp.node, ov)
			}
			if p, ok := d.provisioner(rp, node, s, opts); ok {
				d.checkReach(b, p, rp.where)
				b.Provisioners = append(b.Provisioners, p)
			}
		}
		for _, seq := range pps {
			var out []spec.PostProcessor
			for _, rp := range seq {
				if !selected(rp.only, rp.except, rp.scope, b) {
					continue
				}
				if pp, ok := d.postProcessor(rp, s, opts); ok {
					out = append(out, pp)
				}
			}
			if len(out) > 0 {
				b.PostProcessors = append(b.PostProcessors, out)
			}
		}
		d.dropRepeats(saved)
		d.checkPostProcessors(b)
	}
	d.in.buildName, d.in.buildType = "", ""
}

// dropRepeats drops the diagnostics from index from that say what an
// earlier one says, at the same place.
func (d *decoder) dropRepeats(from int) {
	type said struct {
		pos           spec.Pos
		path, summary string
	}
	seen := map[said]bool{}
	for _, g := range d.diags[:from] {
		seen[said{g.Pos, g.Path, g.Summary}] = true
	}
	out := d.diags[:from]
	for _, g := range d.diags[from:] {
		k := said{g.Pos, g.Path, g.Summary}
		if !seen[k] {
			seen[k] = true
			out = append(out, g)
		}
	}
	d.diags = out
}

func mergeObjects(base, over *Node) *Node { return Merge(base, over, "override") }

// Merge returns base with over's keys replacing or adding to its own, in
// base's order, without the keys named in drop: a provisioner's override,
// an HCL2 build block's source override.
func Merge(base, over *Node, drop ...string) *Node {
	out := &Node{Kind: Object, Pos: base.Pos, Aliases: base.Aliases, Scope: base.Scope}
	for _, m := range base.Keys {
		if slices.Contains(drop, m.Key) {
			continue
		}
		if o := over.Get(m.Key); o != nil {
			out.Keys = append(out.Keys, *o)
			continue
		}
		out.Keys = append(out.Keys, m)
	}
	for _, m := range over.Keys {
		if base.Get(m.Key) == nil {
			out.Keys = append(out.Keys, m)
		}
	}
	return out
}

// placeholders are provisioner-local template data, kept for run time.
var placeholders = map[string]string{
	"Vars": "{{.Vars}}", "Path": "{{.Path}}", "EnvVarFile": "{{.EnvVarFile}}", "Script": "{{.Script}}", "Command": "{{.Command}}",
}

func (d *decoder) provisioner(rp rawProvisioner, node *Node, s *spec.Spec, opts Options) (spec.Provisioner, bool) {
	o := d.object(node, rp.where)
	if o == nil {
		return spec.Provisioner{}, false
	}
	for _, k := range []string{"type", "only", "except", "override"} {
		o.member(k)
	}
	out := spec.Provisioner{Index: rp.index, Type: rp.typ, Pos: node.Pos}
	kind := provision.Kinds[rp.typ]
	before := len(d.diags.Errors())
	d.declared(o, kind.Block, &schema.CommonProvisioner)
	out.PauseBefore, _ = o.dur("pause_before")
	out.Timeout, _ = o.dur("timeout")
	if n, ok := o.intv("max_retries"); ok {
		out.MaxRetries = n
	}
	out.Name, _, _ = o.str("name")
	out.ContinueOnError, _ = o.boolv("continue_on_error")
	out.Config = kind.Decode(fields{o: o, s: s, opts: opts})
	o.unknown(o.accepted(), "a "+rp.typ+" provisioner")
	return out, len(d.diags.Errors()) == before
}

// withPlaceholders decodes execute_command keeping {{.Vars}} and friends.
func (d *decoder) withPlaceholders(fn func()) {
	d.in.data = placeholders
	defer func() { d.in.data = nil }()
	fn()
}

func (d *decoder) postProcessor(rp rawPostProcessor, s *spec.Spec, opts Options) (spec.PostProcessor, bool) {
	p := fmt.Sprintf("post-processors[%d]", rp.seq)
	if rp.index > 0 {
		p = fmt.Sprintf("post-processors[%d][%d]", rp.seq, rp.index)
	}
	o := d.object(rp.node, p)
	if o == nil {
		return spec.PostProcessor{}, false
	}
	for _, k := range []string{"type", "only", "except"} {
		o.member(k)
	}
	out := spec.PostProcessor{Index: rp.seq, Type: rp.typ, Pos: rp.node.Pos}
	before := len(d.diags.Errors())
	kind := build.PostProcessorKinds[rp.typ]
	d.declared(o, kind.Block, &schema.CommonPostProcessor)
	out.KeepInputArtifact, _ = o.boolv("keep_input_artifact")
	out.Name, _, _ = o.str("name")
	out.Config = kind.Decode(fields{o: o, s: s, opts: opts})
	o.unknown(o.accepted(), "a "+rp.typ+" post-processor")
	return out, len(d.diags.Errors()) == before
}

// override returns the override for a build: the one keyed by its name or
// one of its aliases. With a key, it returns the override under that key
// when the key names one of builds (nil when it names none).
func override(ovs map[string]*Node, key string, builds []spec.Build) *Node {
	for k, n := range ovs {
		if key != "" && k != key {
			continue
		}
		for i := range builds {
			b := &builds[i]
			if k == b.Name || slices.Contains(b.Aliases, k) {
				return n
			}
		}
	}
	return nil
}

// keyPos is where an object's key is written, or the object's position.
func keyPos(n *Node, key string) spec.Pos {
	if m := n.Get(key); m != nil {
		return m.KeyPos
	}
	return n.Pos
}

// errorCleanupProvisioners decodes error-cleanup-provisioner: an object in
// JSON, an array (one per HCL2 build block, each scoped to its builds).
func (d *decoder) errorCleanupProvisioners(n *Node, s *spec.Spec, opts Options) []rawProvisioner {
	arr := n
	if n.Kind == Object {
		arr = &Node{Kind: Array, Pos: n.Pos, Items: []*Node{n}}
	}
	out := d.provisioners(arr, s, opts)
	for i := range out {
		out[i].where = "error-cleanup-provisioner"
		if n.Kind == Array {
			out[i].where = fmt.Sprintf("error-cleanup-provisioner[%d]", i)
		}
	}
	return out
}

// assembleErrorCleanup gives each build its error-cleanup-provisioner.
func (d *decoder) assembleErrorCleanup(s *spec.Spec, ecps []rawProvisioner, opts Options) {
	for bi := range s.Builds {
		b := &s.Builds[bi]
		d.in.buildName, d.in.buildType = b.Name, b.Type
		for _, rp := range ecps {
			if !selected(rp.only, rp.except, rp.scope, b) {
				continue
			}
			if p, ok := d.provisioner(rp, rp.node, s, opts); ok {
				p.Index = -1
				b.ErrorCleanup = &p
			}
			break
		}
	}
	d.in.buildName, d.in.buildType = "", ""
}

// checkPostProcessors fails the post-processors whose kind's Check
// refuses them in build b, each judged after those that run before it.
func (d *decoder) checkPostProcessors(b *spec.Build) {
	var earlier []spec.PostProcessor
	for _, seq := range b.PostProcessors {
		for _, pp := range seq {
			if check := build.PostProcessorKinds[pp.Type].Check; check != nil {
				key, problem, fix := check(b, earlier, pp.Config)
				d.reportCheck(pp, key, problem, fix)
			}
			earlier = append(earlier, pp)
		}
	}
}

// reportCheck reports a kind's Check of a post-processor.
func (d *decoder) reportCheck(pp spec.PostProcessor, key, problem, fix string) {
	if problem == "" {
		return
	}
	where := fmt.Sprintf("post-processors[%d]", pp.Index)
	if key != "" {
		where += "." + key
	}
	d.errorAt(pp.Pos, where, problem, fix)
}

// checkReach fails a provisioner that cannot reach the build's machine:
// one that needs a machine in a build that has none, or one its kind's
// Check refuses in this build.
func (d *decoder) checkReach(b *spec.Build, p spec.Provisioner, where string) {
	kind := provision.Kinds[p.Type]
	if b.SSH.Communicator == "none" && !kind.Machineless {
		machineless := provision.MachinelessTypes()
		d.errorAt(p.Pos, where+".type", fmt.Sprintf("the %s provisioner needs a machine, and build %s has communicator = \"none\"", p.Type, b.Name),
			"use "+textdist.QuoteList(machineless)+` there, or give the null builder "ssh_host" and credentials`)
	}
	if kind.Check == nil {
		return
	}
	if problem, fix := kind.Check(b); problem != "" {
		d.errorAt(p.Pos, where+".type", problem, fix)
	}
}
