//go:build linux

// Command bench measures vultr-image-action against the emulator with fixed
// cloud delays and writes docs/performance.md. Every figure is a median of
// several runs, or a ratio measured in the same run.
//
//	go run ./bench                 # full run (a few minutes), rewrites docs/performance.md
//	go run ./bench -smoke          # seconds; what .ci/run runs so the harness cannot rot
//
// It needs root (emulated machines listen on main_ip:22) and, for the
// transfer figures, OpenSSH (sshd, scp, sftp).
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu/machine"
)

func main() {
	if code, ok := machine.SandboxMain(); ok {
		os.Exit(code)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// realScale runs the real timeline at 1/100 of real time.
const realScale = 0.01

type config struct {
	smoke   bool
	runs    int
	out     string
	delays  vultremu.Delays
	scale   []int
	sizesMB []int
}

func run() error {
	var c config
	flag.BoolVar(&c.smoke, "smoke", false, "a quick run that checks the harness works (no file written)")
	flag.IntVar(&c.runs, "runs", 5, "runs per figure (medians)")
	flag.StringVar(&c.out, "out", "docs/performance.md", "where to write the results")
	trace := flag.Int("trace", 0, "instead of the figures, run this many parallel builds once and print every API request's time")
	flag.Parse()
	c.delays = vultremu.Delays{InstancePending: 1 * time.Second, InstanceBooting: 2 * time.Second, SnapshotPending: 3 * time.Second}
	c.scale = []int{1, 4, 16, 64}
	c.sizesMB = []int{100, 1024}
	if c.smoke {
		c.runs, c.delays = 1, vultremu.Delays{InstancePending: 100 * time.Millisecond, InstanceBooting: 100 * time.Millisecond, SnapshotPending: 200 * time.Millisecond}
		c.scale, c.sizesMB = []int{1, 2}, []int{8}
	}
	if os.Geteuid() != 0 {
		return errors.New("run as root: emulated machines listen on main_ip:22")
	}
	dir, err := os.MkdirTemp("", "via-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "vultr-image-action")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	if *trace > 0 {
		return traceBuilds(bin, c.delays, *trace)
	}
	var rep report
	rep.add("Environment", "", fmt.Sprintf("%d cores; Go %s; emulator delays: pending %s, booting %s, snapshot %s", numCPU(), goVersion(), c.delays.InstancePending, c.delays.InstanceBooting, c.delays.SnapshotPending))

	// 1-3. Overhead, API economy, reaction time: one build, no provisioners.
	var overheads, reqs, peaks, avgs, reactions []float64
	for i := 0; i < c.runs; i++ {
		m, err := buildOnce(bin, c.delays, 0, 1)
		if err != nil {
			return err
		}
		overheads = append(overheads, m.overhead.Seconds())
		reqs = append(reqs, float64(m.requests))
		peaks = append(peaks, m.peakRate)
		avgs = append(avgs, m.avgRate)
		reactions = append(reactions, m.reactions...)
	}
	rep.add("Overhead: wall time minus the emulator's delays (1 build, no provisioners)", "≤ 1.0 s", fmt.Sprintf("%.2f s", median(overheads)))
	rep.add("API requests per build", "< 12 (Packer 1.16 + plugin 2.7.0 at these delays)", fmt.Sprintf("%.0f", median(reqs)))
	rep.add("Peak request rate, one build (any 1 s window)", "≤ 10 /s", fmt.Sprintf("%.0f /s", median(peaks)))
	rep.add("Average request rate, one build", "", fmt.Sprintf("%.1f /s", median(avgs)))
	rep.add("Reaction time: state change to the request that sees it (median)", "< 500 ms", fmt.Sprintf("%.0f ms", 1000*median(reactions)))

	// 3b. Requests at Vultr's real timeline (install 90 s, boot 60 s,
	// snapshot 10 min), run at 1/100 of real time, client and cloud alike.
	// Packer polls every 3 s and waits only for "active": about
	// 90/3 + 600/3 polls plus the 9 calls it makes at any timeline.
	var realReqs []float64
	for i := 0; i < max(1, c.runs/2); i++ {
		m, err := buildOnce(bin, vultremu.RealTimeline, realScale, 1)
		if err != nil {
			return err
		}
		realReqs = append(realReqs, float64(m.requests))
	}
	packerReal := 9 + int(vultremu.RealTimeline.InstancePending/(3*time.Second)) + int(vultremu.RealTimeline.SnapshotPending/(3*time.Second))
	rep.add("API requests per build at Vultr's real timeline (run ×0.01)", fmt.Sprintf("≤ %d (a third of Packer's %d)", packerReal/3, packerReal), fmt.Sprintf("%.0f", median(realReqs)))

	// 5. Start-up.
	var firstReq, validate []float64
	for i := 0; i < max(c.runs, 3); i++ {
		d, err := startupToFirstRequest(bin)
		if err != nil {
			return err
		}
		firstReq = append(firstReq, d.Seconds())
		start := time.Now()
		if out, err := exec.Command(bin, "validate", "examples/server.json").CombinedOutput(); err != nil {
			return fmt.Errorf("validate: %v %s", err, out)
		}
		validate = append(validate, time.Since(start).Seconds())
	}
	rep.add("Start-up: process start to first API request", "< 50 ms", fmt.Sprintf("%.0f ms", 1000*median(firstReq)))
	rep.add("validate on the seed template (whole process)", "< 50 ms", fmt.Sprintf("%.0f ms", 1000*median(validate)))
	if fi, err := os.Stat(bin); err == nil {
		rep.add("Binary size (static, -s -w)", "", fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6))
	}

	// 6. Scale.
	// Medians of c.runs runs (64 builds: one run): one run of one build
	// varies by a second on this machine, as much as the figure measured.
	var single float64
	for _, n := range c.scale {
		var walls []float64
		var m measure
		for i := 0; i < c.runs && (i == 0 || n <= 16); i++ {
			var err error
			if m, err = buildOnce(bin, c.delays, 0, n); err != nil {
				return err
			}
			walls = append(walls, m.wall.Seconds())
		}
		total := median(walls)
		if n == 1 {
			single = total
		}
		rep.add(fmt.Sprintf("Scale: %d parallel builds", n), map[bool]string{true: "16 within 2 s of 1", false: ""}[n == 16],
			fmt.Sprintf("%.2f s total (+%.2f s over 1 build), peak RSS %.0f MB, %.1f req/s avg, %.0f req/s peak", total, total-single, m.maxRSSMB, m.avgRate, m.peakRate))
	}

	// 6b. The snapshot's check (vultr-verify): what it adds to one build
	// beyond the cloud's create and boot of its instance, and 16 verified
	// builds against one.
	if err := verifyRows(&rep, bin, c); err != nil {
		return err
	}

	// 7. How cost grows with provisioners and uploaded files.
	growDelays := vultremu.Delays{InstancePending: 100 * time.Millisecond, InstanceBooting: 100 * time.Millisecond, SnapshotPending: 100 * time.Millisecond}
	base, err := buildTemplate(bin, growDelays, "")
	if err != nil {
		return err
	}
	counts := []int{1, 10, 100, 1000}
	if c.smoke {
		counts = []int{1, 10}
	}
	for _, n := range counts {
		files := filepath.Join(dir, fmt.Sprintf("files-%d", n))
		if err := os.MkdirAll(files, 0o755); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := os.WriteFile(filepath.Join(files, fmt.Sprintf("f%04d.txt", i)), bytes.Repeat([]byte("x"), 1024), 0o644); err != nil {
				return err
			}
		}
		d, err := buildTemplate(bin, growDelays, fmt.Sprintf(`{"type":"file","source":%q,"destination":"/opt/files"}`, files+"/"))
		if err != nil {
			return err
		}
		extra := max(d-base, 0) // below zero is noise
		rep.add(fmt.Sprintf("Cost: upload %d small files (1 KB each)", n), "linear, pipelined", fmt.Sprintf("+%.2f s over no provisioners (%.1f ms per file)", extra.Seconds(), 1000*extra.Seconds()/float64(n)))
	}
	for _, n := range []int{1, 10, 100} {
		if c.smoke && n > 10 {
			break
		}
		provs := make([]string, n)
		for i := range provs {
			provs[i] = `{"type":"shell","inline":["true"]}`
		}
		d, err := buildTemplate(bin, growDelays, strings.Join(provs, ","))
		if err != nil {
			return err
		}
		extra := max(d-base, 0) // below zero is noise
		rep.add(fmt.Sprintf("Cost: %d shell provisioners", n), "linear", fmt.Sprintf("+%.2f s over none (%.0f ms each)", extra.Seconds(), 1000*extra.Seconds()/float64(n)))
	}

	// 4. Transfers against a real sshd.
	if _, err := os.Stat("/usr/sbin/sshd"); err == nil {
		for _, mb := range c.sizesMB {
			row, err := transfers(bin, dir, mb)
			if err != nil {
				return fmt.Errorf("transfers: %w", err)
			}
			rep.add(fmt.Sprintf("Upload %d MB over SFTP vs OpenSSH", mb), "≥ 90% of the better of scp/sftp", row)
			if mb == c.sizesMB[len(c.sizesMB)-1] {
				big := filepath.Join(dir, "big")
				if err := writeRandom(big, mb); err != nil {
					return err
				}
				d, rss, err := buildTemplateRSS(bin, vultremu.Delays{}, fmt.Sprintf(`{"type":"file","source":%q,"destination":"/tmp/big"}`, big))
				os.Remove(big)
				if err != nil {
					return err
				}
				rep.add(fmt.Sprintf("Peak RSS of the binary during a build uploading %d MB", mb), "≤ 64 MB", fmt.Sprintf("%.0f MB (build took %.1f s)", rss, d.Seconds()))
			}
		}
	} else {
		rep.add("Transfers", "", "skipped: OpenSSH is not installed")
	}

	// 9. The SBOM of a machine with 1,500 packages (hcp-sbom
	// auto_generate), read over SFTP: the build with it, minus the same
	// build without it.
	cost, err := sbomCost(bin, dir, max(1, c.runs/2))
	if err != nil {
		return err
	}
	rep.add("hcp-sbom auto_generate: a 1,500-package dpkg database read over SFTP, CycloneDX written", "≤ 1 s (Packer uploads a 100+ MB binary)", fmt.Sprintf("+%.2f s over the same build without it", cost.Seconds()))

	// 10. The provenance post-processor signing with a key: the build
	// with it, minus the same build without it.
	cost, err = provenanceCost(bin, dir, max(1, c.runs/2))
	if err != nil {
		return err
	}
	rep.add("provenance: SLSA statement of the snapshot, signed with an ECDSA P-256 key (DSSE) and checked", "≤ 100 ms per build", fmt.Sprintf("%+.0f ms over the same build without it", cost.Seconds()*1000))

	text := rep.markdown(c)
	if c.smoke {
		fmt.Print(text)
		fmt.Println("bench smoke: ok")
		return nil
	}
	return os.WriteFile(c.out, []byte(text), 0o644)
}

