package build

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// state is everything one build learns as it goes. It is typed: no bag.
type state struct {
	b        *spec.Build
	run      *runState
	cloud    Cloud
	resolved *vultr.Resolved
	runTag   string

	key *keyPair
	// sharedKey is the run's key this build holds; keyMu guards
	// keyReleased: the build lets go of it once, by the step after the
	// connection or else by cleanup.
	sharedKey   *sharedKey
	keyMu       sync.Mutex
	keyReleased bool

	instance *vultr.Instance
	password string // the instance's root password, from the create response
	host     string
	comm     Comm
	pin      *remote.Pin
	// bastionPin is the bastion's host key, pinned at the first
	// connection: reconnects and the ansible provisioner check it.
	bastionPin *remote.Pin

	snapshot *vultr.Snapshot
	sbom     *SBOM // the last hcp-sbom provisioner's

	// decision is what -on-error decided for this failed build.
	decision string

	keptMu sync.Mutex
	kept   []leftovers.Resource // kept on purpose, with why
}

// markKept records a resource kept on purpose, and tells the tracker why.
func (st *state) markKept(o Options, r leftovers.Resource) {
	o.Tracker.Keep(r.Kind, r.ID, r.Why)
	st.keptMu.Lock()
	st.kept = append(st.kept, r)
	st.keptMu.Unlock()
}

// runOne runs one build, top to bottom. Each step that creates something
// pushes its undo onto the cleanup stack the moment the thing has an ID.
func runOne(ctx context.Context, s *spec.Spec, b *spec.Build, p prepared, run *runState, r *Result, o Options) {
	rv := p.resolved
	st := &state{b: b, run: run, cloud: p.cloud, resolved: rv, runTag: leftovers.RunTag(o.RunID, b.Name), pin: &remote.Pin{}, bastionPin: &remote.Pin{}}
	r.Region, r.Plan, r.Image = rv.Region, rv.Plan, rv.ImageName
	r.Start = o.Now()
	var undo cleanups

	err := func() error {
		steps := []struct {
			name string
			run  func(context.Context, *state, *cleanups, Options) error
			skip bool
		}{
			{"create temporary SSH key", stepCreateSSHKey, false},
			{"create instance", stepCreateInstance, false},
			{"wait for instance", stepWaitInstance, false},
			{"connect over SSH", stepConnect, false},
			{"delete temporary SSH key from the account", stepDeleteSSHKey, false},
			{"provision", stepProvision, false},
			{"remove temporary key from authorized_keys", stepClearAuthorizedKeys, !b.SSH.ClearAuthorizedKeys},
			{"shut down", stepShutdown, false},
			{"create snapshot", stepCreateSnapshot, false},
			{"wait for snapshot", stepWaitSnapshot, false},
		}
		for _, step := range steps {
			if step.skip {
				continue
			}
			if err := r.phase(ctx, o, step.name, func(ctx context.Context) error { return step.run(ctx, st, &undo, o) }); err != nil {
				return err
			}
			if st.snapshot != nil {
				r.SnapshotID = st.snapshot.ID
			}
		}
		return nil
	}()

	// Cleanup: always, on a context of its own (see cleanups.run).
	cerr := r.phase(ctx, o, "clean up", func(context.Context) error {
		if err != nil && ctx.Err() == nil && st.instance != nil && st.onError(ctx, o, err) != "cleanup" {
			keep(st, r, o)
			return nil
		}
		budget := o.CleanupTimeout
		if ctx.Err() != nil {
			budget = o.CancelBudget
		}
		res := undo.run(ctx, o.Stop, budget)
		r.Left = res.left
		return res.err
	})
	st.keptMu.Lock()
	r.Kept = st.kept
	st.keptMu.Unlock()

	r.ArtifactID, r.BuilderID = r.SnapshotID, "packer.vultr"
	r.SBOM = st.sbom
	if st.snapshot != nil && st.snapshot.Description != "" {
		r.Description = st.snapshot.Description
	}

	// After a successful build: post-processors, then retention when it is
	// asked for. Their failure fails the build but never hides the
	// snapshot ID.
	if err == nil && cerr == nil && len(b.PostProcessors) > 0 {
		err = r.phase(ctx, o, "post-process", func(ctx context.Context) error { return postProcess(ctx, st, s, b, r, o) })
	}
	if err == nil && cerr == nil && b.Vultr.KeepSnapshots > 0 {
		err = r.phase(ctx, o, "snapshot retention", func(ctx context.Context) error { return retain(ctx, st, o) })
	}

	r.finish(ctx, b, errors.Join(err, cerr), o)
}

