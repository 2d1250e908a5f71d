package config_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// TestInstallDepsSeedsSetupCache: with every package installed but
// /etc/hylafax/setup.cache missing (faxsetup never completed),
// contrib/install-deps.sh writes it instead of failing. It runs in a mount
// namespace of its own whose /etc/hylafax is a copy without the file, so
// the machine's configuration is not touched.
func TestInstallDepsSeedsSetupCache(t *testing.T) {
	hylafaxtest.Require(t)
	if os.Geteuid() != 0 {
		t.Skip("install-deps.sh runs as root")
	}
	script, err := os.ReadFile("../contrib/install-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	// Only when it has nothing to install: apt must not run against the
	// namespace's /etc/hylafax.
	m := regexp.MustCompile(`(?m)^packages=\(([^)]*)\)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("no packages=(...) line in install-deps.sh")
	}
	for _, p := range strings.Fields(string(m[1])) {
		out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", p).Output()
		if string(out) != "install ok installed" {
			t.Skipf("%s is not installed: run make deps first", p)
		}
	}
	etc := t.TempDir()
	if out, err := exec.Command("cp", "-a", "/etc/hylafax/.", etc).CombinedOutput(); err != nil {
		t.Fatalf("cp /etc/hylafax: %v: %s", err, out)
	}
	cache := filepath.Join(etc, "setup.cache")
	if err := os.Remove(cache); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "true").CombinedOutput(); err != nil {
		t.Skipf("no mount namespace: %v: %s", err, out)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /etc/hylafax && exec bash ../contrib/install-deps.sh`, "sh", etc)
	cmd.Env = append(os.Environ(), "INSTALL_DEPS_LOG="+filepath.Join(t.TempDir(), "apt.log"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install-deps.sh without setup.cache: %v\n%s", err, out)
	}
	b, err := os.ReadFile(cache)
	if err != nil {
		t.Fatalf("setup.cache not written: %v\n%s", err, out)
	}
	for _, want := range []string{"\nSPOOL='/var/spool/hylafax'\n", "\nSENDMAIL='/usr/lib/sendmail'\n", "\nUUCP_LOCKDIR='/var/lock'\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("setup.cache lacks %q:\n%s", want, b)
		}
	}
	if !strings.Contains(string(out), "wrote /etc/hylafax/setup.cache") {
		t.Errorf("install-deps.sh does not say it wrote setup.cache:\n%s", out)
	}
}