type measure struct {
	log               []vultremu.Request
	wall, overhead    time.Duration
	requests          int
	peakRate, avgRate float64
	reactions         []float64
	maxRSSMB          float64
	cpu               time.Duration // the binary's user and system CPU time
}

// traceBuilds runs n parallel builds once and prints each request's time
// from the first, its method, path and status: where a parallel run's
// time goes.
func traceBuilds(bin string, d vultremu.Delays, n int) error {
	m, err := buildOnce(bin, d, 0, n)
	if err != nil {
		return err
	}
	for _, r := range m.log {
		fmt.Printf("%7.3f %-6s %-60s %d\n", r.Time.Sub(m.log[0].Time).Seconds(), r.Method, r.Path, r.Status)
	}
	fmt.Printf("wall %.2f s, %d requests\n", m.wall.Seconds(), len(m.log))
	return nil
}

// buildOnce runs the binary on a template of n builds against a fresh
// emulator whose delays, and the binary's polls, are multiplied by scale
// (0: 1).
func buildOnce(bin string, d vultremu.Delays, scale float64, n int) (measure, error) {
	return buildN(bin, d, scale, n, "")
}

// buildN runs n parallel builds whose every builder has these
// post-processors (a JSON array's contents).
func buildN(bin string, d vultremu.Delays, scale float64, n int, pps string) (measure, error) {
	var m measure
	ms, err := machine.New(machine.Options{})
	if err != nil {
		return m, err
	}
	defer ms.Close()
	key := "BENCHKEY0123456789"
	srv := vultremu.New(vultremu.Options{APIKey: key, Machines: ms, Delays: d, TimeScale: scale})
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Close() }()
	tmpl, err := template(n, pps)
	if err != nil {
		return m, err
	}
	defer os.Remove(tmpl)
	cmd := exec.Command(bin, "build", "-color=false", tmpl)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "VULTR_API_KEY=" + key, "VULTR_API_URL=" + hs.URL, "HOME=" + os.TempDir()}
	if scale > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("VIA_TEST_TIME_SCALE=%g", scale))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir, _ = os.Getwd()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return m, fmt.Errorf("build of %d: %v\n%s", n, err, out.String())
	}
	m.wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSSMB = float64(ru.Maxrss) / 1024
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	m.overhead = m.wall - d.InstancePending - d.InstanceBooting - d.SnapshotPending
	rs := srv.Requests()
	m.log = rs
	m.requests = len(rs) / n
	if len(rs) > 0 {
		span := rs[len(rs)-1].Time.Sub(rs[0].Time).Seconds()
		if span > 0 {
			m.avgRate = float64(len(rs)) / span
		}
		for i := range rs {
			j := i
			for j < len(rs) && rs[j].Time.Sub(rs[i].Time) < time.Second {
				j++
			}
			m.peakRate = max(m.peakRate, float64(j-i))
		}
	}
	// Reaction: for each change the build waits on, the first GET of that
	// object after it.
	for _, ch := range srv.StateChanges() {
		if !(ch.Field == "server_status" && ch.Value == "ok" || ch.Field == "power_status" && ch.Value == "stopped" || ch.Field == "status" && ch.Value == "complete") {
			continue
		}
		list := "/v2/instances" // parallel builds share list calls
		if ch.Field == "status" {
			list = "/v2/snapshots"
		}
		for _, r := range rs {
			if r.Method == "GET" && (strings.HasSuffix(r.Path, ch.ID) || r.Path == list) && !r.Time.Before(ch.Time) {
				m.reactions = append(m.reactions, r.Time.Sub(ch.Time).Seconds())
				break
			}
		}
	}
	return m, nil
}