// finish records how a build ended, and says so.
func (r *Result) finish(ctx context.Context, b *spec.Build, err error, o Options) {
	r.End = o.Now()
	r.Err = err
	switch {
	case r.Err == nil:
		r.Status = Succeeded
		o.UI.Success(b.Name, fmt.Sprintf("Build '%s' finished after %s.", b.Name, r.Duration().Round(time.Millisecond)))
	case ctx.Err() != nil:
		r.Status = Cancelled
		r.Err = fmt.Errorf("build %s cancelled: %w", b.Name, r.Err)
	default:
		r.Status = Failed
		r.Err = fmt.Errorf("build %s: %w", b.Name, r.Err)
	}
}

// phase runs fn as a named, timed phase of the build.
func (r *Result) phase(ctx context.Context, o Options, name string, fn func(context.Context) error) error {
	end := o.UI.Phase(r.Name, name)
	p := Phase{Name: name, Start: o.Now()}
	err := fn(ctx)
	p.End, p.Err = o.Now(), err
	r.Phases = append(r.Phases, p)
	end()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// stepCreateSSHKey gets the run's temporary ed25519 key in this account
// (see sharedKey): the first build creates it, the others wait for it.
// None for an image that brings its own credentials (snapshots and ISOs,
// as in Packer).
func stepCreateSSHKey(ctx context.Context, st *state, undo *cleanups, o Options) error {
	if k := st.b.Vultr.Image.Kind; k == spec.ImageSnapshot || k == spec.ImageISO {
		o.UI.Message(st.b.Name, "Image brings its own credentials; no temporary key")
		return nil
	}
	if st.resolved.KeyPairID != "" {
		o.UI.Message(st.b.Name, fmt.Sprintf("Installing the account's SSH key %q (ssh_keypair_name); no temporary key", st.b.SSH.KeyPairName))
		return nil
	}
	k, create := st.run.holdSSHKey(st.cloud, st.b.SSH.TemporaryKeyPairName, o.RunID)
	if create {
		k.create(ctx, st.cloud, o)
	}
	err := k.wait(ctx)
	st.sharedKey = k
	res := leftovers.Resource{Kind: leftovers.SSHKey, Run: o.RunID, Name: k.name}
	if err == nil {
		res.ID = k.id
	}
	undo.pushDelete(res, func(ctx context.Context) error { return st.releaseSSHKey(ctx, o) })
	if err != nil {
		return err
	}
	st.key = k.pair
	if create {
		o.UI.Message(st.b.Name, "Created temporary SSH key "+k.id)
	} else {
		o.UI.Message(st.b.Name, "Using the run's temporary SSH key "+k.id)
	}
	return nil
}

// releaseSSHKey lets go of the run's key, once per build: the last build to
// let go deletes it.
func (st *state) releaseSSHKey(ctx context.Context, o Options) error {
	st.keyMu.Lock()
	defer st.keyMu.Unlock()
	if st.keyReleased || st.sharedKey == nil {
		return nil
	}
	if err := st.sharedKey.release(ctx, st, o); err != nil {
		return err
	}
	st.keyReleased = true
	return nil
}

// stepDeleteSSHKey deletes the temporary key from the account as soon as
// the machine has let it in: the machine keeps it in authorized_keys (a
// reconnect still works), and the account no longer needs it. The delete
// then costs no time at the end, where parallel builds queue for the
// API. A failure is left to cleanup.
func stepDeleteSSHKey(ctx context.Context, st *state, _ *cleanups, o Options) error {
	if err := st.releaseSSHKey(ctx, o); err != nil {
		o.UI.Message(st.b.Name, fmt.Sprintf("Could not delete the temporary SSH key yet (%v); cleanup will", err))
	}
	return nil
}

// stepCreateInstance creates the VPS and registers its deletion before
// anything waits on it.
func stepCreateInstance(ctx context.Context, st *state, undo *cleanups, o Options) error {
	v, rv := &st.b.Vultr, st.resolved
	req := vultr.CreateInstanceRequest{
		Region:     rv.Region,
		Plan:       rv.Plan,
		OSID:       rv.OSID,
		AppID:      rv.AppID,
		ImageID:    rv.ImageID,
		SnapshotID: rv.SnapshotID,
		ISOID:      rv.ISOID,
		Label:      v.InstanceLabel,
		Hostname:   v.Hostname,
		Tags:       append(append([]string{}, v.Tags...), leftovers.ToolTag),
		ListTag:    leftovers.ToolTag,
		RunTag:     st.runTag,
		SSHKeyIDs:  append([]string{}, v.SSHKeyIDs...),
		ScriptID:   v.ScriptID,
		UserData:   v.UserData,
		EnableIPv6: v.EnableIPv6 || rv.IPv6Only || st.b.SSH.Interface == "public_v6",
		EnableVPC:  v.EnableVPC,
		VPCIDs:     v.VPCIDs,
	}
	if st.key != nil {
		req.SSHKeyIDs = append(req.SSHKeyIDs, st.sharedKey.id)
	}
	if id := rv.KeyPairID; id != "" {
		req.SSHKeyIDs = append(req.SSHKeyIDs, id)
	}
	stopped := ctx.Err // why the build stopped, if it did: cancelled, or out of time
	inst, err := createInstance(ctx, st, undo, o, req, "Destroyed instance ", func(ctx context.Context) error {
		return st.snapshotStillPending(ctx, stopped(), o)
	})
	if err != nil {
		return fmt.Errorf("create instance in %s: %w", rv.Region, err)
	}
	if inst.DefaultPassword != "" {
		o.Secrets.Add(inst.DefaultPassword)
		st.password = inst.DefaultPassword
	}
	o.UI.Message(st.b.Name, fmt.Sprintf("Created instance %s (%q) in %s", inst.ID, v.InstanceLabel, rv.Region))
	return nil
}

// createInstance creates an instance tagged with st's run tag and
// registers its delete the moment it has an ID (after beforeDelete, when
// set, agrees); a create whose answer was unclear also registers a delete
// of whatever carries the run tag. It sets st.instance.
func createInstance(ctx context.Context, st *state, undo *cleanups, o Options, req vultr.CreateInstanceRequest, destroyed string, beforeDelete func(context.Context) error) (*vultr.Instance, error) {
	inst, err := st.cloud.CreateInstance(ctx, req)
	var amb *vultr.AmbiguousCreateError
	if errors.As(err, &amb) || inst != nil && inst.Unclear {
		// A try may have made one that appears later, even when another
		// succeeded: look for the run tag again at cleanup, on a budget of
		// its own, and delete what carries it (but st's own instance,
		// which has its own cleanup and may be kept).
		undo.pushDelete(leftovers.Resource{Kind: leftovers.Instance, Run: o.RunID, Name: st.runTag}, func(ctx context.Context) error {
			return deleteTagged(ctx, st, o)
		})
	}
	if err != nil {
		return nil, err
	}
	st.instance = inst
	o.Tracker.Track(leftovers.Instance, inst.ID)
	undo.pushDelete(leftovers.Resource{Kind: leftovers.Instance, ID: inst.ID, Name: req.Label}, func(ctx context.Context) error {
		if beforeDelete != nil {
			if err := beforeDelete(ctx); err != nil {
				return err
			}
		}
		if err := st.cloud.DeleteInstance(ctx, inst.ID); err != nil {
			return err
		}
		o.Tracker.Untrack(leftovers.Instance, inst.ID)
		o.UI.Message(st.b.Name, destroyed+inst.ID)
		return nil
	})
	return inst, nil
}

// deleteTagged finds the instances that carry this build's run tag (a
// create whose answer never came) and deletes them.
func deleteTagged(ctx context.Context, st *state, o Options) error {
	found, err := leftovers.FindBuild(ctx, st.cloud, st.runTag)
	if err != nil {
		return fmt.Errorf("look for instances tagged %s: %w", st.runTag, err)
	}
	var errs []error
	for _, in := range found {
		if st.instance != nil && in.ID == st.instance.ID {
			continue
		}
		o.Tracker.Track(leftovers.Instance, in.ID)
		if err := st.cloud.DeleteInstance(ctx, in.ID); err != nil {
			errs = append(errs, fmt.Errorf("delete instance %s: %w", in.ID, err))
			continue
		}
		o.Tracker.Untrack(leftovers.Instance, in.ID)
		o.UI.Message(st.b.Name, "Destroyed instance "+in.ID+" (its create had no clear answer)")
	}
	return errors.Join(errs...)
}

// deleteKeysNamed deletes the keys named name (a create whose answer was
// lost), but the one with ID done, already deleted.
func deleteKeysNamed(ctx context.Context, st *state, name, done string, o Options) error {
	keys, err := st.cloud.ListSSHKeys(ctx)
	if err != nil {
		return fmt.Errorf("look for ssh keys named %s: %w", name, err)
	}
	var errs []error
	for _, k := range keys {
		if k.Name != name || k.ID == done {
			continue
		}
		if err := st.cloud.DeleteSSHKey(ctx, k.ID); err != nil {
			errs = append(errs, fmt.Errorf("delete ssh key %s: %w", k.ID, err))
			continue
		}
		o.UI.Message(st.b.Name, "Deleted SSH key "+k.ID+" (its create had no clear answer)")
	}
	return errors.Join(errs...)
}

// keep is on-error=abort: the failed build's instance (and its temporary
// key, if it is still in the account: the machine had not let it in yet)
// stay for debugging, and the post step is told to leave them alone.
func keep(st *state, r *Result, o Options) {
	const why = "on-error=abort kept it for debugging"
	r.KeptInstance = st.instance.ID
	kept := []leftovers.Resource{{Kind: leftovers.Instance, ID: st.instance.ID, Why: why}}
	st.markKept(o, kept[0])
	st.keyMu.Lock()
	if k := st.sharedKey; k != nil && k.id != "" && !st.keyReleased {
		k.mu.Lock()
		k.kept = true
		k.mu.Unlock()
		r.KeptSSHKey = k.id
		kept = append(kept, leftovers.Resource{Kind: leftovers.SSHKey, ID: k.id, Why: why})
		st.markKept(o, kept[1])
	}
	st.keyMu.Unlock()
	o.UI.Error(st.b.Name, fmt.Sprintf("on-error=abort: keeping instance %s (at %s) for debugging. It is billed until you delete it: %s", st.instance.ID, st.host, leftovers.CleanupCommand(kept)), spec.Pos{}, "Instance kept")
}

// stepWaitInstance waits until the instance is active, running and its
// server_status is ok (Packer does not wait for "ok", and races cloud-init).
func stepWaitInstance(ctx context.Context, st *state, _ *cleanups, o Options) error {
	opts := o.Poll
	opts.Timeout = st.b.Vultr.BootTimeout
	opts.Progress = func(elapsed time.Duration, state string) {
		o.UI.Message(st.b.Name, fmt.Sprintf("Waiting for instance %s: %s (%s)", st.instance.ID, state, elapsed.Round(time.Second)))
	}
	seen := map[string]bool{}
	unknown := func(field, value string) {
		if !seen[field+"="+value] {
			seen[field+"="+value] = true
			o.UI.Warn(st.b.Name, fmt.Sprintf("instance %s reports %s %q, which this tool does not know; waiting for it to become ready", st.instance.ID, field, value), spec.Pos{})
		}
	}
	inst, err := st.cloud.WaitInstance(ctx, st.instance.ID, func(i *vultr.Instance) (bool, error) { return vultr.BootState(i, unknown) }, opts)
	if err != nil {
		return fmt.Errorf("wait for instance %s to boot: %w", st.instance.ID, err)
	}
	pw := st.instance.DefaultPassword
	st.instance = inst
	if inst.DefaultPassword == "" {
		st.instance.DefaultPassword = pw
	}
	st.host = sshHost(st.b.SSH, inst, st.resolved)
	if st.host == "" {
		return fmt.Errorf("instance %s has no address to reach over SSH (main_ip %q, v6_main_ip %q)", inst.ID, inst.MainIP, inst.V6MainIP)
	}
	o.UI.Message(st.b.Name, fmt.Sprintf("Instance %s is active at %s", inst.ID, st.host))
	return nil
}

// sshHost picks the address to dial: ssh_host, else IPv6 when asked for or
// when the plan has no IPv4, else main_ip.
func sshHost(c spec.SSH, inst *vultr.Instance, rv *vultr.Resolved) string {
	if c.Host != "" {
		return c.Host
	}
	v4 := inst.MainIP
	if v4 == "0.0.0.0" {
		v4 = ""
	}
	if c.Interface == "public_v6" || rv.IPv6Only || v4 == "" {
		if inst.V6MainIP != "" {
			return inst.V6MainIP
		}
	}
	return v4
}

// stepConnect waits for SSH and proves the connection with a real command.
func stepConnect(ctx context.Context, st *state, undo *cleanups, o Options) error {
	comm, err := connect(ctx, st, o)
	if err != nil {
		return err
	}
	st.comm = comm
	undo.push("close SSH connection", func(context.Context) error {
		if st.comm != nil {
			_ = st.comm.Close()
		}
		return nil
	})
	o.UI.Message(st.b.Name, "Connected; host key "+comm.HostKeyFingerprint()+" pinned for this build")
	out := o.UI.Output(st.b.Name)
	defer out.Close()
	if err := comm.Run(ctx, "uname -a", nil, out, out); err != nil {
		return fmt.Errorf("prove SSH connection with `uname -a`: %w", err)
	}
	return nil
}

func connect(ctx context.Context, st *state, o Options) (Comm, error) {
	c := st.b.SSH
	cfg := remote.Config{
		Host:                  st.host,
		Port:                  c.Port,
		User:                  c.Username,
		Password:              c.Password,
		PrivateKeyFile:        c.PrivateKeyFile,
		AgentAuth:             c.AgentAuth,
		Getenv:                o.Getenv,
		Timeout:               c.Timeout,
		HandshakeAttempts:     c.HandshakeAttempts,
		PauseBeforeConnecting: c.PauseBeforeConnecting,
		KeepAliveInterval:     c.KeepAliveInterval,
		ReadWriteTimeout:      c.ReadWriteTimeout,
		FileTransferMethod:    c.FileTransferMethod,
		HostKeyFingerprint:    c.HostKeyFingerprint,
		HostKeyPin:            st.pin,
		PTY:                   c.PTY,
		CertificateFile:       c.CertificateFile,
		Ciphers:               c.Ciphers,
		KeyExchanges:          c.KeyExchanges,
		ForwardAgent:          !c.DisableAgentForwarding,
		Proxy:                 remoteProxy(c.Proxy),
		LocalTunnels:          remoteTunnels(c.LocalTunnels),
		RemoteTunnels:         remoteTunnels(c.RemoteTunnels),
		Dial:                  o.Dial,
		Backoff:               o.SSHBackoff,
		Logf: func(format string, args ...any) {
			o.UI.Debug(st.b.Name + ": " + fmt.Sprintf(format, args...))
		},
	}
	if st.key != nil {
		cfg.Signers = append(cfg.Signers, st.key.signer)
	}
	if cfg.Password == "" && c.Username == "root" && st.key == nil {
		// Vultr images accept the generated root password. It is offered
		// only when there is no temporary key: a first-contact
		// man-in-the-middle must never receive it.
		cfg.Password = st.password
	}
	if bh := c.Bastion; bh != nil {
		cfg.Bastion = &remote.Config{
			Host:            bh.Host,
			Port:            bh.Port,
			User:            bh.Username,
			Password:        bh.Password,
			PrivateKeyFile:  bh.PrivateKeyFile,
			CertificateFile: bh.CertificateFile,
			AgentAuth:       bh.AgentAuth,
			HostKeyPin:      st.bastionPin,
			Interactive:     bastionInteractive(bh, o),
			Dial:            o.Dial,
			Getenv:          o.Getenv,
			Timeout:         c.Timeout,
		}
	}
	if bh := c.Bastion; bh != nil && bh.Interactive && o.Interactive == nil {
		return nil, errors.New("ssh_bastion_interactive: there is no terminal to answer the bastion's questions in (give the bastion ssh_bastion_private_key_file, ssh_bastion_agent_auth or ssh_bastion_password instead)")
	}
	via := ""
	switch {
	case c.Bastion != nil:
		via = " through the bastion " + net.JoinHostPort(c.Bastion.Host, strconv.Itoa(portOr22(c.Bastion.Port)))
	case c.Proxy != nil:
		via = " through the SOCKS5 proxy " + net.JoinHostPort(c.Proxy.Host, strconv.Itoa(c.Proxy.Port))
	}
	o.UI.Message(st.b.Name, fmt.Sprintf("Waiting for SSH on %s as %s%s", net.JoinHostPort(st.host, strconv.Itoa(portOr22(c.Port))), c.Username, via))
	comm, err := o.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s over SSH: %w", st.host, err)
	}
	return comm, nil
}

