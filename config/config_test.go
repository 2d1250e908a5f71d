// Package config_test checks what operators copy from this repository: the
// FreeSWITCH configuration parses, loads only what a fax box needs and
// agrees with the sample gofax.conf; the HylaFAX example scripts run; the
// systemd units verify; and contrib/demo.sh, the README's first command,
// sends and receives a fax through the real HylaFAX.
package config_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
)

const (
	fsDir       = "freeswitch"
	hylafaxDir  = "hylafax"
	sampleConf  = "gofax.conf"
	scriptLimit = 10 * time.Second // an example script answers at once
)

// node is any XML element with its attributes and children.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// all returns every element named name below n, depth first.
func (n node) all(name string) []node {
	var out []node
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
		out = append(out, c.all(name)...)
	}
	return out
}

// params maps <param name=... value=...> below n.
func (n node) params() map[string]string {
	m := map[string]string{}
	for _, p := range n.all("param") {
		m[p.attr("name")] = p.attr("value")
	}
	return m
}

// exampleSuffix marks a file FreeSWITCH does not load (its includes match
// *.xml) that the operator copies to a .xml name after editing it.
const exampleSuffix = ".xml.example"

// xmlFiles returns the XML files of the FreeSWITCH sample, examples
// included.
func xmlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(fsDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".xml") || strings.HasSuffix(p, exampleSuffix)) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no XML files in %s", fsDir)
	}
	return files
}

// readXML parses one file strictly.
func readXML(t *testing.T, path string) node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n node
	if err := xml.Unmarshal(b, &n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

// globals returns the variables vars.xml sets with X-PRE-PROCESS.
func globals(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, pp := range readXML(t, filepath.Join(fsDir, "vars.xml")).all("X-PRE-PROCESS") {
		if pp.attr("cmd") != "set" {
			continue
		}
		k, v, ok := strings.Cut(pp.attr("data"), "=")
		if !ok {
			t.Fatalf("vars.xml: set %q without '='", pp.attr("data"))
		}
		vars[k] = v
	}
	return vars
}

// expand replaces $${name} as FreeSWITCH's preprocessor does; names vars.xml
// does not set (FreeSWITCH's own, like local_ip_v4) stay as they are.
func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "$${"+k+"}", v)
	}
	return s
}

func loadSample(t *testing.T) *config.Config {
	t.Helper()
	cfg, warns, err := config.Load(sampleConf)
	if err != nil {
		t.Fatal(err)
	}
	// git checks the file out readable by everybody; the package installs
	// it 0640 (see contrib/check-deb.sh).
	fi, err := os.Stat(sampleConf)
	if err != nil {
		t.Fatal(err)
	}
	mw := config.ModeWarning(sampleConf, fi.Mode())
	for _, w := range warns {
		if w != mw {
			t.Errorf("sample gofax.conf: %s", w)
		}
	}
	return cfg
}

func TestFreeSWITCHWellFormed(t *testing.T) {
	for _, f := range xmlFiles(t) {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d := xml.NewDecoder(bytes.NewReader(b))
			roots := 0
			depth := 0
			for {
				tok, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v", err)
				}
				switch tok.(type) {
				case xml.StartElement:
					if depth == 0 {
						roots++
					}
					depth++
				case xml.EndElement:
					depth--
				}
			}
			if roots != 1 {
				t.Errorf("%d root elements, want 1", roots)
			}
		})
	}
}

