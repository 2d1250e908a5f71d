// Package cli parses gofaxsend's command line exactly as HylaFAX's faxq
// builds it: "[-c tag:"value"]... -m <modem> sendq/q<jobid> [sendq/q<jobid>...]".
//
// faxq drops every word of SendFaxCmd after the program name, so the
// configuration file is found without arguments: GOfax.IP's "-c <file>" when
// it names an existing file, else the GOFAX_CONFIG environment variable, else
// /etc/gofax.conf. A "-c" argument that is not a file is a JobControl pair.
package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// DefaultConfig is the configuration file used when nothing else is named.
const DefaultConfig = "/etc/gofax.conf"

// ConfigEnv names the environment variable that overrides DefaultConfig.
// faxq passes its own environment through to the send program.
const ConfigEnv = "GOFAX_CONFIG"

// ErrUsage reports a command line gofaxsend cannot run with.
var ErrUsage = errors.New("cli: usage: gofaxsend [-c config-file | -c tag:\"value\"]... -m modem qfile...")

// Options is a parsed command line.
type Options struct {
	Modem      string            // -m: HylaFAX device id of the virtual modem
	Qfiles     []string          // jobs of the batch, in order, relative to the spool
	ConfigFile string            // configuration file to load
	Controls   map[string]string // JobControl pairs, tag lower-cased
	Version    bool              // -version: print the version and exit 0
}

// Parse reads args (without the program name). getenv looks up environment
// variables and isFile reports whether a path names an existing regular file;
// both are parameters so tests need neither a real environment nor files.
func Parse(args []string, getenv func(string) string, isFile func(string) bool) (Options, error) {
	var o Options
	o.Controls = map[string]string{}
	// value returns the option's argument: "-m x", getopt's "-mx" or Go
	// flag's "-m=x" (GOfax.IP used the flag package).
	value := func(i *int, a string) (string, error) {
		if len(a) > 2 {
			return strings.TrimPrefix(a[2:], "="), nil
		}
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%w: %s needs a value", ErrUsage, a)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) > 2 && a[:2] == "--" {
			a = a[1:] // Go flag syntax allows "--c file"
		}
		switch {
		case a == "--":
			o.Qfiles = append(o.Qfiles, args[i+1:]...)
			i = len(args)
		case a == "-version":
			o.Version = true
		case a == "-l" || a == "-p" || a == "-x":
			// real faxsend's getopt "c:m:lpx": locking, polling and
			// batch options faxq never passes; tolerated, meaningless here.
		case strings.HasPrefix(a, "-m"):
			v, err := value(&i, a)
			if err != nil {
				return o, err
			}
			o.Modem = v
		case strings.HasPrefix(a, "-c"):
			v, err := value(&i, a)
			if err != nil {
				return o, err
			}
			if tag, val, ok := control(v); ok && !isFile(v) {
				o.Controls[strings.ToLower(tag)] = val
				continue
			}
			if !isFile(v) {
				return o, fmt.Errorf("%w: -c %q is neither a file nor a tag:\"value\" pair", ErrUsage, v)
			}
			o.ConfigFile = v
		case strings.HasPrefix(a, "-") && len(a) > 1:
			return o, fmt.Errorf("%w: unknown option %q", ErrUsage, a)
		default:
			o.Qfiles = append(o.Qfiles, a)
		}
	}
	if o.Version {
		return o, nil
	}
	if o.ConfigFile == "" {
		o.ConfigFile = getenv(ConfigEnv)
	}
	if o.ConfigFile == "" {
		o.ConfigFile = DefaultConfig
	}
	if o.Modem == "" || len(o.Qfiles) == 0 {
		return o, fmt.Errorf("%w: -m and at least one qfile are required", ErrUsage)
	}
	if !validModem(o.Modem) {
		return o, fmt.Errorf("%w: bad modem name %q", ErrUsage, o.Modem)
	}
	return o, nil
}

// control splits a JobControl argument `Tag:"value"` (faxq's format; the
// quotes are optional here) into tag and value.
func control(s string) (tag, value string, ok bool) {
	tag, value, ok = strings.Cut(s, ":")
	if !ok || tag == "" {
		return "", "", false
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", "", false
		}
	}
	value = strings.TrimSpace(value)
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return tag, value, true
}

// validModem accepts HylaFAX device ids: they become file names
// (FIFO.<modem>) and log fields, so no path separators or control bytes.
func validModem(m string) bool {
	if m == "" || m == "." || m == ".." || len(m) > 64 {
		return false
	}
	for _, r := range m {
		if r <= ' ' || r == '/' || r == 0x7f {
			return false
		}
	}
	return true
}

// IsFile reports whether path names an existing regular file.
func IsFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
