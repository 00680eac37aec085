package sbom

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dir is a machine's disk as a directory: Download reads its files, as
// SFTP reads the machine's.
type dir string

func (d dir) Download(_ context.Context, src string, w io.Writer) error {
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(src)))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func TestScan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		disk  string
		os    string
		purls []string
		err   error
	}{
		{"testdata/debian", "debian", []string{
			"pkg:deb/debian/base-files@12.4%2Bdeb12u8?arch=amd64&distro=debian-12",
			"pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl",
			"pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12",
		}, nil},
		{"testdata/alpine", "alpine", []string{
			"pkg:apk/alpine/busybox-binsh@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3&upstream=busybox",
			"pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3",
		}, nil},
		{"testdata/rpm", "", nil, ErrNoDatabase},
		{"testdata/nothing-here", "", nil, ErrNoDatabase},
	}
	for _, tt := range tests {
		t.Run(tt.disk, func(t *testing.T) {
			t.Parallel()
			osr, pkgs, err := Scan(context.Background(), dir(tt.disk), "/")
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				if strings.Contains(tt.disk, "rpm") && !strings.Contains(err.Error(), "rpm") {
					t.Errorf("the error does not name the rpm database: %v", err)
				}
				return
			}
			if osr.ID != tt.os {
				t.Errorf("os %q, want %q", osr.ID, tt.os)
			}
			bom, err := CycloneDX("build web", osr, pkgs)
			if err != nil {
				t.Fatal(err)
			}
			if f, err := Format(bom); err != nil || f != "cyclonedx" {
				t.Fatalf("the SBOM is not CycloneDX: %q %v", f, err)
			}
			for _, p := range tt.purls {
				if !strings.Contains(string(bom), p) {
					t.Errorf("the SBOM lacks %s", p)
				}
			}
			if strings.Contains(string(bom), "removed-pkg") {
				t.Error("a package that is not installed is listed")
			}
		})
	}
}

// This machine's own dpkg database (Debian, as the emulator's machines
// are) reads whole.
func TestScanARealDpkgDatabase(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/var/lib/dpkg/status"); errors.Is(err, fs.ErrNotExist) {
		t.Skip("no dpkg database on this machine")
	}
	_, pkgs, err := Scan(context.Background(), dir("/"), "/")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 50 {
		t.Errorf("%d packages; a Debian system has hundreds", len(pkgs))
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}`: "cyclonedx",
		`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`:        "spdx",
		`{"hello":"world"}`: "",
		`not json`:          "",
	} {
		got, err := Format([]byte(in))
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Format(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
}