func portOr22(p int) int {
	if p == 0 {
		return 22
	}
	return p
}

// stepProvision runs the provisioners in order.
func stepProvision(ctx context.Context, st *state, _ *cleanups, o Options) error {
	if len(st.b.Provisioners) == 0 {
		o.UI.Message(st.b.Name, "No provisioners")
		return nil
	}
	out := o.UI.Output(st.b.Name)
	defer out.Close()
	env := &provision.Env{
		BuildName:    st.b.Name,
		BuilderType:  st.b.Type,
		Comm:         st.comm,
		Stdout:       out,
		Stderr:       out,
		Logf:         func(format string, args ...any) { o.UI.Message(st.b.Name, fmt.Sprintf(format, args...)) },
		LocalEnviron: o.Environ,
		Secrets:      o.SecretValues(),
		SBOM: func(m provision.MadeSBOM) {
			st.sbom = &SBOM{Doc: m.Doc, Format: m.Format, Packages: m.Count, Path: m.Path, OS: m.OS, List: m.Packages}
		},
		PTY:     st.b.SSH.PTY,
		WorkDir: o.WorkDir,
		Pause:   o.Pause,
		Machine: provision.MachineAccess{ID: st.instance.ID, Host: st.host, User: st.b.SSH.Username, Port: portOr22(st.b.SSH.Port),
			KeyFile: st.b.SSH.PrivateKeyFile, HostKey: st.pin.AuthorizedKey(), Bastion: st.bastionAccess()},
		Reconnect: func(ctx context.Context) (provision.Communicator, error) {
			if st.comm != nil {
				_ = st.comm.Close()
			}
			comm, err := connect(ctx, st, o)
			if err != nil {
				return nil, err
			}
			st.comm = comm
			return comm, nil
		},
	}
	if st.key != nil {
		env.Machine.KeyPEM = st.key.privatePEM
	}
	vars := buildVars(st, o)
	for i := range st.b.Provisioners {
		p := st.b.Provisioners[i].WithBuildVars(vars)
		title := fmt.Sprintf("provisioner %d: %s", p.Index, p.Type)
		if p.Name != "" {
			title += " (" + p.Name + ")"
		}
		end := o.UI.Phase(st.b.Name, title)
		env.Comm = st.comm
		err := provision.Run(ctx, p, env)
		end()
		if err != nil && p.ContinueOnError && ctx.Err() == nil {
			o.UI.Warn(st.b.Name, fmt.Sprintf("%s failed, and continue_on_error lets the build go on: %v", title, err), p.Pos)
			continue
		}
		if err != nil {
			if st.onError(ctx, o, err) != "abort" {
				runErrorCleanup(ctx, st, env, o)
			}
			return err
		}
	}
	// A file that may hold a secret and could not be removed must not go
	// into the image.
	env.Comm = st.comm
	if err := env.RemovePending(ctx); err != nil {
		return fmt.Errorf("not snapshotting a machine that may hold a secret: %w", err)
	}
	return nil
}