func template(n int, pps string) (string, error) {
	var b strings.Builder
	b.WriteString(`{"variables":{"key":"{{env ` + "`VULTR_API_KEY`" + `}}"},"builders":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"type":"vultr","name":"b%d","api_key":"{{user `+"`key`"+`}}","snapshot_description":"bench %d","region_id":"2","plan_id":"201","os_id":"167","ssh_username":"root"}`, i, i)
	}
	b.WriteString("]")
	if pps != "" {
		b.WriteString(`,"post-processors":[` + pps + `]`)
	}
	b.WriteString("}")
	f, err := os.CreateTemp("", "bench-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(b.String())
	return f.Name(), err
}

// buildTemplate times one build of the seed with these provisioners.
func buildTemplate(bin string, d vultremu.Delays, provisioners string) (time.Duration, error) {
	dur, _, err := buildTemplateRSS(bin, d, provisioners)
	return dur, err
}

// buildTemplateRSS also reports the binary's peak resident memory in MB.
func buildTemplateRSS(bin string, d vultremu.Delays, provisioners string) (time.Duration, float64, error) {
	return buildWith(bin, d, provisioners, "", nil)
}

// buildWith builds a one-builder template with these provisioners and
// post-processors (JSON array contents), in dir's working directory, with
// env added.
func buildWith(bin string, d vultremu.Delays, provisioners, postProcessors string, env []string) (time.Duration, float64, error) {
	ms, err := machine.New(machine.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer ms.Close()
	key := "BENCHKEY0123456789"
	srv := vultremu.New(vultremu.Options{APIKey: key, Machines: ms, Delays: d})
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Close() }()
	f, err := os.CreateTemp("", "bench-*.json")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	fmt.Fprintf(f, `{"variables":{"key":"{{env `+"`VULTR_API_KEY`"+`}}"},"builders":[{"type":"vultr","api_key":"{{user `+"`key`"+`}}","snapshot_description":"grow","region_id":"ewr","plan_id":"vc2-1c-1gb","os_id":"2284","ssh_username":"root"}],"provisioners":[%s],"post-processors":[%s]}`, provisioners, postProcessors)
	f.Close()
	cmd := exec.Command(bin, "build", "-color=false", f.Name())
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "VULTR_API_KEY=" + key, "VULTR_API_URL=" + hs.URL, "HOME=" + os.TempDir()}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("build: %v\n%s", err, out.String())
	}
	dur := time.Since(start)
	rss := 0.0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024
	}
	return dur, rss, nil
}

