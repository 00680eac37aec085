package decode

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/legacyid"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

func (d *decoder) builders(s *spec.Spec, arr *Node, opts Options) {
	names := map[string]spec.Pos{}
	for i, n := range arr.Items {
		p := fmt.Sprintf("builders[%d]", i)
		o := d.object(n, p)
		if o == nil {
			continue
		}
		typ, tpos, ok := o.raw("type")
		if !ok {
			d.errorAt(n.Pos, p+".type", "the builder has no \"type\"", `add "type": "vultr"`)
			continue
		}
		name, npos, _ := o.raw("name")
		if name == "" {
			name, npos = typ, n.Pos
		}
		if typ != "vultr" && typ != "null" {
			// Another cloud's builder: -only/-except must leave it out
			// (see filter); its keys are its plugin's business.
			if strings.EqualFold(typ, "vultr") || textdist.Distance(typ, "vultr") <= 2 {
				d.errorAt(tpos, p+".type", fmt.Sprintf("unsupported builder type %q", typ), `did you mean "vultr"?`)
				continue
			}
			d.foreign = append(d.foreign, spec.Build{Name: name, Type: typ, Pos: tpos, Aliases: n.Aliases})
			continue
		}
		if first, dup := names[name]; dup {
			d.errorAt(npos, p+".name", fmt.Sprintf("build name %q is used twice (first at line %d)", name, first.Line), `give each builder a unique "name"`)
		}
		names[name] = npos
		d.in.buildName, d.in.buildType = name, typ
		b := spec.Build{Name: name, Type: typ, Pos: n.Pos, Aliases: n.Aliases}
		if typ == "null" {
			d.null(o, &b, s)
		} else {
			d.vultr(o, &b, s, opts)
			d.ssh(o, &b, s)
			d.sshInterface(o, &b.SSH)
			o.unknown(schema.Vultr.Accepted(), schema.Vultr.Name)
		}
		if spec.ContainsBuildVar(b.Vultr) || spec.ContainsBuildVar(b.SSH) {
			d.errorAt(n.Pos, p, "a build variable (build.Host, {{build `ID`}}, ...) is used in the builder's configuration", "build variables are known only once the machine exists: use them in provisioners")
		}
		s.Builds = append(s.Builds, b)
	}
	d.in.buildName, d.in.buildType = "", ""
}

// declared applies a block's declarations to the keys o holds: a legacy
// spelling takes effect with a warning that names the key to use, and a
// key of Packer's that this tool refuses fails, naming it and why.
func (d *decoder) declared(o *object, b *schema.Block, common ...*schema.Block) {
	o.decl = append([]*schema.Block{b}, common...)
	o.spellings = b.Spellings()
	for _, m := range o.n.Keys {
		k, ok := b.Lookup(m.Key)
		switch {
		case !ok:
		case k.Refused != "":
			o.used[m.Key] = true
			d.errorAt(m.KeyPos, join(o.path, m.Key), fmt.Sprintf("%q is not supported in %s", m.Key, b.Name), k.Refused)
		case k.Modern != "":
			d.warnAt(m.KeyPos, join(o.path, m.Key), fmt.Sprintf("%q is deprecated", m.Key), fmt.Sprintf("use %q", k.Modern))
		}
	}
	for _, g := range b.Groups() {
		if set := o.setOf(g...); len(set) > 1 {
			m := o.n.Get(set[1])
			d.errorAt(m.KeyPos, join(o.path, set[1]), fmt.Sprintf("set only one of %s", textdist.QuoteList(set)), fmt.Sprintf("they are alternatives; keep one of %s", textdist.QuoteList(g)))
		}
	}
}

func (d *decoder) vultr(o *object, b *spec.Build, s *spec.Spec, opts Options) {
	v := &b.Vultr
	d.declared(o, &schema.Vultr)

	key, kpos, _ := o.str("api_key")
	if key == "" {
		key = opts.Getenv("VULTR_API_KEY")
	}
	if key == "" {
		pos := kpos
		if pos.Line == 0 {
			pos = o.n.Pos
		}
		d.errorAt(pos, join(o.path, "api_key"), "no API key", `set "api_key" (e.g. "{{user `+"`vultr_api_key`"+`}}") or the VULTR_API_KEY environment variable`)
	}
	v.APIKey = key
	d.secret(s, key)

	d.vultrRegion(o, v)
	d.vultrPlan(o, v)
	d.vultrImage(o, v)
	d.vultrLabels(o, v)
	d.vultrOptions(o, v)
	d.vultrTimeouts(o, v)
	d.vultrRetention(o, v)
}

