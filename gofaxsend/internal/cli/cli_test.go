package cli

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	files := map[string]bool{"/etc/gofax.conf": true, "/tmp/my.conf": true, "odd:\"name\"": true}
	isFile := func(p string) bool { return files[p] }
	noEnv := func(string) string { return "" }
	envConf := func(k string) string {
		if k == ConfigEnv {
			return "/srv/gofax.conf"
		}
		return ""
	}
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		want   Options
		err    error
	}{
		{"faxq single job", []string{"-m", "freeswitch0", "sendq/q1"}, noEnv,
			Options{Modem: "freeswitch0", Qfiles: []string{"sendq/q1"}, ConfigFile: DefaultConfig, Controls: map[string]string{}}, nil},
		{"faxq batch", []string{"-m", "freeswitch1", "sendq/q5", "sendq/q6"}, noEnv,
			Options{Modem: "freeswitch1", Qfiles: []string{"sendq/q5", "sendq/q6"}, ConfigFile: DefaultConfig, Controls: map[string]string{}}, nil},
		{"job control pairs", []string{"-c", `LocalIdentifier:"+49 30 1234"`, "-c", `TagLine:"a:b"`, "-m", "fs0", "sendq/q2"}, noEnv,
			Options{Modem: "fs0", Qfiles: []string{"sendq/q2"}, ConfigFile: DefaultConfig,
				Controls: map[string]string{"localidentifier": "+49 30 1234", "tagline": "a:b"}}, nil},
		{"gofaxip config file", []string{"-c", "/tmp/my.conf", "-m", "fs0", "sendq/q2"}, envConf,
			Options{Modem: "fs0", Qfiles: []string{"sendq/q2"}, ConfigFile: "/tmp/my.conf", Controls: map[string]string{}}, nil},
		{"existing file wins over pair syntax", []string{"-c", `odd:"name"`, "-m", "fs0", "q"}, noEnv,
			Options{Modem: "fs0", Qfiles: []string{"q"}, ConfigFile: `odd:"name"`, Controls: map[string]string{}}, nil},
		{"go flag forms", []string{"--c=/tmp/my.conf", "-m=fs0", "q"}, noEnv,
			Options{Modem: "fs0", Qfiles: []string{"q"}, ConfigFile: "/tmp/my.conf", Controls: map[string]string{}}, nil},
		{"getopt glued", []string{"-mfs3", "q"}, noEnv,
			Options{Modem: "fs3", Qfiles: []string{"q"}, ConfigFile: DefaultConfig, Controls: map[string]string{}}, nil},
		{"env override", []string{"-m", "fs0", "q"}, envConf,
			Options{Modem: "fs0", Qfiles: []string{"q"}, ConfigFile: "/srv/gofax.conf", Controls: map[string]string{}}, nil},
		{"tolerated faxsend options", []string{"-l", "-p", "-x", "-m", "fs0", "q"}, noEnv,
			Options{Modem: "fs0", Qfiles: []string{"q"}, ConfigFile: DefaultConfig, Controls: map[string]string{}}, nil},
		{"double dash", []string{"-m", "fs0", "--", "-q"}, noEnv,
			Options{Modem: "fs0", Qfiles: []string{"-q"}, ConfigFile: DefaultConfig, Controls: map[string]string{}}, nil},
		{"version", []string{"-version"}, noEnv, Options{Version: true, Controls: map[string]string{}}, nil},
		{"missing modem", []string{"sendq/q1"}, noEnv, Options{}, ErrUsage},
		{"missing qfile", []string{"-m", "fs0"}, noEnv, Options{}, ErrUsage},
		{"dangling -m", []string{"sendq/q1", "-m"}, noEnv, Options{}, ErrUsage},
		{"bad -c", []string{"-c", "/no/such/file", "-m", "fs0", "q"}, noEnv, Options{}, ErrUsage},
		{"unknown option", []string{"-z", "-m", "fs0", "q"}, noEnv, Options{}, ErrUsage},
		{"modem with slash", []string{"-m", "../x", "q"}, noEnv, Options{}, ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args, tt.getenv, isFile)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-c\x00Tag:\"v\"\x00-m\x00fs0\x00sendq/q1")
	f.Add("-mfs0\x00--\x00q")
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		start := 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == 0 {
				args = append(args, s[start:i])
				start = i + 1
			}
		}
		o, err := Parse(args, func(string) string { return "" }, func(string) bool { return false })
		if err == nil && !o.Version && (o.Modem == "" || len(o.Qfiles) == 0) {
			t.Fatalf("accepted %q without modem or qfile", args)
		}
	})
}
