package template

import (
	"testing"
	"time"
)

func TestSeedQuick(t *testing.T) {
	t.Parallel()
	s, err := Load("../../examples/server.json", Options{Getenv: func(k string) string {
		if k == "VULTR_API_KEY" {
			return "key-from-env"
		}
		return ""
	}, Now: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	b := s.Builds[0]
	if b.Vultr.Region.ID != "ord" || b.Vultr.Plan.ID != "vc2-1c-1gb" || b.Vultr.Image.Ref.ID != "167" || b.Vultr.InstanceLabel != "Snapshotting: My Awesome App" || b.Vultr.APIKey != "key-from-env" {
		t.Errorf("%+v", b.Vultr)
	}
}