// vultrRegion reads the region: region_id (a v1 number is translated),
// region_code or region_name.
func (d *decoder) vultrRegion(o *object, v *spec.Vultr) {
	if set := o.setOf("region_id", "region_code", "region_name"); len(set) == 0 {
		d.errorAt(o.n.Pos, join(o.path, "region_id"), "no region", `set "region_id" to a region ID such as "ewr" (or a legacy numeric ID such as "1"), or "region_code"/"region_name"`)
	}
	if id, pos, ok := o.str("region_id"); ok {
		v.Region = spec.Ref{ID: id, Key: "region_id", Pos: pos}
		if isNumeric(id) {
			if e, ok := legacyid.Region(id); ok {
				v.Region.ID = e.V2
			} else {
				d.errorAt(pos, join(o.path, "region_id"), fmt.Sprintf("unknown legacy region ID %q", id), "use a v2 region ID such as \"ewr\", \"ord\" or \"fra\"")
			}
		} else {
			v.Region.ID = strings.ToLower(id)
		}
	}
	if code, pos, ok := o.str("region_code"); ok {
		v.Region = spec.Ref{ID: strings.ToLower(code), Key: "region_code", Pos: pos}
	}
	if name, pos, ok := o.str("region_name"); ok {
		v.Region = spec.Ref{Name: name, Key: "region_name", Pos: pos}
	}
}

// vultrPlan reads the plan: plan_id (a v1 number is translated) or plan_name.
func (d *decoder) vultrPlan(o *object, v *spec.Vultr) {
	if set := o.setOf("plan_id", "plan_name"); len(set) == 0 {
		d.errorAt(o.n.Pos, join(o.path, "plan_id"), "no plan", `set "plan_id" to a plan ID such as "vc2-1c-1gb" (or a legacy numeric ID such as "201"), or "plan_name"`)
	}
	if id, pos, ok := o.str("plan_id"); ok {
		v.Plan = spec.Ref{ID: id, Key: "plan_id", Pos: pos}
		if isNumeric(id) {
			if e, ok := legacyid.Plan(id); ok {
				v.Plan.ID = e.V2
				if e.Inferred {
					d.warnAt(pos, join(o.path, "plan_id"), e.Describe("plan")+" by matching specifications; Vultr has not confirmed this mapping", fmt.Sprintf("set \"plan_id\": %q to be sure", e.V2))
				}
			} else {
				d.errorAt(pos, join(o.path, "plan_id"), fmt.Sprintf("unknown legacy plan ID %q", id), "use a v2 plan ID such as \"vc2-1c-1gb\"")
			}
		}
	}
	if name, pos, ok := o.str("plan_name"); ok {
		v.Plan = spec.Ref{Name: name, Key: "plan_name", Pos: pos}
	}
}

