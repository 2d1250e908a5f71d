package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// A tenant user's name is the owner of its HylaFAX jobs, and a job's
// owner decides its tenant: a user named like a local account or an hfaxd
// login would make that account's jobs (sendfax, faxq's own, another
// program's) the tenant's, to read and cancel. Such names are refused.

// systemNames are owners HylaFAX and the system use whether or not
// /etc/passwd has them (mail aliases, HylaFAX's FaxMaster).
var systemNames = []string{"root", "uucp", "fax", "faxmaster", "hylafax", "daemon", "bin", "sys", "nobody",
	"postmaster", "mailer-daemon", "abuse", "operator"}

// maxAccountsFile bounds reading /etc/passwd or hosts.hfaxd: a few
// thousand accounts fit many times over.
const maxAccountsFile = 4 << 20

// defaultPasswdFile is the system's user database.
const defaultPasswdFile = "/etc/passwd"

// errUsernameUnavailable is the answer for a taken and for a reserved
// name alike, so that it tells nobody which names other tenants use.
var errUsernameUnavailable = &gofaxlib.FieldError{Field: "username",
	Err: fmt.Errorf("%w: not available (in use, or reserved for a system or HylaFAX account); choose another", gofaxlib.ErrConflict)}

// checkUsername refuses a name that is a local account (Options.PasswdFile),
// an hfaxd login named in Options.HostsHfaxd, one of
// Options.ReservedUsernames or of systemNames; compared without regard to
// case.
func (s *Server) checkUsername(ctx context.Context, name string) error {
	reserved := func(n string) bool { return strings.EqualFold(n, name) }
	if slices.ContainsFunc(systemNames, reserved) || slices.ContainsFunc(s.o.ReservedUsernames, reserved) {
		return errUsernameUnavailable
	}
	for _, f := range []struct {
		path  string
		names func(io.Reader) []string
	}{{s.o.PasswdFile, passwdNames}, {s.o.HostsHfaxd, hfaxdNames}} {
		if f.path == "" {
			continue
		}
		names, err := readNames(f.path, f.names)
		if err != nil {
			return fmt.Errorf("api: checking a username against the accounts: %w", err)
		}
		if slices.ContainsFunc(names, reserved) {
			return errUsernameUnavailable
		}
	}
	return ctx.Err()
}

// usernameTaken makes the store's "username taken" the same answer as a
// reserved name.
func usernameTaken(err error) error {
	var fe *gofaxlib.FieldError
	if errors.As(err, &fe) && fe.Field == "username" && errors.Is(err, gofaxlib.ErrConflict) {
		return errUsernameUnavailable
	}
	return err
}

// readNames reads the names in file path with names; a file that does not
// exist has none.
func readNames(path string, names func(io.Reader) []string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return names(io.LimitReader(f, maxAccountsFile)), nil
}

// passwdNames returns the user names of a passwd(5) file.
func passwdNames(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if name, _, ok := strings.Cut(line, ":"); ok && name != "" && !strings.HasPrefix(name, "#") {
			out = append(out, name)
		}
	}
	return out
}

// hfaxdNames returns the user names hosts.hfaxd(5) names: the user part
// of entries "^user@…" or "user@…" (a regular expression hfaxd matches
// against user@host), with "\." read as a dot. An entry whose user part
// is a pattern (or that names hosts only) lets any name log in: it
// reserves none.
func hfaxdNames(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pattern, _, _ := strings.Cut(line, ":")
		user, _, ok := strings.Cut(strings.TrimPrefix(pattern, "^"), "@")
		user = strings.ReplaceAll(user, `\.`, ".")
		if ok && user != "" && !strings.ContainsAny(user, `^$|?*+()[]{}\`) {
			out = append(out, user)
		}
	}
	return out
}