// TestFreeSWITCHLayout checks what FreeSWITCH looks up by name: each
// autoload_configs file is the <configuration> its name says, and every
// include finds files (relative to the including file, as the
// preprocessor resolves it).
func TestFreeSWITCHLayout(t *testing.T) {
	for _, f := range xmlFiles(t) {
		n := readXML(t, f)
		if filepath.Base(filepath.Dir(f)) == "autoload_configs" {
			want := strings.TrimSuffix(filepath.Base(f), ".xml")
			if n.XMLName.Local != "configuration" || n.attr("name") != want {
				t.Errorf("%s: root <%s name=%q>, want <configuration name=%q>", f, n.XMLName.Local, n.attr("name"), want)
			}
		}
		for _, pp := range n.all("X-PRE-PROCESS") {
			if pp.attr("cmd") != "include" {
				continue
			}
			pattern := filepath.Join(filepath.Dir(f), pp.attr("data"))
			m, err := filepath.Glob(pattern)
			if err != nil || len(m) == 0 {
				t.Errorf("%s: include %q matches no file", f, pp.attr("data"))
			}
		}
	}
	root := readXML(t, filepath.Join(fsDir, "freeswitch.xml"))
	if root.XMLName.Local != "document" || root.attr("type") != "freeswitch/xml" {
		t.Errorf("freeswitch.xml: root <%s type=%q>, want <document type=\"freeswitch/xml\">", root.XMLName.Local, root.attr("type"))
	}
}

// TestFreeSWITCHModules checks the fax box loads exactly what gofaxd and
// gofaxsend need (plus logging).
func TestFreeSWITCHModules(t *testing.T) {
	n := readXML(t, filepath.Join(fsDir, "autoload_configs", "modules.conf.xml"))
	var got []string
	for _, l := range n.all("load") {
		got = append(got, l.attr("module"))
	}
	needed := []string{
		"mod_event_socket", // inbound ESL for gofaxsend, socket app for gofaxd
		"mod_sofia",        // SIP
		"mod_commands",     // originate, uuid_kill
		"mod_dptools",      // answer, set, respond, hangup, inline dialplan
		"mod_db",           // overrides and softmodem fallback
		"mod_tone_stream",  // silence_stream:// ([gofaxd] waittime)
		"mod_spandsp",      // rxfax, txfax
	}
	logging := []string{"mod_logfile", "mod_console"}
	for _, m := range needed {
		if !slices.Contains(got, m) {
			t.Errorf("modules.conf.xml does not load %s", m)
		}
	}
	// Not in every build: loading a missing module logs CRIT at each start.
	// The README says how to add it.
	if slices.Contains(got, "mod_syslog") {
		t.Error("modules.conf.xml loads mod_syslog, which not every FreeSWITCH build has (keep it optional)")
	}
	for _, m := range got {
		if !slices.Contains(needed, m) && !slices.Contains(logging, m) {
			t.Errorf("modules.conf.xml loads %s, which the fax box does not need", m)
		}
	}
}