// bastionInteractive answers the bastion's keyboard-interactive questions
// in the terminal, for ssh_bastion_interactive.
func bastionInteractive(bh *spec.Bastion, o Options) func(name, instruction string, questions []string, echos []bool) ([]string, error) {
	if !bh.Interactive {
		return nil
	}
	return o.Interactive
}

// remoteProxy is the communicator's SOCKS5 proxy; nil without one.
func remoteProxy(p *spec.Proxy) *remote.Proxy {
	if p == nil {
		return nil
	}
	return &remote.Proxy{Addr: net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), Username: p.Username, Password: p.Password}
}

// remoteTunnels are Packer's tunnels: each listens on localhost:port.
func remoteTunnels(ts []spec.Tunnel) []remote.Tunnel {
	var out []remote.Tunnel
	for _, t := range ts {
		out = append(out, remote.Tunnel{Listen: net.JoinHostPort("localhost", strconv.Itoa(t.Port)), Forward: net.JoinHostPort(t.Host, strconv.Itoa(t.HostPort))})
	}
	return out
}

// bastionAccess is how the ansible provisioner reaches the machine
// through the build's bastion; nil without one.
func (st *state) bastionAccess() *provision.BastionAccess {
	bh := st.b.SSH.Bastion
	if bh == nil {
		return nil
	}
	return &provision.BastionAccess{Host: bh.Host, Port: bh.Port, User: bh.Username, KeyFile: bh.PrivateKeyFile, CertificateFile: bh.CertificateFile,
		AgentAuth: bh.AgentAuth, HasPassword: bh.Password != "", HostKey: st.bastionPin.AuthorizedKey()}
}

