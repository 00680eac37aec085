// Package sbom makes the software bill of materials of a machine's disk
// without running anything on the machine: it reads the package databases
// (dpkg's status file, apk's installed database) and /etc/os-release over
// the communicator's file transfer, as Syft's catalogers read them, and
// writes CycloneDX JSON with cyclonedx-go, each package with its package
// URL. A disk whose database it cannot read is an error that says which:
// never an empty SBOM that looks complete.
package sbom

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
)

// Package is one installed package.
type Package struct {
	Type    string // "deb" or "apk", the package URL's type
	Name    string
	Version string
	Arch    string
	Source  string // the source package, when it differs (dpkg)
}

// OS is what /etc/os-release says.
type OS struct {
	ID, VersionID, PrettyName, Codename string
}

// Reader reads a file of the machine.
type Reader interface {
	Download(ctx context.Context, src string, w io.Writer) error
}

// Databases are the package databases read, relative to the scan path,
// and the rpm databases, which are reported as unreadable.
var (
	dpkgStatus    = "var/lib/dpkg/status"
	apkInstalled  = "lib/apk/db/installed"
	rpmDatabases  = []string{"var/lib/rpm/rpmdb.sqlite", "var/lib/rpm/Packages", "usr/lib/sysimage/rpm/rpmdb.sqlite"}
	osReleaseFile = []string{"etc/os-release", "usr/lib/os-release"}
)

// ErrNoDatabase is a disk with no package database this package reads.
var ErrNoDatabase = errors.New("no package database")

// Scan reads the machine's package databases under root ("/" for the
// whole disk).
func Scan(ctx context.Context, r Reader, root string) (OS, []Package, error) {
	var osr OS
	for _, f := range osReleaseFile {
		if b, err := read(ctx, r, path.Join(root, f)); err == nil {
			osr = ParseOSRelease(bytes.NewReader(b))
			break
		}
	}
	var pkgs []Package
	found := false
	if b, err := read(ctx, r, path.Join(root, dpkgStatus)); err == nil {
		found = true
		p, err := ParseDpkgStatus(bytes.NewReader(b))
		if err != nil {
			return osr, nil, fmt.Errorf("read %s: %w", path.Join(root, dpkgStatus), err)
		}
		pkgs = append(pkgs, p...)
	}
	if b, err := read(ctx, r, path.Join(root, apkInstalled)); err == nil {
		found = true
		p, err := ParseApkInstalled(bytes.NewReader(b))
		if err != nil {
			return osr, nil, fmt.Errorf("read %s: %w", path.Join(root, apkInstalled), err)
		}
		pkgs = append(pkgs, p...)
	}
	if ctx.Err() != nil {
		return osr, nil, ctx.Err()
	}
	if !found {
		for _, f := range rpmDatabases {
			if exists(ctx, r, path.Join(root, f)) {
				return osr, nil, fmt.Errorf("%s is an rpm database, which this tool does not read yet: %w", path.Join(root, f), ErrNoDatabase)
			}
		}
		return osr, nil, fmt.Errorf("neither %s nor %s is on the machine: %w", path.Join(root, dpkgStatus), path.Join(root, apkInstalled), ErrNoDatabase)
	}
	if len(pkgs) == 0 {
		return osr, nil, fmt.Errorf("the package database lists no installed package: %w", ErrNoDatabase)
	}
	return osr, pkgs, nil
}

// exists reports whether the machine has the file, reading no more of it
// than its first chunk (an rpm database can be hundreds of MB).
func exists(ctx context.Context, r Reader, p string) bool {
	var seen firstChunk
	err := r.Download(ctx, p, &seen)
	return err == nil || bool(seen)
}

// firstChunk notes that a download delivered data, and stops it there.
type firstChunk bool

var errSeen = errors.New("seen")

func (f *firstChunk) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	*f = true
	return 0, errSeen
}