// startupToFirstRequest times process start to the first API request.
func startupToFirstRequest(bin string) (time.Duration, error) {
	key := "BENCHKEY0123456789"
	srv := vultremu.New(vultremu.Options{APIKey: key})
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Close() }()
	tmpl, err := template(1, "")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmpl)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "build", tmpl)
	cmd.Env = []string{"VULTR_API_KEY=" + key, "VULTR_API_URL=" + hs.URL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	for len(srv.Requests()) == 0 && time.Since(start) < 10*time.Second {
		time.Sleep(time.Millisecond)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	rs := srv.Requests()
	if len(rs) == 0 {
		return 0, errors.New("no request")
	}
	return rs[0].Time.Sub(start), nil
}

// transfers uploads a file of mb megabytes to a real sshd with our SFTP
// client, and with OpenSSH's scp and sftp, and reports MB/s for each.
func transfers(bin, dir string, mb int) (string, error) {
	ms, err := machine.New(machine.Options{SSHD: "/usr/sbin/sshd"})
	if err != nil {
		return "", err
	}
	defer ms.Close()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	sshPub, _ := ssh.NewPublicKey(pub)
	ip := fmt.Sprintf("127.%d.%d.%d", 200+time.Now().Nanosecond()%50, time.Now().Nanosecond()%250, 1+time.Now().Nanosecond()%200)
	m, err := ms.Boot(context.Background(), vultremu.MachineSpec{InstanceID: "bench", IPv4: ip, AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(sshPub))}})
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(m.Addr())
	src := filepath.Join(dir, fmt.Sprintf("payload-%d", mb))
	if err := writeRandom(src, mb); err != nil {
		return "", err
	}
	defer os.Remove(src)
	keyFile := filepath.Join(dir, "id_ed25519")
	block, _ := ssh.MarshalPrivateKey(priv, "")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	var p int
	fmt.Sscan(port, &p)
	c, err := remote.Connect(context.Background(), remote.Config{Host: host, Port: p, User: "root", Signers: []ssh.Signer{signer}, Timeout: 20 * time.Second})
	if err != nil {
		return "", err
	}
	defer c.Close()
	ours, err := timed(func() error { return c.UploadFile(context.Background(), src, "/tmp/ours") })
	if err != nil {
		return "", err
	}
	opts := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-i", keyFile}
	scp, err := timed(func() error {
		return exec.Command("scp", append(append([]string{"-P", port}, opts...), src, "root@"+host+":/tmp/scp")...).Run()
	})
	if err != nil {
		return "", fmt.Errorf("scp: %w", err)
	}
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte("put "+src+" /tmp/sftp\n"), 0o644)
	sftpT, err := timed(func() error {
		return exec.Command("sftp", append(append([]string{"-P", port, "-b", batch}, opts...), "root@"+host)...).Run()
	})
	if err != nil {
		return "", fmt.Errorf("sftp: %w", err)
	}
	rate := func(d time.Duration) float64 { return float64(mb) / d.Seconds() }
	best := max(rate(scp), rate(sftpT))
	return fmt.Sprintf("ours %.0f MB/s, scp %.0f MB/s, sftp %.0f MB/s: %.0f%% of the better", rate(ours), rate(scp), rate(sftpT), 100*rate(ours)/best), nil
}