// buildVars are Packer's provision-time build variables (build.Host,
// {{build `ID`}}, ...). The private key and password are secrets already.
func buildVars(st *state, o Options) map[string]string {
	port := portOr22(st.b.SSH.Port)
	password := st.b.SSH.Password
	if password == "" && st.key == nil {
		password = st.password
	}
	vals := map[string]string{
		"ID": st.instance.ID, "Host": st.host, "Port": strconv.Itoa(port), "User": st.b.SSH.Username,
		"Password": password, "ConnType": "ssh", "PackerRunUUID": o.RunUUID,
	}
	if st.key != nil {
		vals["SSHPublicKey"], vals["SSHPrivateKey"] = st.key.authorizedKey, st.key.privatePEM
	}
	return vals
}

// onError is what to do with the failed build, asked once with
// -on-error=ask.
func (st *state) onError(ctx context.Context, o Options, err error) string {
	if st.decision == "" {
		st.decision = o.OnError
		if st.decision == "ask" && o.Ask != nil {
			st.decision = o.Ask(ctx, st.b.Name, err)
		}
		if st.decision == "ask" {
			st.decision = "cleanup"
		}
	}
	return st.decision
}

// runErrorCleanup runs the error-cleanup-provisioner after a provisioner
// failed, as Packer does; its own failure is reported, and the build
// fails with the provisioner's error.
func runErrorCleanup(ctx context.Context, st *state, env *provision.Env, o Options) {
	ec := st.b.ErrorCleanup
	if ec == nil || ctx.Err() != nil {
		return
	}
	end := o.UI.Phase(st.b.Name, "error-cleanup-provisioner: "+ec.Type)
	defer end()
	env.Comm = st.comm
	if err := provision.Run(ctx, ec.WithBuildVars(buildVars(st, o)), env); err != nil {
		o.UI.Warn(st.b.Name, fmt.Sprintf("the error-cleanup-provisioner failed too: %v", err), ec.Pos)
	}
}