// vultrImage reads the one image source.
func (d *decoder) vultrImage(o *object, v *spec.Vultr) {
	sources := []string{"os_id", "os_name", "app_id", "image_id", "snapshot_id", "snapshot_name", "iso_id"}
	set := o.setOf(sources...)
	if len(set) == 0 && !o.has("iso_url") {
		d.errorAt(o.n.Pos, join(o.path, "os_id"), "no image source", "set one of "+textdist.QuoteList(sources)+`, e.g. "os_id": "2284" (Ubuntu 24.04 LTS x64)`)
	}
	if id, pos, ok := o.str("os_id"); ok {
		v.Image = spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{ID: id, Key: "os_id", Pos: pos}}
		if !isNumeric(id) {
			d.errorAt(pos, join(o.path, "os_id"), fmt.Sprintf("os_id must be a number, got %q", id), `use "os_name" to pick an OS by name`)
		} else if e, ok := legacyid.OS(id); ok && e.Name == "" {
			d.warnAt(pos, join(o.path, "os_id"), fmt.Sprintf("OS %s was retired by Vultr", id), "pick a current OS ID from GET /v2/os")
		}
	}
	if name, pos, ok := o.str("os_name"); ok {
		v.Image = spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{Name: name, Key: "os_name", Pos: pos}}
	}
	if id, pos, ok := o.str("app_id"); ok {
		v.Image = spec.Image{Kind: spec.ImageApp, Ref: spec.Ref{ID: id, Key: "app_id", Pos: pos}}
		if !isNumeric(id) {
			d.errorAt(pos, join(o.path, "app_id"), fmt.Sprintf("app_id must be a number, got %q", id), "")
		}
	}
	if id, pos, ok := o.str("image_id"); ok {
		v.Image = spec.Image{Kind: spec.ImageMarket, Ref: spec.Ref{ID: id, Key: "image_id", Pos: pos}}
	}
	if id, pos, ok := o.str("snapshot_id"); ok {
		v.Image = spec.Image{Kind: spec.ImageSnapshot, Ref: spec.Ref{ID: id, Key: "snapshot_id", Pos: pos}}
	}
	if name, pos, ok := o.str("snapshot_name"); ok {
		v.Image = spec.Image{Kind: spec.ImageSnapshot, Ref: spec.Ref{Name: name, Key: "snapshot_name", Pos: pos}}
	}
	if id, pos, ok := o.str("iso_id"); ok {
		v.Image = spec.Image{Kind: spec.ImageISO, Ref: spec.Ref{ID: id, Key: "iso_id", Pos: pos}}
	}
	if k := v.Image.Kind; (k == spec.ImageSnapshot || k == spec.ImageISO) && !o.has("ssh_password") && !o.has("ssh_private_key_file") {
		d.errorAt(v.Image.Ref.Pos, join(o.path, v.Image.Ref.Key), fmt.Sprintf("a build from %s needs \"ssh_password\" or \"ssh_private_key_file\"", v.Image.Ref.Key), "Vultr does not add SSH keys to snapshots or ISOs, so there is no temporary key")
	}
}

// vultrLabels reads the snapshot description, the instance label and the hostname.
func (d *decoder) vultrLabels(o *object, v *spec.Vultr) {
	// Description and label. See README: the seed's rule is kept.
	desc, _, hasDesc := o.str("snapshot_description")
	if !hasDesc || desc == "" {
		desc = "packer-" + fmt.Sprint(d.in.now.Unix())
	}
	v.SnapshotDescription = desc
	label, _, hasLabel := o.str("instance_label")
	switch {
	case hasLabel && label != "":
		v.InstanceLabel = label
	case hasDesc:
		v.InstanceLabel = "Snapshotting: " + desc
	default:
		v.InstanceLabel = "packer-" + fmt.Sprint(d.in.now.Unix())
	}
	v.Hostname, _, _ = o.str("hostname")
}

// vultrOptions reads the instance's options: IPv6, VPC, startup script,
// SSH keys, tags and user data.
func (d *decoder) vultrOptions(o *object, v *spec.Vultr) {
	v.EnableIPv6, _ = o.boolv("enable_ipv6")
	v.EnableVPC, _ = o.boolv("enable_vpc")
	if b, ok := o.boolv("enable_vpc2"); ok && b {
		d.warnAt(o.n.Get("enable_vpc2").KeyPos, join(o.path, "enable_vpc2"), "VPC 2.0 is deprecated by Vultr", "use \"enable_vpc\" with \"vpc_ids\"")
		v.EnableVPC = true
	}
	v.VPCIDs, _ = o.strList("vpc_ids")
	v.ScriptID, _, _ = o.str("script_id")
	v.SSHKeyIDs, _ = o.strList("ssh_key_ids")
	if tags, ok := o.strList("tags"); ok {
		v.Tags = tags
	}
	if tag, _, ok := o.str("tag"); ok && tag != "" {
		v.Tags = []string{tag}
	}
	if ud, _, ok := o.str("userdata"); ok {
		v.UserData = decodeUserData(ud)
	}
}