// TestFreeSWITCHMatchesGofaxConf checks the FreeSWITCH sample and the
// sample gofax.conf describe the same box.
func TestFreeSWITCHMatchesGofaxConf(t *testing.T) {
	cfg := loadSample(t)
	vars := globals(t)

	es := readXML(t, filepath.Join(fsDir, "autoload_configs", "event_socket.conf.xml")).params()
	ip, port := expand(es["listen-ip"], vars), expand(es["listen-port"], vars)
	if ip != "127.0.0.1" {
		t.Errorf("event socket listen-ip %q, want 127.0.0.1 (loopback only)", ip)
	}
	if got, want := net.JoinHostPort(ip, port), cfg.FreeSWITCH.Socket; got != want {
		t.Errorf("event socket listens on %s, gofax.conf [freeswitch] socket = %s", got, want)
	}
	if got, want := expand(es["password"], vars), cfg.FreeSWITCH.Password; got != want {
		t.Errorf("event socket password %q, gofax.conf [freeswitch] password = %q", got, want)
	}

	sofia := readXML(t, filepath.Join(fsDir, "autoload_configs", "sofia.conf.xml"))
	profiles := sofia.all("profile")
	if len(profiles) != 1 {
		t.Fatalf("sofia.conf.xml: %d profiles, want 1", len(profiles))
	}
	var settings node
	for _, c := range profiles[0].Nodes {
		if c.XMLName.Local == "settings" {
			settings = c
		}
	}
	sp := settings.params()
	dialplan := expand(sp["dialplan"], vars)
	want := "inline:socket:" + cfg.Gofaxd.Socket + " async full"
	if dialplan != want {
		t.Errorf("fax profile dialplan %q, want %q (gofax.conf [gofaxd] socket)", dialplan, want)
	}
	if host, _, err := net.SplitHostPort(cfg.Gofaxd.Socket); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("gofax.conf [gofaxd] socket %q is not a loopback address", cfg.Gofaxd.Socket)
	}
	for k, v := range sp {
		if strings.Contains(strings.ReplaceAll(expand(v, vars), "$${local_ip_v4}", ""), "$${") {
			t.Errorf("fax profile %s = %q uses a variable vars.xml does not set", k, v)
		}
	}

	// Every ACL the profile and the event socket apply exists.
	lists := map[string]bool{}
	for _, l := range readXML(t, filepath.Join(fsDir, "autoload_configs", "acl.conf.xml")).all("list") {
		lists[l.attr("name")] = true
	}
	for _, acl := range []string{sp["apply-inbound-acl"], es["apply-inbound-acl"]} {
		if acl != "" && !lists[acl] && !strings.HasSuffix(acl, ".auto") {
			t.Errorf("ACL %q is not defined in acl.conf.xml", acl)
		}
	}

	// The gateways gofaxsend dials through are defined by the examples in
	// gateways/, each in <name>.xml.example, so that copying it to
	// <name>.xml (what FreeSWITCH loads) gives the name gofax.conf uses.
	examples, _ := filepath.Glob(filepath.Join(fsDir, "gateways", "*"+exampleSuffix))
	gateways := map[string]bool{}
	for _, f := range examples {
		for _, g := range readXML(t, f).all("gateway") {
			name := g.attr("name")
			gateways[name] = true
			if want := name + exampleSuffix; filepath.Base(f) != want {
				t.Errorf("%s defines gateway %q: name the file %s", f, name, want)
			}
		}
	}
	if len(cfg.FreeSWITCH.Gateways) == 0 {
		t.Error("sample gofax.conf names no gateway")
	}
	for _, g := range cfg.FreeSWITCH.Gateways {
		if !gateways[g] {
			t.Errorf("gofax.conf [freeswitch] gateway %q is not defined in %s/gateways/%s%s", g, fsDir, g, exampleSuffix)
		}
	}
}

// TestFreeSWITCHGatewaysDisabled: the sample loads no gateway, so an
// unedited installation neither registers to nor calls the placeholder
// carrier; the example gateway still holds placeholders only.
func TestFreeSWITCHGatewaysDisabled(t *testing.T) {
	loaded, _ := filepath.Glob(filepath.Join(fsDir, "gateways", "*.xml"))
	if len(loaded) == 0 {
		t.Fatal("gateways/*.xml matches no file: the include in sofia.conf.xml would fail")
	}
	for _, f := range loaded {
		if gws := readXML(t, f).all("gateway"); len(gws) > 0 {
			t.Errorf("%s defines gateway %q, which FreeSWITCH loads before the operator edited it", f, gws[0].attr("name"))
		}
	}
	for _, f := range xmlFiles(t) {
		if filepath.Base(filepath.Dir(f)) == "gateways" {
			continue
		}
		for _, g := range readXML(t, f).all("gateway") {
			t.Errorf("%s defines gateway %q outside gateways/", f, g.attr("name"))
		}
	}
	examples, _ := filepath.Glob(filepath.Join(fsDir, "gateways", "*"+exampleSuffix))
	if len(examples) == 0 {
		t.Fatal("no example gateway")
	}
	for _, f := range examples {
		for _, g := range readXML(t, f).all("gateway") {
			p := g.params()
			if !strings.HasSuffix(p["proxy"], ".example.net") || p["username"] != "CHANGE-ME" || p["password"] != "CHANGE-ME" {
				t.Errorf("%s: gateway %q holds real-looking values (proxy %q, username %q): keep placeholders", f, g.attr("name"), p["proxy"], p["username"])
			}
		}
	}
}