func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type row struct{ what, target, got string }

type report struct{ rows []row }

func (r *report) add(what, target, got string) {
	r.rows = append(r.rows, row{what, target, got})
	fmt.Fprintf(os.Stderr, "%-70s %s\n", what, got)
}

func (r *report) markdown(c config) string {
	var b strings.Builder
	b.WriteString("# Performance\n\nMeasured by `go run ./bench` (as root, with OpenSSH installed), which builds the binary, runs it against the built-in emulator with fixed cloud delays, and writes this file. Figures are medians of ")
	fmt.Fprintf(&b, "%d runs unless a row says otherwise.\n\n| Measure | Target | Result |\n|---|---|---|\n", c.runs)
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", x.what, x.target, x.got)
	}
	b.WriteString("\nPacker 1.16 with packer-plugin-vultr 2.7.0, for comparison (from its source and runs against a local fake API): each wait polls every 3 s and so ends up to 3 s late; a fixed 10 s sleep precedes the shutdown (plus 10 s after a disconnect); a build whose waits took about 9 s ran about 22 s end to end with 12 API calls; `packer init` downloads tens of MB before the first API call.\n")
	return b.String()
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func goVersion() string {
	out, _ := exec.Command("go", "env", "GOVERSION").Output()
	return strings.TrimSpace(string(out))
}