// stepClearAuthorizedKeys is ssh_clear_authorized_keys: the temporary
// public key leaves the SSH user's (and root's, when writable)
// authorized_keys before the snapshot, as Packer's StepCleanupTempKeys
// does.
func stepClearAuthorizedKeys(ctx context.Context, st *state, _ *cleanups, o Options) error {
	if st.key == nil {
		o.UI.Message(st.b.Name, "No temporary key to remove")
		return nil
	}
	body := strings.Fields(st.key.authorizedKey)[1]
	// Root's file too when writable; the SSH user's must not keep it.
	cmd := fmt.Sprintf(`for f in "$HOME/.ssh/authorized_keys" /root/.ssh/authorized_keys; do `+
		`[ -f "$f" ] && [ -w "$f" ] || continue; grep -vF '%[1]s' "$f" > "$f.via-tmp"; [ $? -le 1 ] || exit 1; cat "$f.via-tmp" > "$f" || exit 1; rm -f "$f.via-tmp"; done; `+
		`! grep -qsF '%[1]s' "$HOME/.ssh/authorized_keys"`, body)
	out := o.UI.Output(st.b.Name)
	defer out.Close()
	if err := st.comm.Run(ctx, cmd, nil, out, out); err != nil {
		return fmt.Errorf("remove the temporary key from authorized_keys: %w", err)
	}
	o.UI.Message(st.b.Name, "Removed the temporary key from authorized_keys")
	return nil
}