func TestHylaFAXScripts(t *testing.T) {
	for _, f := range []string{"DynamicConfig", "DynamicConfigOutgoing", "FaxDispatch"} {
		p := filepath.Join(hylafaxDir, f)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// FaxDispatch is sourced by faxrcvd; the others are executed by
		// gofaxd and gofaxsend without a shell.
		if f != "FaxDispatch" && fi.Mode()&0o111 != 0o111 {
			t.Errorf("%s: mode %v, want executable by everyone", p, fi.Mode())
		}
		if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v: %s", p, err, out)
		}
	}
}

// TestDynamicConfigExamples runs the example scripts the way gofaxd and
// gofaxsend do, with GOfax.IP's arguments, and reads their answers.
func TestDynamicConfigExamples(t *testing.T) {
	dir, err := filepath.Abs(hylafaxDir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		script string
		args   []string
		want   map[string]string
	}{
		{"inbound rejected", "DynamicConfig", []string{"freeswitch0", "5550666", "Spam", "5551234", "default"},
			map[string]string{"rejectcall": "true", "localidentifier": "+1 555 5551234"}},
		{"inbound accepted", "DynamicConfig", []string{"freeswitch1", "5550100", "", "5551235", ""},
			map[string]string{"rejectcall": "", "localidentifier": "+1 555 5551235"}},
		{"outbound sales abroad", "DynamicConfigOutgoing", []string{"freeswitch0", "sales", "0044201234", "17"},
			map[string]string{"faxnumber": "5551234", "localidentifier": "+1 555 1234", "gateway": "international"}},
		{"outbound default", "DynamicConfigOutgoing", []string{"freeswitch2", "joe", "5551234", "18"},
			map[string]string{"faxnumber": "", "gateway": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := hook.Run(context.Background(), hook.Cmd{
				Path: filepath.Join(dir, tt.script), Args: tt.args, Dir: dir, Timeout: scriptLimit,
			})
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, res.Stderr)
			}
			vals := hook.ParseConfigOutput(res.Stdout)
			for k, want := range tt.want {
				if got, _ := vals.Get(k); got != want {
					t.Errorf("%s = %q, want %q (output %q)", k, got, want, res.Stdout)
				}
			}
		})
	}
}

// hylafaxConfig reads HylaFAX "Tag: value" lines, comments removed.
func hylafaxConfig(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Errorf("%s:%d: %q is not a Tag: value line", path, i+1, line)
			continue
		}
		m[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return m
}

func TestHylaFAXConfigExamples(t *testing.T) {
	cfg := loadSample(t)
	add := hylafaxConfig(t, filepath.Join(hylafaxDir, "config.additions"))
	if got := add["sendfaxcmd"]; got != "/usr/bin/gofaxsend" {
		t.Errorf("config.additions: SendFaxCmd %q, want /usr/bin/gofaxsend (where the package installs it)", got)
	}
	if got := add["notifycmd"]; got != "/usr/bin/gofaxsend-notify" {
		t.Errorf("config.additions: NotifyCmd %q, want /usr/bin/gofaxsend-notify (the link the package installs)", got)
	}
	if b, err := os.ReadFile("../debian/gofaxserver.links"); err != nil || !strings.Contains(string(b), "usr/bin/gofaxsend usr/bin/gofaxsend-notify\n") {
		t.Errorf("debian/gofaxserver.links does not install the gofaxsend-notify link: %v", err)
	}
	modem := filepath.Join(hylafaxDir, "config."+cfg.HylaFAX.ModemPrefix+"0")
	m := hylafaxConfig(t, modem)
	if m["faxnumber"] == "" {
		t.Errorf("%s: no FAXNumber", modem)
	}
}