func writeRandom(path string, mb int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, int64(mb)<<20); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// verifyRows measures the vultr-verify post-processor (medians of runs).
func verifyRows(rep *report, bin string, c config) error {
	const check = `{"type":"vultr-verify","inline":["test -d /root"]}`
	var plain, checked, sixteen, cpu []float64
	for i := 0; i < max(1, c.runs); i++ {
		p, err := buildN(bin, c.delays, 0, 1, "")
		if err != nil {
			return err
		}
		v, err := buildN(bin, c.delays, 0, 1, check)
		if err != nil {
			return err
		}
		s, err := buildN(bin, c.delays, 0, 16, check)
		if err != nil {
			return err
		}
		plain, checked, sixteen = append(plain, p.wall.Seconds()), append(checked, v.wall.Seconds()), append(sixteen, s.wall.Seconds())
		cpu = append(cpu, s.cpu.Seconds())
	}
	cloud := (c.delays.InstancePending + c.delays.InstanceBooting).Seconds()
	own := median(checked) - median(plain) - cloud
	rep.add("vultr-verify: our overhead per build beyond the cloud's create and boot of the check's instance", "≤ 1 s",
		fmt.Sprintf("%.2f s (a verified build %.2f s, unverified %.2f s, the emulator's create and boot %.2f s)", own, median(checked), median(plain), cloud))
	rep.add("vultr-verify: 16 parallel verified builds", "16 within 2 s of 1",
		fmt.Sprintf("%.2f s total (+%.2f s over 1 verified build); this tool used %.2f s of CPU, the rest is the emulator booting 32 sandboxed machines on %d cores", median(sixteen), median(sixteen)-median(checked), median(cpu), numCPU()))
	return nil
}

// provenanceCost is what a key-signed provenance post-processor adds to a
// build (median of runs).
func provenanceCost(bin, dir string, runs int) (time.Duration, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0, err
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPath := filepath.Join(dir, "release.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return 0, err
	}
	out := filepath.Join(dir, "att")
	pp := fmt.Sprintf(`{"type":"provenance","output_dir":%q,"signing_mode":"key","signer":%q}`, out, keyPath)
	shell := `{"type":"shell","inline":["true"]}`
	var diffs []float64
	for i := 0; i < runs; i++ {
		without, _, err := buildWith(bin, vultremu.Delays{}, shell, "", nil)
		if err != nil {
			return 0, err
		}
		with, _, err := buildWith(bin, vultremu.Delays{}, shell, pp, nil)
		if err != nil {
			return 0, err
		}
		diffs = append(diffs, (with - without).Seconds())
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.provenance.json")); len(m) != runs {
		return 0, fmt.Errorf("want %d signed statements, found %v", runs, m)
	}
	return time.Duration(median(diffs) * float64(time.Second)), nil
}

// sbomCost is what hcp-sbom's auto_generate adds to a build whose machine
// holds a dpkg database of 1,500 packages (median of runs).
func sbomCost(bin, dir string, runs int) (time.Duration, error) {
	var status strings.Builder
	for i := 0; i < 1500; i++ {
		fmt.Fprintf(&status, "Package: bench-pkg-%d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.%d.0-1\nDescription: a package\n\n", i, i)
	}
	db := filepath.Join(dir, "status")
	if err := os.WriteFile(db, []byte(status.String()), 0o644); err != nil {
		return 0, err
	}
	prep := fmt.Sprintf(`{"type":"shell","inline":["mkdir -p /srv/sbom/var/lib/dpkg /srv/sbom/etc","echo ID=debian > /srv/sbom/etc/os-release"]},{"type":"file","source":%q,"destination":"/srv/sbom/var/lib/dpkg/status"}`, db)
	sbom := fmt.Sprintf(`,{"type":"hcp-sbom","auto_generate":true,"scan_path":"/srv/sbom","destination":%q}`, filepath.Join(dir, "sbom.cdx.json"))
	var diffs []float64
	for i := 0; i < runs; i++ {
		without, _, err := buildTemplateRSS(bin, vultremu.Delays{}, prep)
		if err != nil {
			return 0, err
		}
		with, _, err := buildTemplateRSS(bin, vultremu.Delays{}, prep+sbom)
		if err != nil {
			return 0, err
		}
		diffs = append(diffs, (with - without).Seconds())
	}
	b, err := os.ReadFile(filepath.Join(dir, "sbom.cdx.json"))
	if err != nil || !strings.Contains(string(b), "bench-pkg-1499") {
		return 0, fmt.Errorf("the SBOM does not list the 1,500 packages (%v)", err)
	}
	return time.Duration(median(diffs) * float64(time.Second)), nil
}