// stepShutdown shuts the machine down cleanly, as Packer does, then waits
// for the API to report it stopped (instead of Packer's fixed sleeps). If it
// does not stop in time it falls back to the halt API, with a warning.
func stepShutdown(ctx context.Context, st *state, _ *cleanups, o Options) error {
	cmd := st.b.Vultr.ShutdownCommand
	o.UI.Message(st.b.Name, "Gracefully shutting down with: "+cmd)
	out := o.UI.Output(st.b.Name)
	err := st.comm.Run(ctx, cmd, nil, out, out)
	_ = out.Close()
	var exit *remote.ExitError
	switch {
	case err == nil, errors.Is(err, remote.ErrDisconnected):
		// The machine went down under us: expected.
	case errors.As(err, &exit):
		return fmt.Errorf("shutdown command %q exited with status %d", cmd, exit.Status)
	default:
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("run shutdown command %q: %w", cmd, err)
	}
	_ = st.comm.Close()
	st.comm = nil

	opts := o.Poll
	opts.Timeout = st.b.Vultr.ShutdownTimeout
	// The machine is usually off by the time the command returns.
	if opts.First == 0 {
		opts.First = 100 * time.Millisecond
	}
	opts.Progress = func(elapsed time.Duration, state string) {
		o.UI.Message(st.b.Name, fmt.Sprintf("Waiting for instance to stop: %s (%s)", state, elapsed.Round(time.Second)))
	}
	_, werr := st.cloud.WaitInstance(ctx, st.instance.ID, func(i *vultr.Instance) (bool, error) { return vultr.InstanceStopped(i), nil }, opts)
	var timeout *vultr.TimeoutError
	if werr == nil || !errors.As(werr, &timeout) {
		if werr != nil {
			return fmt.Errorf("wait for instance %s to stop: %w", st.instance.ID, werr)
		}
		return nil
	}
	o.UI.Warn(st.b.Name, fmt.Sprintf("instance did not stop within %s after %q; halting it through the API (the snapshot may not be crash-consistent)", opts.Timeout, cmd), spec.Pos{})
	if err := st.cloud.HaltInstance(ctx, st.instance.ID); err != nil {
		return fmt.Errorf("halt instance %s: %w", st.instance.ID, err)
	}
	opts.Timeout = time.Minute
	if _, err := st.cloud.WaitInstance(ctx, st.instance.ID, func(i *vultr.Instance) (bool, error) { return vultr.InstanceStopped(i), nil }, opts); err != nil {
		return fmt.Errorf("wait for halted instance %s to stop: %w", st.instance.ID, err)
	}
	return nil
}

// stepCreateSnapshot starts the snapshot. A snapshot is the build's product,
// not a temporary resource: it is never cleaned up.
//
// Builds of one run that share a description create their snapshots one
// at a time, and the run's snapshots are known to every build: a lost
// answer adopts only a snapshot that can be nothing but this build's.
func stepCreateSnapshot(ctx context.Context, st *state, _ *cleanups, o Options) error {
	desc := st.b.Vultr.SnapshotDescription
	gate := st.run.gate(desc)
	gate.Lock()
	if err := ctx.Err(); err != nil {
		gate.Unlock()
		return err
	}
	snap, err := st.cloud.CreateSnapshot(ctx, st.instance.ID, desc, st.run.madeHere)
	if err == nil {
		st.run.recordSnapshot(snap.ID)
	}
	gate.Unlock()
	if err != nil {
		return fmt.Errorf("create snapshot of %s: %w", st.instance.ID, err)
	}
	st.snapshot = snap
	o.UI.Message(st.b.Name, fmt.Sprintf("Creating snapshot %s (%q)", snap.ID, desc))
	return nil
}