// vultrTimeouts reads the waits' timeouts and the shutdown command.
func (d *decoder) vultrTimeouts(o *object, v *spec.Vultr) {
	// Timeouts: state_timeout (Packer's 10m) bounds each wait unless the
	// wait has its own. The snapshot wait, unless a timeout is set, lasts
	// as long as the instance's disk needs (0 here: see
	// vultr.SnapshotTimeout); Packer's 10m fails every plan of 55 GB or more.
	v.StateTimeout = 10 * time.Minute
	stateSet := false
	if t, ok := o.dur("state_timeout"); ok && t > 0 { // 0 means the default, as in Packer
		v.StateTimeout, stateSet = t, true
	}
	v.BootTimeout, v.ShutdownTimeout = v.StateTimeout, v.StateTimeout
	if stateSet {
		v.SnapshotTimeout = v.StateTimeout
	}
	// Zero means the default for every wait, as for state_timeout: a wait
	// without end is never what "0s" asks for.
	if t, ok := o.dur("boot_timeout"); ok && t > 0 {
		v.BootTimeout = t
	}
	if t, ok := o.dur("shutdown_timeout"); ok && t > 0 {
		v.ShutdownTimeout = t
	}
	if t, ok := o.dur("snapshot_timeout"); ok {
		v.SnapshotTimeout = t
	}
	v.ShutdownCommand = "shutdown -P now"
	if c, _, ok := o.str("shutdown_command"); ok && c != "" {
		v.ShutdownCommand = c
	}
}

// vultrRetention reads which older snapshots are deleted.
func (d *decoder) vultrRetention(o *object, v *spec.Vultr) {
	if n, ok := o.intv("keep_snapshots"); ok {
		if n < 0 {
			d.errorAt(o.n.Get("keep_snapshots").Value.Pos, join(o.path, "keep_snapshots"), "keep_snapshots must be 0 (keep all) or more", "")
		}
		v.KeepSnapshots = n
	}
	if p, pos, ok := o.str("keep_snapshots_prefix"); ok {
		switch {
		case strings.TrimSpace(p) == "":
			d.errorAt(pos, join(o.path, "keep_snapshots_prefix"), "keep_snapshots_prefix must not be empty: it would match every snapshot in the account", "set it to the stable start of snapshot_description, or remove it")
		case !strings.HasPrefix(v.SnapshotDescription, p):
			d.errorAt(pos, join(o.path, "keep_snapshots_prefix"), fmt.Sprintf("keep_snapshots_prefix %q is not how snapshot_description %q starts: retention would judge other images' snapshots", p, v.SnapshotDescription), "use the stable start of snapshot_description")
		}
		v.KeepSnapshotsPrefix = p
	}
	v.RetentionDryRun, _ = o.boolv("retention_dry_run")
}

