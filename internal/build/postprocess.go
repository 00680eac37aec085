package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// manifestMu serialises manifest writes of parallel builds in one process.
var manifestMu sync.Mutex

// postProcess runs the build's post-processor sequences in order.
func postProcess(ctx context.Context, st *state, s *spec.Spec, b *spec.Build, r *Result, o Options) error {
	for _, seq := range b.PostProcessors {
		for _, pp := range seq {
			kind, ok := PostProcessorKinds[pp.Type]
			if !ok {
				return fmt.Errorf("post-processor %d at %s: unsupported post-processor %q", pp.Index, pp.Pos, pp.Type)
			}
			if err := kind.run(ctx, ppRun{st: st, s: s, b: b, r: r, o: o, pp: pp}, pp.Config); err != nil {
				return fmt.Errorf("post-processor %d (%s) at %s: %w", pp.Index, pp.Type, pp.Pos, err)
			}
		}
	}
	return nil
}

var manifestKind = PostProcessorKind{
	Block: &schema.Manifest,
	Decode: func(f provision.Fields) any {
		m := &spec.Manifest{Output: "packer-manifest.json"}
		if v, ok := f.String("output"); ok && v != "" {
			m.Output = v
		}
		m.StripPath, _ = f.Bool("strip_path")
		m.StripTime, _ = f.Bool("strip_time")
		m.CustomData, _ = f.StringMap("custom_data")
		return m
	},
	run: ppAs(func(_ context.Context, p ppRun, m *spec.Manifest) error {
		path, err := writeManifest(p.s, p.b, p.r, p.o, m)
		if err == nil {
			p.o.UI.Message(p.b.Name, "Wrote manifest "+path)
		}
		return err
	}),
}

// shellLocalKind is shell-local as a post-processor: the provisioner's
// keys, run here with PACKER_ARTIFACT_ID set.
var shellLocalKind = PostProcessorKind{
	Block:  &schema.ShellLocal,
	Decode: func(f provision.Fields) any { return provision.DecodeShellLocal(f) },
	run: ppAs(func(ctx context.Context, p ppRun, sl *spec.ShellLocal) error {
		b, o := p.b, p.o
		out := o.UI.Output(b.Name)
		defer out.Close()
		return provision.Run(ctx, spec.Provisioner{Index: p.pp.Index, Type: p.pp.Type, Pos: p.pp.Pos, Config: sl}, &provision.Env{
			BuildName:    b.Name,
			BuilderType:  b.Type,
			Stdout:       out,
			Stderr:       out,
			WorkDir:      o.WorkDir,
			LocalEnviron: append(append([]string{}, o.Environ...), "PACKER_ARTIFACT_ID="+p.r.ArtifactID),
			Logf:         func(format string, args ...any) { o.UI.Message(b.Name, fmt.Sprintf(format, args...)) },
		})
	}),
}

// Manifest is Packer's packer-manifest.json.
type Manifest struct {
	Builds      []ManifestBuild `json:"builds"`
	LastRunUUID string          `json:"last_run_uuid"`
}

// ManifestBuild is one build's entry, field for field as Packer writes it.
type ManifestBuild struct {
	Name          string            `json:"name"`
	BuilderType   string            `json:"builder_type"`
	BuildTime     int64             `json:"build_time,omitempty"`
	Files         []ManifestFile    `json:"files"`
	ArtifactID    string            `json:"artifact_id"`
	PackerRunUUID string            `json:"packer_run_uuid"`
	CustomData    map[string]string `json:"custom_data"`
}

// ManifestFile is an artifact file (Vultr snapshots have none).
type ManifestFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

func writeManifest(s *spec.Spec, b *spec.Build, r *Result, o Options, m *spec.Manifest) (string, error) {
	path := m.Output
	if path == "" {
		path = "packer-manifest.json"
	}
	if !filepath.IsAbs(path) && o.WorkDir != "" {
		path = filepath.Join(o.WorkDir, path)
	}
	manifestMu.Lock()
	defer manifestMu.Unlock()

	var man Manifest
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &man); err != nil {
			return "", fmt.Errorf("read existing manifest %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return "", fmt.Errorf("read manifest: %w", err)
	}
	entry := ManifestBuild{
		Name:          b.Name,
		BuilderType:   b.Type,
		BuildTime:     r.End.Unix(),
		ArtifactID:    r.ArtifactID,
		PackerRunUUID: o.RunUUID,
		CustomData:    m.CustomData,
	}
	if r.End.IsZero() {
		entry.BuildTime = o.Now().Unix()
	}
	if m.StripTime {
		entry.BuildTime = 0
	}
	man.Builds = append(man.Builds, entry)
	man.LastRunUUID = o.RunUUID
	out, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode manifest: %w", err)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("create manifest directory: %w", err)
		}
	}
	if err := writeAtomic(path, append(out, '\n')); err != nil {
		return "", fmt.Errorf("write manifest: %w", err)
	}
	return path, nil
}