// stepWaitSnapshot waits for the snapshot to be complete, by default for
// as long as the instance's disk needs (vultr.SnapshotTimeout). On timeout
// the error names the snapshot and its last status, and cleanup keeps the
// instance while the snapshot is pending (see snapshotStillPending).
func stepWaitSnapshot(ctx context.Context, st *state, _ *cleanups, o Options) error {
	opts := o.Poll
	opts.DiskGB = st.instance.Disk
	opts.Timeout = st.b.Vultr.SnapshotTimeout
	if opts.Timeout == 0 {
		opts.Timeout = vultr.SnapshotTimeout(st.instance.Disk)
	} else if need := vultr.SnapshotTime(st.instance.Disk); opts.Timeout < need {
		o.UI.Warn(st.b.Name, fmt.Sprintf("the snapshot wait is %s, but Vultr takes about %s to snapshot this instance's %d GB disk; if the wait runs out, the instance is kept until the snapshot completes (unset snapshot_timeout and state_timeout for a wait that fits the disk)", opts.Timeout, need.Round(time.Minute), st.instance.Disk), spec.Pos{})
	}
	opts.Progress = func(elapsed time.Duration, state string) {
		o.UI.Message(st.b.Name, fmt.Sprintf("Waiting for snapshot %s: %s (%s)", st.snapshot.ID, state, elapsed.Round(time.Second)))
	}
	snap, err := st.cloud.WaitSnapshot(ctx, st.snapshot.ID, opts)
	if err != nil {
		return fmt.Errorf("wait for snapshot %s: %w", st.snapshot.ID, err)
	}
	st.snapshot = snap
	o.UI.Message(st.b.Name, fmt.Sprintf("Snapshot %s is complete", snap.ID))
	return nil
}

// artifactString is Packer's human form of a Vultr artifact.
func artifactString(r *Result) string {
	if r.BuilderID == nullBuilderID {
		return "Did not export anything. This is the null builder"
	}
	return fmt.Sprintf("Vultr Snapshot: %s (%s)", r.Description, r.SnapshotID)
}

// ArtifactString is exported for the CLI's final summary.
func ArtifactString(r *Result) string { return artifactString(r) }

// SnapshotPendingError is an instance that cleanup kept because its
// snapshot is still pending: deleting the instance may leave the snapshot
// incomplete.
type SnapshotPendingError struct {
	InstanceID, SnapshotID string
}

func (e *SnapshotPendingError) Error() string {
	return fmt.Sprintf("instance %s kept: its snapshot %s is still pending, and deleting the instance may leave the snapshot incomplete (the instance is billed until deleted; once the snapshot is complete, or not wanted, delete it with: %s)",
		e.InstanceID, e.SnapshotID, leftovers.CleanupCommand([]leftovers.Resource{{Kind: leftovers.Instance, ID: e.InstanceID}}))
}

// snapshotStillPending is asked before cleanup deletes the instance. While
// the build's snapshot is pending, or when its state cannot be read, the
// instance is kept (and so left alone by the action's post step), unless
// the build was stopped (cancelled, or out of the time the timeout input
// gave it): then it is deleted, with a warning that the snapshot may be
// incomplete.
func (st *state) snapshotStillPending(ctx context.Context, stopped error, o Options) error {
	if st.snapshot == nil || st.snapshot.Status == "complete" {
		return nil
	}
	snap, err := st.cloud.GetSnapshot(ctx, st.snapshot.ID)
	switch {
	case errors.Is(err, vultr.ErrNotFound):
		return nil // gone: nothing to protect
	case err == nil && snap.Status != "pending":
		return nil // failed or complete
	case stopped != nil:
		why := "was cancelled"
		if errors.Is(stopped, context.DeadlineExceeded) {
			why = "ran out of time"
		}
		o.UI.Warn(st.b.Name, fmt.Sprintf("the build %s while snapshot %s was pending; deleting instance %s anyway, so the snapshot may be incomplete", why, st.snapshot.ID, st.instance.ID), spec.Pos{})
		return nil
	case err != nil:
		st.markKept(o, leftovers.Resource{Kind: leftovers.Instance, ID: st.instance.ID,
			Why: fmt.Sprintf("the state of its snapshot %s could not be read, and deleting the instance may leave the snapshot incomplete", st.snapshot.ID)})
		return fmt.Errorf("instance %s kept: the state of its snapshot %s cannot be read, and deleting the instance may leave the snapshot incomplete: %w", st.instance.ID, st.snapshot.ID, err)
	}
	st.markKept(o, leftovers.Resource{Kind: leftovers.Instance, ID: st.instance.ID,
		Why: fmt.Sprintf("its snapshot %s was still pending, and deleting the instance may leave the snapshot incomplete", snap.ID)})
	return &SnapshotPendingError{InstanceID: st.instance.ID, SnapshotID: snap.ID}
}