// read downloads one file into memory (a status file of 1,500 packages is
// about 2 MB).
func read(ctx context.Context, r Reader, p string) ([]byte, error) {
	var b bytes.Buffer
	if err := r.Download(ctx, p, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ParseDpkgStatus reads dpkg's status file: the packages whose status is
// "install ok installed".
func ParseDpkgStatus(r io.Reader) ([]Package, error) {
	var out []Package
	err := paragraphs(r, func(f map[string]string) {
		if f["Status"] != "install ok installed" || f["Package"] == "" {
			return
		}
		src, _, _ := strings.Cut(f["Source"], " ")
		if src == f["Package"] {
			src = ""
		}
		out = append(out, Package{Type: "deb", Name: f["Package"], Version: f["Version"], Arch: f["Architecture"], Source: src})
	})
	return out, err
}

// paragraphs calls fn with the fields of each RFC 822 paragraph of r
// (continuation lines are dropped: no field read here spans lines).
func paragraphs(r io.Reader, fn func(map[string]string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	f := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			if len(f) > 0 {
				fn(f)
				f = map[string]string{}
			}
		case line[0] == ' ' || line[0] == '\t':
		default:
			if k, v, ok := strings.Cut(line, ":"); ok {
				f[k] = strings.TrimSpace(v)
			}
		}
	}
	if len(f) > 0 {
		fn(f)
	}
	return sc.Err()
}

// ParseApkInstalled reads apk's installed database: "P:name", "V:version",
// "A:arch" lines, a blank line between packages.
func ParseApkInstalled(r io.Reader) ([]Package, error) {
	var out []Package
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var cur Package
	flush := func() {
		if cur.Name != "" {
			cur.Type = "apk"
			out = append(out, cur)
		}
		cur = Package{}
	}
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		switch line[0] {
		case 'P':
			cur.Name = line[2:]
		case 'V':
			cur.Version = line[2:]
		case 'A':
			cur.Arch = line[2:]
		case 'o':
			if line[2:] != cur.Name {
				cur.Source = line[2:]
			}
		}
	}
	flush()
	return out, sc.Err()
}

// ParseOSRelease reads /etc/os-release.
func ParseOSRelease(r io.Reader) OS {
	var o OS
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			o.ID = v
		case "VERSION_ID":
			o.VersionID = v
		case "PRETTY_NAME":
			o.PrettyName = v
		case "VERSION_CODENAME":
			o.Codename = v
		}
	}
	return o
}

// PURL is a package's package URL: pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12.
func PURL(p Package, o OS) string {
	ns := o.ID
	if ns == "" {
		ns = map[string]string{"deb": "debian", "apk": "alpine"}[p.Type]
	}
	q := map[string]string{}
	if p.Arch != "" {
		q["arch"] = p.Arch
	}
	if o.ID != "" && o.VersionID != "" {
		q["distro"] = o.ID + "-" + o.VersionID
	}
	if p.Source != "" {
		q["upstream"] = p.Source
	}
	return packageurl.NewPackageURL(p.Type, ns, p.Name, p.Version, packageurl.QualifiersFromMap(q), "").ToString()
}

// CycloneDX is the SBOM of the packages on a machine of this OS, as
// CycloneDX JSON; subject names what it describes (the build).
func CycloneDX(subject string, o OS, pkgs []Package) ([]byte, error) {
	bom := cdx.NewBOM()
	bom.SerialNumber = ""
	osName := o.ID
	if osName == "" {
		osName = "unknown"
	}
	bom.Metadata = &cdx.Metadata{
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "vultr-image-action"}}},
		Component: &cdx.Component{Type: cdx.ComponentTypeOS, Name: osName, Version: o.VersionID, Description: subject, BOMRef: "os"},
	}
	sorted := append([]Package(nil), pkgs...)
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].Name < sorted[j].Name || sorted[i].Name == sorted[j].Name && sorted[i].Arch < sorted[j].Arch
	})
	comps := make([]cdx.Component, 0, len(sorted))
	for _, p := range sorted {
		purl := PURL(p, o)
		comps = append(comps, cdx.Component{Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: purl, BOMRef: purl})
	}
	bom.Components = &comps
	var b bytes.Buffer
	enc := cdx.NewBOMEncoder(&b, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return nil, fmt.Errorf("encode CycloneDX: %w", err)
	}
	return b.Bytes(), nil
}

// Format says what an SBOM is: "cyclonedx" or "spdx" JSON, or an error.
func Format(b []byte) (string, error) {
	var head struct {
		BOMFormat   string `json:"bomFormat"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	switch {
	case head.BOMFormat == "CycloneDX":
		var bom cdx.BOM
		if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
			return "", fmt.Errorf("not a CycloneDX document: %w", err)
		}
		return "cyclonedx", nil
	case strings.HasPrefix(head.SPDXVersion, "SPDX-"):
		return "spdx", nil
	}
	return "", errors.New(`neither CycloneDX JSON ("bomFormat": "CycloneDX") nor SPDX JSON ("spdxVersion": "SPDX-2.x")`)
}

// Count is how many packages (CycloneDX components, SPDX packages) an
// SBOM lists; 0 when it is neither.
func Count(b []byte) int {
	var doc struct {
		Components []json.RawMessage `json:"components"`
		Packages   []json.RawMessage `json:"packages"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return 0
	}
	return len(doc.Components) + len(doc.Packages)
}

// Dir reads files of this machine: a root file system checked out here
// (the provenance post-processor's sbom_scan_path).
type Dir struct{}

// Download copies the local file src to w.
func (Dir) Download(ctx context.Context, src string, w io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