// decodeUserData accepts plain text or base64; base64 is decoded so the
// API client encodes it exactly once.
func decodeUserData(s string) []byte {
	trimmed := strings.TrimSpace(s)
	if len(trimmed) >= 8 && len(trimmed)%4 == 0 {
		if b, err := base64.StdEncoding.DecodeString(trimmed); err == nil {
			return b
		}
	}
	return []byte(s)
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// sshInterface reads the vultr builder's ssh_interface: which address
// SSH uses.
func (d *decoder) sshInterface(o *object, c *spec.SSH) {
	iface, pos, ok := o.str("ssh_interface")
	if !ok {
		return
	}
	switch iface {
	case "public_v4", "public_v6":
		c.Interface = iface
	default:
		d.errorAt(pos, join(o.path, "ssh_interface"), fmt.Sprintf("unknown ssh_interface %q", iface), `valid values: "public_v4", "public_v6"`+textdist.DidYouMean(iface, []string{"public_v4", "public_v6"}))
	}
}

// null decodes Packer's null builder: communicator "none" (its steps run
// here), or SSH to a machine that already exists (ssh_host, a user, and a
// way to log in, as Packer requires).
func (d *decoder) null(o *object, b *spec.Build, s *spec.Spec) {
	d.declared(o, &schema.Null)
	if comm, pos, ok := o.raw("communicator"); ok && comm == "none" {
		b.SSH.Communicator = "none"
		for _, m := range o.n.Keys {
			if k, ok := schema.Null.Lookup(m.Key); ok && k.Origin == schema.SDK && m.Key != "communicator" && k.Refused == "" {
				d.errorAt(m.KeyPos, join(o.path, m.Key), fmt.Sprintf("%q has no effect with communicator = \"none\"", m.Key), `remove it, or set "communicator": "ssh" to provision a machine`)
			}
		}
		o.unknown(schema.Null.Accepted(), schema.Null.Name)
		return
	} else if ok && comm != "ssh" {
		d.errorAt(pos, join(o.path, "communicator"), fmt.Sprintf("unsupported communicator %q", comm), `valid values: "ssh", "none"`)
	}
	d.ssh(o, b, s)
	c := &b.SSH
	if c.Host == "" {
		d.errorAt(o.n.Pos, join(o.path, "ssh_host"), "a null builder with SSH needs ssh_host: the machine to provision", `set "ssh_host", or "communicator": "none" to run local steps only`)
	}
	if c.Password == "" && c.PrivateKeyFile == "" && !c.AgentAuth {
		d.errorAt(o.n.Pos, join(o.path, "ssh_password"), "a null builder needs a way to log in", `set one of "ssh_password", "ssh_private_key_file" or "ssh_agent_auth"`)
	}
	for _, k := range []string{"ssh_interface", "ssh_keypair_name", "temporary_key_pair_name", "ssh_clear_authorized_keys"} {
		if m := o.member(k); m != nil {
			d.errorAt(m.KeyPos, join(o.path, k), fmt.Sprintf("%q has no effect in a null builder: there is no instance and no temporary key", k), "remove it")
		}
	}
	o.unknown(schema.Null.Accepted(), schema.Null.Name)
}

func (d *decoder) ssh(o *object, b *spec.Build, s *spec.Spec) {
	c := &b.SSH
	c.Communicator = "ssh"
	if comm, pos, ok := o.raw("communicator"); ok && comm != "ssh" {
		d.errorAt(pos, join(o.path, "communicator"), fmt.Sprintf("unsupported communicator %q", comm), `only "ssh" (and "none", in a null builder) is supported`)
	}
	c.Username, _, _ = o.str("ssh_username")
	if c.Username == "" {
		d.errorAt(o.n.Pos, join(o.path, "ssh_username"), "no ssh_username", `set "ssh_username", usually "root" on Vultr images`)
	}
	c.Port = 22
	if p, ok := o.intv("ssh_port"); ok {
		if p < 1 || p > 65535 {
			d.errorAt(o.n.Get("ssh_port").Value.Pos, join(o.path, "ssh_port"), fmt.Sprintf("ssh_port %d is not a TCP port", p), "use 1-65535")
		}
		c.Port = p
	}
	c.Host, _, _ = o.str("ssh_host")
	// Packer's rule: 5m and 10 attempts only when neither is set.
	t, hasT := o.dur("ssh_timeout")
	a, hasA := o.intv("ssh_handshake_attempts")
	switch {
	case !hasT && !hasA:
		c.Timeout, c.HandshakeAttempts = 5*time.Minute, 10
	default:
		c.Timeout, c.HandshakeAttempts = t, a
	}
	if w, ok := o.dur("ssh_wait_timeout"); ok && w > 0 {
		// Packer's older name: when set, it wins over ssh_timeout.
		d.warnAt(o.n.Get("ssh_wait_timeout").KeyPos, join(o.path, "ssh_wait_timeout"), "ssh_wait_timeout is Packer's older name of ssh_timeout; it is used", `use "ssh_timeout"`)
		c.Timeout = w
	}
	c.PrivateKeyFile, _, _ = o.str("ssh_private_key_file")
	c.Password, _, _ = o.str("ssh_password")
	d.secret(s, c.Password)
	c.AgentAuth, _ = o.boolv("ssh_agent_auth")
	d.sshKeys(o, c, &b.Vultr, s)
	c.PauseBeforeConnecting, _ = o.dur("pause_before_connecting")
	c.KeepAliveInterval = 5 * time.Second
	if k, ok := o.dur("ssh_keep_alive_interval"); ok {
		c.KeepAliveInterval = k
	}
	c.ReadWriteTimeout, _ = o.dur("ssh_read_write_timeout")
	c.FileTransferMethod = "sftp"
	if m, pos, ok := o.str("ssh_file_transfer_method"); ok {
		switch m {
		case "sftp", "scp":
			c.FileTransferMethod = m
		default:
			d.errorAt(pos, join(o.path, "ssh_file_transfer_method"), fmt.Sprintf("unknown ssh_file_transfer_method %q", m), `valid values: "sftp", "scp"`)
		}
	}
	if fp, pos, ok := o.str("ssh_host_key_fingerprint"); ok {
		if !strings.HasPrefix(fp, "SHA256:") {
			d.errorAt(pos, join(o.path, "ssh_host_key_fingerprint"), "ssh_host_key_fingerprint must be an OpenSSH SHA256 fingerprint", `as printed by ssh-keygen -lf, e.g. "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"`)
		}
		c.HostKeyFingerprint = fp
	}
	c.Bastion = d.bastion(o, c, s)
	if c.Bastion != nil && c.Proxy != nil {
		d.errorAt(o.n.Get("ssh_proxy_host").KeyPos, join(o.path, "ssh_proxy_host"), "ssh_proxy_host and ssh_bastion_host exclude each other", "reach the machine through one of them")
	}
	d.sshSession(o, c)
}

// bastion reads the ssh_bastion_* keys: nil without ssh_bastion_host
// (then any other bastion key is an error).
func (d *decoder) bastion(o *object, c *spec.SSH, s *spec.Spec) *spec.Bastion {
	if host, _, ok := o.str("ssh_bastion_host"); ok && host != "" {
		bh := &spec.Bastion{Host: host, Port: 22}
		if p, ok := o.intv("ssh_bastion_port"); ok {
			bh.Port = p
		}
		bh.Username, _, _ = o.str("ssh_bastion_username")
		if bh.Username == "" {
			bh.Username = c.Username
		}
		bh.Password, _, _ = o.str("ssh_bastion_password")
		d.secret(s, bh.Password)
		bh.PrivateKeyFile, _, _ = o.str("ssh_bastion_private_key_file")
		bh.CertificateFile, _, _ = o.str("ssh_bastion_certificate_file")
		if bh.PrivateKeyFile == "" && c.PrivateKeyFile != "" {
			// Packer's rule: the machine's key (and certificate) serve the
			// bastion too.
			bh.PrivateKeyFile, bh.CertificateFile = c.PrivateKeyFile, c.CertificateFile
		}
		if bh.CertificateFile != "" && bh.PrivateKeyFile == "" {
			d.errorAt(o.n.Get("ssh_bastion_certificate_file").KeyPos, join(o.path, "ssh_bastion_certificate_file"), "ssh_bastion_certificate_file needs ssh_bastion_private_key_file", "set the key the certificate certifies")
		}
		bh.AgentAuth, _ = o.boolv("ssh_bastion_agent_auth")
		bh.Interactive, _ = o.boolv("ssh_bastion_interactive")
		if bh.Password == "" && bh.PrivateKeyFile == "" && !bh.AgentAuth && !bh.Interactive {
			d.errorAt(o.n.Get("ssh_bastion_host").KeyPos, join(o.path, "ssh_bastion_host"), "the bastion has no credentials", "set ssh_bastion_password, ssh_bastion_private_key_file, ssh_bastion_agent_auth or ssh_bastion_interactive")
		}
		return bh
	}
	d.needsPartner(o, "ssh_bastion_host", "ssh_bastion_port", "ssh_bastion_username", "ssh_bastion_password", "ssh_bastion_private_key_file",
		"ssh_bastion_certificate_file", "ssh_bastion_agent_auth", "ssh_bastion_interactive")
	return nil
}

// sshSession reads the session's keys: the PTY, the authorized_keys clean
// up, and Packer's temporary key pair, which here is always ed25519.
func (d *decoder) sshSession(o *object, c *spec.SSH) {
	c.PTY, _ = o.boolv("ssh_pty")
	c.ClearAuthorizedKeys, _ = o.boolv("ssh_clear_authorized_keys")
	if kt, pos, ok := o.str("temporary_key_pair_type"); ok && kt != "ed25519" {
		d.warnAt(pos, join(o.path, "temporary_key_pair_type"), fmt.Sprintf("temporary_key_pair_type %q is ignored", kt), "the temporary key is always ed25519")
	}
	if _, ok := o.intv("temporary_key_pair_bits"); ok {
		d.warnAt(o.n.Get("temporary_key_pair_bits").KeyPos, join(o.path, "temporary_key_pair_bits"), "temporary_key_pair_bits is ignored", "the temporary key is always ed25519, which has a fixed size")
	}
}

// needsPartner fails each of keys that o holds without partner.
func (d *decoder) needsPartner(o *object, partner string, keys ...string) {
	for _, k := range keys {
		if m := o.member(k); m != nil {
			d.errorAt(m.KeyPos, join(o.path, k), fmt.Sprintf("%q has no effect without %q", k, partner), fmt.Sprintf("set %q, or remove %q", partner, k))
		}
	}
}

// sshKeys decodes the communicator's key, certificate, algorithm, proxy,
// tunnel and agent keys.
func (d *decoder) sshKeys(o *object, c *spec.SSH, v *spec.Vultr, s *spec.Spec) {
	var pos spec.Pos
	c.KeyPairName, pos, _ = o.str("ssh_keypair_name")
	if c.KeyPairName != "" {
		v.KeyPair = spec.Ref{Name: c.KeyPairName, Key: "ssh_keypair_name", Pos: pos}
	}
	if c.KeyPairName != "" && c.PrivateKeyFile == "" && !c.AgentAuth {
		d.errorAt(pos, join(o.path, "ssh_keypair_name"), "ssh_keypair_name needs a way to log in with that key", `set "ssh_private_key_file" (its private half) or "ssh_agent_auth"`)
	}
	c.TemporaryKeyPairName, _, _ = o.str("temporary_key_pair_name")
	c.CertificateFile, pos, _ = o.str("ssh_certificate_file")
	if c.CertificateFile != "" && c.PrivateKeyFile == "" {
		d.errorAt(pos, join(o.path, "ssh_certificate_file"), "ssh_certificate_file needs ssh_private_key_file", "set the key the certificate certifies")
	}
	algs := ssh.SupportedAlgorithms()
	insecure := ssh.InsecureAlgorithms()
	c.Ciphers = d.algorithms(o, "ssh_ciphers", append(algs.Ciphers, insecure.Ciphers...))
	c.KeyExchanges = d.algorithms(o, "ssh_key_exchange_algorithms", append(algs.KeyExchanges, insecure.KeyExchanges...))
	c.DisableAgentForwarding, _ = o.boolv("ssh_disable_agent_forwarding")
	if host, _, ok := o.str("ssh_proxy_host"); ok && host != "" {
		p := &spec.Proxy{Host: host, Port: 1080}
		if n, ok := o.intv("ssh_proxy_port"); ok {
			p.Port = n
		}
		p.Username, _, _ = o.str("ssh_proxy_username")
		p.Password, _, _ = o.str("ssh_proxy_password")
		d.secret(s, p.Password)
		c.Proxy = p
	} else {
		d.needsPartner(o, "ssh_proxy_host", "ssh_proxy_port", "ssh_proxy_username", "ssh_proxy_password")
	}
	c.LocalTunnels = d.tunnels(o, "ssh_local_tunnels")
	c.RemoteTunnels = d.tunnels(o, "ssh_remote_tunnels")
}

// algorithms reads a list of SSH algorithm names, each one Go's SSH
// client knows.
func (d *decoder) algorithms(o *object, key string, known []string) []string {
	list, ok := o.strList(key)
	if !ok {
		return nil
	}
	for _, a := range list {
		if !slices.Contains(known, a) {
			d.errorAt(o.n.Get(key).Value.Pos, join(o.path, key), fmt.Sprintf("unknown algorithm %q in %s", a, key), "valid: "+strings.Join(known, ", ")+textdist.DidYouMean(a, known))
		}
	}
	return list
}

// tunnels reads Packer's "port:host:hostport" tunnels.
func (d *decoder) tunnels(o *object, key string) []spec.Tunnel {
	list, ok := o.strList(key)
	if !ok {
		return nil
	}
	var out []spec.Tunnel
	for _, v := range list {
		t, err := parseTunnel(v)
		if err != nil {
			d.errorAt(o.n.Get(key).Value.Pos, join(o.path, key), fmt.Sprintf("%s %q: %v", key, v, err), `use "port:host:hostport", e.g. "8080:localhost:80"`)
			continue
		}
		out = append(out, t)
	}
	return out
}

// parseTunnel reads "port:host:hostport", as Packer's ParseTunnelArgument
// does: the listening side is localhost:port.
func parseTunnel(v string) (spec.Tunnel, error) {
	listen, forward, ok := strings.Cut(v, ":")
	if !ok {
		return spec.Tunnel{}, errors.New("want port:host:hostport")
	}
	host, hp, err := net.SplitHostPort(forward)
	if err != nil {
		return spec.Tunnel{}, fmt.Errorf("the forwarding address: %w", err)
	}
	port, err1 := strconv.Atoi(listen)
	hostPort, err2 := strconv.Atoi(hp)
	if err1 != nil || err2 != nil || port < 1 || port > 65535 || hostPort < 1 || hostPort > 65535 {
		return spec.Tunnel{}, errors.New("ports must be 1-65535")
	}
	return spec.Tunnel{Port: port, Host: host, HostPort: hostPort}, nil
}
